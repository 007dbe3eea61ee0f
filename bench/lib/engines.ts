/**
 * The three engines, each started as the current (unprivileged) user on its own socket with private
 * state under the bench's temp dir: Burrow (the test harness's startDaemon), rootless Podman's
 * Docker-compatible service, and rootless Docker (dockerd-rootless.sh: rootlesskit + slirp4netns).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pingSocket } from '../../test/harness/daemon.js';
import { rawRequest } from '../../test/harness/clients.js';
import { engineProcesses, listProcesses, pidAlive, runCmd, terminate, usernsOf, waitGone } from './proc.js';

export type EngineName = 'burrow' | 'podman' | 'docker';
export const ENGINE_NAMES: readonly EngineName[] = ['burrow', 'podman', 'docker'];

export interface Engine {
  name: EngineName;
  /** e.g. "podman 4.3.1 (rootless, crun)" */
  label: string;
  socket: string;
  dockerHost: string;
  /** Registry address as seen by this engine: 127.0.0.1:PORT, or 10.0.2.2:PORT inside rootlesskit. */
  registryHost: string;
  /** Every process of the engine right now (launcher tree + everything in its user namespace). */
  processes(): Promise<{ pid: number; comm: string; rssKiB: number }[]>;
  stop(): Promise<string[]>;
}

export interface EngineStartContext {
  /** Private directory for this engine (created here). */
  dir: string;
  registryPort: number;
  log: (s: string) => void;
  /** Burrow only: BURROW_NODE_FLAGS for bin/burrow (undefined: its default). */
  nodeFlags?: string;
}

const PATH = '/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin';

async function waitSocket(socket: string, child: ChildProcess | undefined, timeoutMs: number, logFile: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pingSocket(socket))) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) throw new Error(`exited (${child.exitCode ?? child.signalCode}) before answering: ${await tail(logFile)}`);
    if (Date.now() > deadline) throw new Error(`no answer on ${socket} within ${timeoutMs / 1000} s: ${await tail(logFile)}`);
    await sleep(100);
  }
}

async function tail(file: string, lines = 6): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.trim().split('\n').slice(-lines).join(' | ');
}

async function serverVersion(socket: string): Promise<string> {
  const r = await rawRequest(socket, 'GET', '/version');
  try {
    const v = JSON.parse(r.body) as { Version?: string; ApiVersion?: string };
    return `${v.Version ?? '?'} (API ${v.ApiVersion ?? '?'})`;
  } catch {
    return '?';
  }
}

/** Remove a tree that may hold files owned by subordinate ids (only a mapped root can). */
export async function removeTree(dir: string): Promise<void> {
  const ok = await rm(dir, { recursive: true, force: true }).then(
    () => true,
    () => false,
  );
  if (!ok) await runCmd('unshare', ['--user', '--map-auto', '--map-root-user', 'rm', '-rf', dir]);
}

function spawnLogged(cmd: string, args: string[], env: NodeJS.ProcessEnv, logFile: string): ChildProcess {
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(cmd, args, { env, stdio: ['ignore', fd, fd], detached: false });
    // A missing binary must fail the engine's start, not crash the run.
    child.once('error', () => undefined);
    return child;
  } finally {
    closeSync(fd);
  }
}

async function pidFromFile(file: string, timeoutMs = 10_000): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const n = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(n) && n > 0) return n;
    await sleep(50);
  }
  return undefined;
}

/** Stop: SIGTERM the launcher, then kill whatever of the engine is left (by pid), then remove its files. */
async function stopEngine(rootPids: number[], usernses: string[], dir: string, graceMs: number): Promise<string[]> {
  const notes: string[] = [];
  await terminate(rootPids.filter(pidAlive), graceMs);
  const leftProcs = engineProcesses(await listProcesses(), [], usernses);
  const left = leftProcs.map((p) => p.pid);
  if (left.length > 0) {
    const counts = new Map<string, number>();
    for (const p of leftProcs) counts.set(p.comm, (counts.get(p.comm) ?? 0) + 1);
    notes.push(`after the daemon stopped, killed ${left.length} process(es) left in its user namespace: ${[...counts].map(([c, n]) => `${c}×${n}`).join(', ')}`);
    await terminate(left, 3000);
  }
  await removeTree(dir);
  return notes;
}

// ----------------------------------------------------------------------------------------------

/**
 * The bench's copy of test/harness/daemon.ts startDaemon: the harness locates bin/burrow relative to
 * its own file, which is right under vitest (sources) but not from dist/ where the bench runs.
 */
const BURROW_BIN = join(resolve(import.meta.dirname, '..', '..', '..'), 'bin', 'burrow');

export async function startBurrow(ctx: EngineStartContext): Promise<Engine> {
  const runtimeParent = join(ctx.dir, 'xdg-run');
  const dataRoot = join(ctx.dir, 'data');
  await mkdir(runtimeParent, { recursive: true, mode: 0o700 });
  const socket = join(runtimeParent, 'burrow', 'docker.sock');
  const runtimeDir = join(runtimeParent, 'burrow');
  const logFile = join(ctx.dir, 'burrow.log');
  const env: NodeJS.ProcessEnv = { PATH, HOME: process.env.HOME, LANG: 'C.UTF-8', XDG_RUNTIME_DIR: runtimeParent, ...(ctx.nodeFlags !== undefined ? { BURROW_NODE_FLAGS: ctx.nodeFlags } : {}) };
  const child = spawnLogged(BURROW_BIN, ['daemon', '--host', `unix://${socket}`, '--data-root', dataRoot], env, logFile);
  const pid = child.pid ?? -1;
  const usernses: string[] = [];
  const exited = new Promise<number | null>((r) => {
    if (child.exitCode !== null || child.signalCode !== null) r(child.exitCode);
    else child.once('exit', (code) => r(code));
  });
  const stop = async (): Promise<string[]> => {
    const notes: string[] = [];
    if (pidAlive(pid)) {
      child.kill('SIGTERM');
      const code = await Promise.race([exited, sleep(20_000).then(() => 'timeout' as const)]);
      if (code === 'timeout') notes.push('daemon did not stop on SIGTERM within 20 s');
      else if (code !== 0) notes.push(`daemon exited with ${code}`);
    }
    return [...notes, ...(await stopEngine([pid], usernses, ctx.dir, 3000))];
  };
  try {
    await waitSocket(socket, child, 60_000, logFile);
    const holder = await pidFromFile(join(runtimeDir, 'userns-holder.pid'), 5000);
    if (holder !== undefined) usernses.push(await usernsOf(holder));
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    name: 'burrow',
    label: `burrow ${await serverVersion(socket)}`,
    socket,
    dockerHost: `unix://${socket}`,
    registryHost: `127.0.0.1:${ctx.registryPort}`,
    processes: async () => engineProcesses(await listProcesses(), [pid], usernses),
    stop,
  };
}

export async function startPodman(ctx: EngineStartContext): Promise<Engine> {
  const d = ctx.dir;
  const xdg = join(d, 'xdg');
  await mkdir(xdg, { recursive: true, mode: 0o700 });
  await mkdir(join(d, 'home'), { recursive: true });
  const q = JSON.stringify;
  await writeFile(join(d, 'storage.conf'), `[storage]\ndriver = "overlay"\ngraphroot = ${q(join(d, 'root'))}\nrunroot = ${q(join(d, 'runroot'))}\n`);
  await writeFile(
    join(d, 'registries.conf'),
    `unqualified-search-registries = []\n\n[[registry]]\nlocation = ${q(`127.0.0.1:${ctx.registryPort}`)}\ninsecure = true\n`,
  );
  // cgroupfs: there is no systemd user session here. events to a file: no journald for this user.
  await writeFile(join(d, 'containers.conf'), `[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n`);
  const socket = join(d, 'podman.sock');
  const logFile = join(d, 'podman.log');
  const env: NodeJS.ProcessEnv = {
    PATH,
    HOME: join(d, 'home'),
    XDG_RUNTIME_DIR: xdg,
    XDG_CONFIG_HOME: join(d, 'home', '.config'),
    XDG_DATA_HOME: join(d, 'home', '.local', 'share'),
    CONTAINERS_STORAGE_CONF: join(d, 'storage.conf'),
    CONTAINERS_REGISTRIES_CONF: join(d, 'registries.conf'),
    CONTAINERS_CONF: join(d, 'containers.conf'),
    LANG: 'C.UTF-8',
  };
  const child = spawnLogged('/usr/bin/podman', ['system', 'service', '--time=0', `unix://${socket}`], env, logFile);
  const pid = child.pid ?? -1;
  const usernses: string[] = [];
  let runtimeNote = '';
  const stop = async (): Promise<string[]> => {
    const pause = Number((await readFile(join(xdg, 'libpod', 'tmp', 'pause.pid'), 'utf8').catch(() => '')).trim());
    if (pause > 0 && pidAlive(pause)) {
      const ns = await usernsOf(pause).catch(() => '');
      if (ns !== '' && !usernses.includes(ns)) usernses.push(ns);
    }
    const notes = await stopEngine([pid], usernses, d, 10_000);
    if (pause > 0 && !(await waitGone([pause], 1000))) await terminate([pause], 1000);
    return notes;
  };
  try {
    await waitSocket(socket, child, 60_000, logFile);
    const pause = await pidFromFile(join(xdg, 'libpod', 'tmp', 'pause.pid'), 5000);
    if (pause !== undefined) {
      usernses.push(await usernsOf(pause));
      runtimeNote = await crunHybridFix(pause, d);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const runtime = await rawRequest(socket, 'GET', '/info')
    .then((r) => (JSON.parse(r.body) as { DefaultRuntime?: string }).DefaultRuntime ?? '?')
    .catch(() => '?');
  return {
    name: 'podman',
    label: `podman ${await serverVersion(socket)}, ${runtime}${runtimeNote}`,
    socket,
    dockerHost: `unix://${socket}`,
    registryHost: `127.0.0.1:${ctx.registryPort}`,
    processes: async () => engineProcesses(await listProcesses(), [pid], usernses),
    stop,
  };
}

/**
 * crun 1.8 refuses to run on a hybrid cgroup host whose cgroup2 mount has a controller enabled
 * ("cgroups in hybrid mode not supported, drop all controllers from cgroupv2"), so out of the box
 * rootless Podman cannot start a container here. Burrow and the floor bind an empty file over
 * /sys/fs/cgroup/unified/cgroup.controllers in their private mount namespace (recipes §2); Podman
 * gets the same fix in the mount namespace of its pause process, which the service, conmon and
 * crun all share. The host's mounts are untouched.
 */
async function crunHybridFix(pausePid: number, dir: string): Promise<string> {
  const controllers = await readFile('/sys/fs/cgroup/unified/cgroup.controllers', 'utf8').catch(() => '');
  if (controllers.trim() === '') return '';
  const empty = join(dir, 'empty-cgroup.controllers');
  await writeFile(empty, '');
  const r = await runCmd('nsenter', ['-t', String(pausePid), '-U', '-m', '--preserve-credentials', 'mount', '--bind', empty, '/sys/fs/cgroup/unified/cgroup.controllers']);
  return r.code === 0 ? ' (+ empty cgroup.controllers bind in its mount ns, as Burrow does)' : ` (cgroup.controllers bind failed: ${r.stderr.trim()})`;
}

export const DOCKERD_ROOTLESS = '/usr/share/docker.io/contrib/dockerd-rootless.sh';

export async function startDocker(ctx: EngineStartContext): Promise<Engine> {
  const d = ctx.dir;
  const xdg = join(d, 'xdg');
  await mkdir(xdg, { recursive: true, mode: 0o700 });
  await mkdir(join(d, 'home'), { recursive: true });
  // Inside rootlesskit's network namespace the host's loopback is 10.0.2.2 (slirp4netns).
  const registryHost = `10.0.2.2:${ctx.registryPort}`;
  await writeFile(join(d, 'daemon.json'), JSON.stringify({ 'insecure-registries': [registryHost] }, null, 1));
  const socket = join(d, 'docker.sock');
  const logFile = join(d, 'dockerd.log');
  const stateDir = join(d, 'rootlesskit');
  const env: NodeJS.ProcessEnv = {
    PATH,
    HOME: join(d, 'home'),
    XDG_RUNTIME_DIR: xdg,
    LANG: 'C.UTF-8',
    // dockerd-rootless.sh passes --disable-host-loopback; flags given here come after it and win,
    // so the daemon can reach the loopback registry at 10.0.2.2. The state dir keeps it private.
    DOCKERD_ROOTLESS_ROOTLESSKIT_FLAGS: `--disable-host-loopback=false --state-dir=${stateDir}`,
  };
  const args = [
    '--config-file', join(d, 'daemon.json'),
    '--storage-driver', 'overlay2',
    '--data-root', join(d, 'data'),
    '--exec-root', join(d, 'exec'),
    '--pidfile', join(d, 'docker.pid'),
    '--host', `unix://${socket}`,
  ];
  const child = spawnLogged(DOCKERD_ROOTLESS, args, env, logFile);
  const pid = child.pid ?? -1;
  const usernses: string[] = [];
  const stop = async (): Promise<string[]> => stopEngine([pid], usernses, d, 20_000);
  try {
    await waitSocket(socket, child, 60_000, logFile);
    const childPid = await pidFromFile(join(stateDir, 'child_pid'), 5000);
    if (childPid !== undefined) usernses.push(await usernsOf(childPid));
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    name: 'docker',
    label: `docker ${await serverVersion(socket)}, rootlesskit+slirp4netns, runc`,
    socket,
    dockerHost: `unix://${socket}`,
    registryHost,
    processes: async () => engineProcesses(await listProcesses(), [pid], usernses),
    stop,
  };
}

export function startEngine(name: EngineName, ctx: EngineStartContext): Promise<Engine> {
  if (name === 'burrow') return startBurrow(ctx);
  if (name === 'podman') return startPodman(ctx);
  return startDocker(ctx);
}
