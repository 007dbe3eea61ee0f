/** Bytes under a directory, counting each inode once, without following symlinks. */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export async function du(path: string, seen = new Set<string>()): Promise<number> {
  const st = await lstat(path).catch(() => undefined);
  if (!st) return 0;
  const key = `${st.dev}:${st.ino}`;
  if (seen.has(key)) return 0;
  seen.add(key);
  if (!st.isDirectory()) return st.size;
  let total = 0;
  for (const name of await readdir(path).catch(() => [] as string[])) total += await du(join(path, name), seen);
  return total;
}
