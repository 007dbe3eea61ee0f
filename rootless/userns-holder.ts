import { readFile, readdir, readlink, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFileAtomic } from './fs-atomic.js';
import { spawnTool, startFailure } from './exec.js';

/**
 * The long-lived process that owns Burrow's user and mount namespaces. It outlives the
 * daemon so that containers, mounts and their ownership survive a daemon restart; the
 * daemon itself runs inside these namespaces (bin/burrow enters them with nsenter).
 */
export interface HolderOptions {
  runtimeDir: string;
  catatonit: string;
  /** Tools resolved on the caller's PATH. */
  unshare?: string;
}

const pidFileName = 'userns-holder.pid';

export function holderPidFile(runtimeDir: string): string {
  return join(runtimeDir, pidFileName);
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * A pid is a holder when it runs catatonit inside a user namespace of its own. The uid map is read
 * rather than comparing namespace links because the daemon asks from inside that very namespace.
 */
export async function isHolder(pid: number): Promise<boolean> {
  const comm = (await readText(`/proc/${pid}/comm`))?.trim();
  if (comm !== 'catatonit') return false;
  const map = (await readText(`/proc/${pid}/uid_map`)) ?? '';
  const ranges = map.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' ')).filter((l) => l !== '');
  return ranges.length > 0 && !(ranges.length === 1 && ranges[0] === '0 0 4294967295');
}

export async function findHolder(runtimeDir: string): Promise<number | undefined> {
  const text = await readText(holderPidFile(runtimeDir));
  const pid = Number(text?.trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return (await isHolder(pid)) ? pid : undefined;
}

/** The uid map is written by newuidmap after unshare starts; wait until catatonit runs with it in place. */
async function waitForMapped(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await isHolder(pid)) return;
    if (Date.now() > deadline) throw new Error(`user namespace holder (pid ${pid}) did not come up within ${timeoutMs} ms`);
    await sleep(5);
  }
}

export async function ensureHolder(opts: HolderOptions): Promise<number> {
  const existing = await findHolder(opts.runtimeDir);
  if (existing) return existing;
  const unshare = opts.unshare ?? 'unshare';
  const args = ['--user', '--map-auto', '--map-root-user', '--mount', '--propagation', 'private', opts.catatonit, '-P'];
  const stderrChunks: Buffer[] = [];
  const child = spawnTool(unshare, args, { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.on('data', (b: Buffer) => stderrChunks.push(b));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const pid = child.pid;
  if (!pid) throw startFailure(unshare, args, await spawnError);
  const outcome = await Promise.race([
    waitForMapped(pid, 5000).then(() => 'up' as const),
    exited.then((code) => ({ code })),
  ]);
  if (outcome !== 'up') {
    const stderr = Buffer.concat(stderrChunks).toString().trim();
    throw new Error(`cannot create the user namespace: ${stderr || `unshare exited with ${outcome.code}`}`);
  }
  child.stderr?.destroy();
  child.unref();
  await writeFileAtomic(holderPidFile(opts.runtimeDir), `${pid}\n`);
  return pid;
}

/** Alive and not a zombie. */
export async function isRunning(pid: number): Promise<boolean> {
  const stat = await readText(`/proc/${pid}/stat`);
  if (!stat) return false;
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

/**
 * True when nothing but the holder and the calling process lives in the holder's user namespace:
 * no monitor, container or helper that stopping it could strand.
 */
export async function holderIsIdle(holderPid: number): Promise<boolean> {
  const ns = await readlink(`/proc/${holderPid}/ns/user`).catch(() => undefined);
  if (!ns) return true;
  for (const entry of await readdir('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === holderPid || pid === process.pid) continue;
    const theirs = await readlink(`/proc/${pid}/ns/user`).catch(() => undefined);
    if (theirs === ns && (await isRunning(pid))) return false;
  }
  return true;
}

export async function stopHolder(runtimeDir: string): Promise<void> {
  const pid = await findHolder(runtimeDir);
  if (pid) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    // Wait until it is gone (or a zombie awaiting its reaper) so callers see a clean state.
    const deadline = Date.now() + 2000;
    while (Date.now() < deadline && (await isRunning(pid))) await sleep(5);
  }
  await rm(holderPidFile(runtimeDir), { force: true });
}
