/**
 * The hub's way out: pasta (preferred) or slirp4netns attached to the hub netns. It runs detached so
 * the hub keeps outbound access across daemon restarts; a pid file lets the next daemon find it.
 *
 * pasta touches its packet buffers for both families at start whether or not they carry anything:
 * 29.7 MiB PSS for both, 20.1 MiB with `-4`; slirp4netns keeps 1.3 MiB (2.5 after moving gigabytes),
 * at the same throughput here, but its IPv6 stalled connections. So the hub's uplink is slirp4netns
 * (or an IPv4-only pasta where slirp4netns is missing) until a container is attached to an IPv6
 * network; then it is replaced once by a pasta that carries both (hub.ts). (A second, IPv6-only
 * pasta beside the first stalled downloads now and then, so the swap it is.)
 */
import { closeSync, openSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFileAtomic } from '../rootless/fs-atomic.js';
import { inNetns } from './netns.js';
import { spawnTool } from '../rootless/exec.js';

export type UplinkKind = 'pasta' | 'slirp4netns';

/** The tools the doctor found: the uplink to start with, and pasta for IPv6 networks if there is one. */
export interface UplinkTools {
  kind: UplinkKind;
  path: string;
  ipv6Path?: string;
}

/** slirp4netns's fixed addresses in the hub (its default --cidr); its gateway reaches the host's loopback. */
const SLIRP_IPV4 = { address: '10.0.2.100', prefix: 24 };

/** What an uplink carries: slirp4netns only IPv4 (its IPv6 stalled connections); pasta both or IPv4 alone. */
export type UplinkFamily = 'both' | 'ipv4';

export interface Uplink {
  kind: UplinkKind;
  pid: number;
  family: UplinkFamily;
  /** Address in the hub that reaches the host's loopback (host.docker.internal, host-gateway). */
  gateway: string;
  /** A pasta that took over slirp4netns's address and gateway (a replacement must keep them too). */
  keepsSlirpAddress?: true;
}

export interface UplinkPaths {
  hubNs: string;
  pidFile: string;
  logFile: string;
}

async function defaultGateway(hubNs: string): Promise<string | undefined> {
  const out = await inNetns(hubNs, 'ip', ['-4', 'route', 'show', 'default'], { allowFailure: true });
  return /default via ([0-9.]+)/.exec(out)?.[1];
}

/** A pid file without the family was written before pasta could run IPv4-only: that pasta carries both. */
function familyOf(text: string | undefined): UplinkFamily {
  return text === 'ipv4' ? text : 'both';
}

async function alive(pid: number, hubNs: string): Promise<boolean> {
  const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return cmd.includes(hubNs);
}

/** The uplink a previous daemon left running, if it is still attached to this hub. */
export async function findUplink(paths: UplinkPaths): Promise<Uplink | undefined> {
  const text = await readFile(paths.pidFile, 'utf8').catch(() => '');
  const [kind, pidText, familyText, addressing] = text.trim().split(' ');
  const pid = Number(pidText);
  if ((kind !== 'pasta' && kind !== 'slirp4netns') || !Number.isInteger(pid) || !(await alive(pid, paths.hubNs))) return undefined;
  const family = kind === 'slirp4netns' ? 'ipv4' : familyOf(familyText);
  const gateway = await defaultGateway(paths.hubNs);
  return gateway ? { kind, pid, family, gateway, ...(addressing === SLIRP_ADDRESSING ? { keepsSlirpAddress: true } : {}) } : undefined;
}

/** The pid file's fourth word for a pasta that keeps slirp4netns's addresses. */
const SLIRP_ADDRESSING = 'slirp-address';

export interface UplinkStart {
  /** pasta's; slirp4netns always carries IPv4 alone. */
  family?: UplinkFamily;
  /**
   * The uplink this one takes over from (replacing or succeeding it): a pasta after slirp4netns keeps
   * its IPv4 address and gateway, which containers' hosts files and DNS settings already name (pasta
   * maps its gateway to the host's loopback as slirp4netns does).
   */
  replacing?: Uplink;
  /** slirp4netns without its sandbox, where the kernel or an LSM refuses it (pivot_root, mounts). */
  unsandboxed?: boolean;
}

export async function startUplink(kind: UplinkKind, tool: string, paths: UplinkPaths, opts: UplinkStart = {}): Promise<Uplink> {
  const family: UplinkFamily = kind === 'pasta' ? (opts.family ?? 'ipv4') : 'ipv4';
  const replacing = opts.replacing;
  const keepsSlirpAddress = kind === 'pasta' && (replacing?.kind === 'slirp4netns' || replacing?.keepsSlirpAddress === true);
  const keep = keepsSlirpAddress ? ['-a', SLIRP_IPV4.address, '-n', String(SLIRP_IPV4.prefix), '-g', replacing!.gateway] : [];
  // No --userns: the daemon already runs in the user namespace that owns the hub. slirp4netns parses
  // the containers' packets with the user's rights: in a mount namespace of its own, without
  // capabilities, under its seccomp filter (pasta confines itself so by default).
  const confine = opts.unsandboxed ? [] : ['--enable-sandbox', '--enable-seccomp'];
  const args =
    kind === 'pasta'
      ? ['--config-net', '-f', '-q', ...(family === 'ipv4' ? ['-4'] : []), ...keep, '--netns', paths.hubNs, '-t', 'none', '-u', 'none', '-T', 'none', '-U', 'none']
      : ['--configure', '--mtu=65520', ...confine, '--netns-type=path', paths.hubNs, 'tap0'];
  const log = openSync(paths.logFile, 'a', 0o600);
  const child = spawnTool(tool, args, { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  child.unref();
  const pid = child.pid;
  if (!pid) throw new Error(`${kind} could not be started`);
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  const deadline = Date.now() + 5000;
  for (;;) {
    const gateway = await defaultGateway(paths.hubNs);
    if (gateway) {
      await writeFileAtomic(paths.pidFile, `${kind} ${pid} ${family}${keepsSlirpAddress ? ` ${SLIRP_ADDRESSING}` : ''}\n`);
      return { kind, pid, family, gateway, ...(keepsSlirpAddress ? { keepsSlirpAddress: true } : {}) };
    }
    if (exited !== undefined || Date.now() > deadline) {
      if (exited === undefined) process.kill(pid, 'SIGKILL');
      const why = (await readFile(paths.logFile, 'utf8').catch(() => '')).split('\n').filter((l) => l && !l.includes('syslog')).slice(-3).join('; ');
      throw new Error(`${kind} did not configure the hub network namespace${why ? `: ${why}` : ''}`);
    }
    await sleep(10);
  }
}

export async function stopUplink(uplink: Uplink | undefined, paths: UplinkPaths): Promise<void> {
  if (uplink && (await alive(uplink.pid, paths.hubNs))) {
    process.kill(uplink.pid, 'SIGTERM');
    for (let i = 0; i < 200 && (await alive(uplink.pid, paths.hubNs)); i++) await sleep(10);
    if (await alive(uplink.pid, paths.hubNs)) process.kill(uplink.pid, 'SIGKILL');
  }
  await rm(paths.pidFile, { force: true });
}
