import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Bytes of the files under a directory, like dockerd's directory.Size: hard links once, symlinks not followed. */
export async function contentSize(path: string, seen = new Set<string>()): Promise<number> {
  const st = await lstat(path).catch(() => undefined);
  if (!st) return 0;
  if (!st.isDirectory()) {
    const key = `${st.dev}:${st.ino}`;
    if (seen.has(key)) return 0;
    seen.add(key);
    return st.size;
  }
  let total = 0;
  for (const name of await readdir(path).catch(() => [] as string[])) total += await contentSize(join(path, name), seen);
  return total;
}
