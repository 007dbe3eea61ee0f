/**
 * Network namespaces as nsfs bind mounts on files. They exist only inside the engine's mount
 * namespace, which the daemon (and everything it starts) shares, so plain paths work for nsenter,
 * iproute2 and pasta. Node cannot setns, so every step is a short exec; batching keeps them few.
 */
import { mkdir, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { liveSpawner, runTool, ToolError } from '../rootless/exec.js';
import { rootLogger, warnOnly } from '../rootless/log.js';

export const IPTABLES_RESTORE = '/usr/sbin/iptables-restore';
export const IPTABLES = '/usr/sbin/iptables';
export const IP6TABLES = '/usr/sbin/ip6tables';
const IP6TABLES_RESTORE = '/usr/sbin/ip6tables-restore';

/** A mounted netns file lives on nsfs, so its device differs from its directory's. */
export async function isNetnsMounted(path: string): Promise<boolean> {
  try {
    const [file, dir] = await Promise.all([stat(path), stat(dirname(path))]);
    return file.dev !== dir.dev;
  } catch {
    return false;
  }
}

/** An `ip -b` batch for another netns (the hub), run by the same exec: every exec blocks the daemon's event loop while it forks. */
export interface PeerBatch {
  nsPath: string;
  batch: string;
}

/**
 * Creates a netns, pins it on `path` and runs `setup` (a shell snippet, e.g. sysctls) and then an
 * `ip -b -` batch inside it, all in one exec; the batch may already create veths peered into other
 * netns, and `peer` then plumbs their other ends there (e.g. onto the hub's bridges).
 */
export async function createNetns(path: string, batch: string, setup = '', peer?: PeerBatch): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, '', { mode: 0o600 });
  // The spawner does the same in its own thread, without the processes (a plain netns only: no setup snippet).
  const helper = setup ? undefined : liveSpawner();
  if (helper) {
    rootLogger().debug({ path, peer: peer?.nsPath }, 'netns create (spawner)');
    const r = await helper.op({ op: 'netns-create', target: path, batch: batch || 'link set lo up\n', ...(peer?.batch.trim() ? { peerNs: peer.nsPath, peerBatch: peer.batch } : {}) }).catch((err: unknown) => ({ code: null, stderr: Buffer.from(String(err)) }));
    if (r.code === 0) return;
    await removeNetns(path);
    const words = r.stderr.toString('utf8').trim();
    throw new ToolError('ip', ['-b', '-'], r.code ?? undefined, words, `ip: ${words}`);
  }
  const then = peer?.batch.trim() ? ` && printf '%s' "$3" | nsenter --net="$2" ip -b -` : '';
  const script = `mount --bind /proc/self/ns/net "$1"${setup ? ` && ${setup}` : ''} && ${then ? 'ip -b -' : 'exec ip -b -'}${then}`;
  try {
    await runTool('unshare', ['-n', 'sh', '-ec', script, 'sh', path, ...(then ? [peer!.nsPath, peer!.batch] : [])], { input: batch || 'link set lo up\n' });
  } catch (err) {
    await removeNetns(path);
    throw err;
  }
}

/** `force` keeps going past failing lines (e.g. deleting veths that vanished with their netns). */
export async function ipBatch(nsPath: string, batch: string, force = false): Promise<void> {
  if (!batch.trim()) return;
  await runTool('nsenter', [`--net=${nsPath}`, 'ip', ...(force ? ['-force'] : []), '-b', '-'], { input: batch, allowFailure: force });
}

export async function inNetns(nsPath: string, tool: string, args: readonly string[], opts: { input?: string; allowFailure?: boolean } = {}): Promise<string> {
  return (await runTool('nsenter', [`--net=${nsPath}`, tool, ...args], opts)).stdout;
}

/** iptables-restore --noflush (ip6tables-restore with `v6`): a whole rule set (-A and -D lines) in one exec. */
export async function iptablesApply(nsPath: string, rules: string, allowFailure = false, v6 = false): Promise<void> {
  if (!rules.trim()) return;
  await runTool('nsenter', [`--net=${nsPath}`, v6 ? IP6TABLES_RESTORE : IPTABLES_RESTORE, '--noflush'], { input: rules, allowFailure });
}

/**
 * Idempotent, and never fails on a tool: unmounting drops the netns once no process holds it; a busy
 * mount is detached lazily.
 * `peer` (forced: lines whose links vanished are skipped) runs first in the same exec, e.g. deleting
 * the hub's ends of the veths, which would otherwise outlive a netns that is still held for a while.
 */
export async function removeNetns(path: string, peer?: PeerBatch): Promise<void> {
  const mounted = await isNetnsMounted(path);
  const helper = liveSpawner();
  if (helper && (mounted || peer?.batch.trim())) {
    rootLogger().debug({ path, peer: peer?.nsPath }, 'netns remove (spawner)');
    await helper.op({ op: 'netns-remove', ...(mounted ? { target: path } : {}), ...(peer?.batch.trim() ? { peerNs: peer.nsPath, peerBatch: peer.batch } : {}) }).catch(warnOnly('removing a network namespace failed'));
    await unlink(path).catch(warnOnly('could not remove a network namespace file'));
    return;
  }
  const cleanup = peer?.batch.trim() ? `{ printf '%s' "$3" | nsenter --net="$2" ip -force -b - || true; }` : '';
  if (cleanup || mounted) {
    const unmount = mounted ? 'umount "$1" 2>/dev/null || umount -l "$1"' : 'true';
    await runTool('sh', ['-c', `${cleanup ? `${cleanup}; ` : ''}${unmount}`, 'sh', path, ...(cleanup ? [peer!.nsPath, peer!.batch] : [])], { allowFailure: true });
  }
  await unlink(path).catch(warnOnly('could not remove a network namespace file'));
}
