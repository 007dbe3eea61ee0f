/**
 * Where one container's cgroup lives in each hierarchy, and writing control files into it.
 * The runtime gets cgroupsPath "<cgroupParent>/<id>" and creates that path under every delegated
 * directory (each is "<hierarchy>/<cgroupParent>"), so the container's directory is <delegated>/<id>.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { CgroupWrite, WriteController } from '../../translate/cgroup-writes.js';
import { internal } from '../../translate/errors.js';
import type { CgroupDelegation } from './detect.js';

export type Hierarchy = 'memory' | 'cpu' | 'cpuacct' | 'cpuset' | 'pids' | 'blkio' | 'freezer';

export interface CgroupDirs {
  mode: 'v1' | 'v2';
  /** v1: one directory per controller hierarchy; v2: every entry is the same directory. */
  dirs: Partial<Record<Hierarchy, string>>;
}

const HIERARCHIES: readonly Hierarchy[] = ['memory', 'cpu', 'cpuacct', 'cpuset', 'pids', 'blkio', 'freezer'];

/** Undefined when containers get no cgroup of their own (nothing delegated). */
export function containerCgroupDirs(d: Pick<CgroupDelegation, 'driver' | 'mode' | 'delegated'>, id: string): CgroupDirs | undefined {
  if (d.driver !== 'cgroupfs' || d.delegated.length === 0) return undefined;
  const dirs: CgroupDirs['dirs'] = {};
  if (d.mode === 'v2') {
    const dir = join(d.delegated[0] ?? '', id);
    for (const h of HIERARCHIES) dirs[h] = dir;
    return { mode: 'v2', dirs };
  }
  for (const delegated of d.delegated) {
    // "<root>/cpu,cpuacct/<user>": the hierarchy's name lists the controllers bound to it.
    const names = basename(dirname(delegated)).split(',');
    for (const h of HIERARCHIES) if (names.includes(h) && !dirs[h]) dirs[h] = join(delegated, id);
  }
  return { mode: 'v1', dirs };
}

export async function readCgroupFile(dir: string | undefined, file: string): Promise<string | undefined> {
  if (!dir) return undefined;
  return readFile(join(dir, file), 'utf8').catch(() => undefined);
}

function errCode(err: unknown): string | undefined {
  return err && typeof err === 'object' && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

async function writeOne(dir: string, w: CgroupWrite): Promise<void> {
  try {
    await writeFile(join(dir, w.file), w.value);
  } catch (err) {
    if (errCode(err) !== 'ENOENT' || !w.alternative) throw err;
    await writeFile(join(dir, w.alternative.file), w.alternative.value);
  }
}

/**
 * Applies the writes in order; one that the kernel refuses (EINVAL: a v1 memory limit above the
 * memsw limit still in place, say) is retried once after the others. Writes for a controller with
 * no directory come back as skipped, for the caller to warn about.
 */
export async function applyCgroupWrites(cg: CgroupDirs, writes: readonly CgroupWrite[]): Promise<{ skipped: WriteController[] }> {
  const skipped = new Set<WriteController>();
  const retry: Array<{ dir: string; w: CgroupWrite }> = [];
  for (const w of writes) {
    const dir = cg.dirs[w.controller];
    if (!dir) {
      skipped.add(w.controller);
      continue;
    }
    try {
      await writeOne(dir, w);
    } catch {
      retry.push({ dir, w });
    }
  }
  for (const { dir, w } of retry) {
    try {
      await writeOne(dir, w);
    } catch (err) {
      throw internal(`Cannot update container resources: writing ${w.value} to ${join(dir, w.file)}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { skipped: [...skipped] };
}

/**
 * Waits until a v1 freezer says FROZEN after the runtime's pause. crun writes FROZEN and returns
 * while the kernel is still FREEZING the tasks (seen under load), where runc, and so dockerd,
 * returns only once they are frozen. The v1 freezer announces nothing (no events file to watch),
 * so it is read again with a growing pause, for at most `limitMs`. False: still not frozen.
 */
export async function settleV1Freeze(cg: CgroupDirs | undefined, limitMs = 5000): Promise<boolean> {
  const dir = cg?.mode === 'v1' ? cg.dirs.freezer : undefined;
  if (!dir) return true;
  const deadline = Date.now() + limitMs;
  for (let pauseMs = 1; ; pauseMs = Math.min(pauseMs * 2, 50)) {
    const state = (await readCgroupFile(dir, 'freezer.state'))?.trim();
    if (state !== 'FREEZING') return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, pauseMs));
  }
}
