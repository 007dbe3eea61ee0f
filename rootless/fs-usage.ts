/**
 * dockerd's directory size (pkg/directory.Size): bytes of everything but directories, each inode
 * once, links not followed. Layer sizes, a container's SizeRw and prune reports all use it.
 */
import { lstat, readdir } from 'node:fs/promises';
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
