/**
 * Disk space: dockerd's directory size (pkg/directory.Size: bytes of everything but directories,
 * each inode once, links not followed) for layer sizes, SizeRw and prune reports; and the room a
 * streamed upload or download may still take.
 */
import { lstat, readdir, statfs } from 'node:fs/promises';
import { join } from 'node:path';

/** 0 for a directory that does not exist (a container never started has no upper dir yet). */
export async function diskUsage(root: string, seen = new Set<string>()): Promise<number> {
  let total = 0;
  const pending = [root];
  while (pending.length > 0) {
    const dir = pending.pop() as string;
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        pending.push(path);
        continue;
      }
      const st = await lstat(path, { bigint: true }).catch(() => undefined);
      if (!st) continue;
      const key = `${st.dev}:${st.ino}`;
      if (seen.has(key)) continue;
      seen.add(key);
      total += Number(st.size);
    }
  }
  return total;
}

/** Never fill the disk to the brim: this much stays free whatever a context, download or import claims. */
const RESERVE_BYTES = 512 * 1024 * 1024;

/** The bytes that may still be written under `dir`: the free space less the reserve, never negative. */
export async function roomIn(dir: string): Promise<number> {
  const s = await statfs(dir);
  return Math.max(0, Number(s.bavail) * Number(s.bsize) - RESERVE_BYTES);
}
