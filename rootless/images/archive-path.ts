/** Paths inside an unpacked `docker load` archive, never leading out of it. */
import { lstat, realpath } from 'node:fs/promises';
import { isAbsolute, join, normalize, sep } from 'node:path';
import { invalidParameter } from '../../translate/errors.js';

/**
 * A regular file at `rel` under `root`, with no `..`, no absolute path and no symlink anywhere on
 * the way out; undefined when absent and `optional`.
 */
export async function inside(root: string, rel: string, optional = false): Promise<string | undefined> {
  const clean = normalize(rel);
  if (isAbsolute(rel) || clean === '..' || clean.startsWith(`..${sep}`)) throw invalidParameter(`invalid path ${rel} in the archive`);
  const path = join(root, clean);
  let st;
  try {
    st = await lstat(path);
  } catch {
    if (optional) return undefined;
    throw invalidParameter(`${rel} is missing from the archive`);
  }
  if (!st.isFile()) throw invalidParameter(`${rel} in the archive is not a regular file`);
  const real = await realpath(path);
  if (!real.startsWith(root + sep)) throw invalidParameter(`invalid path ${rel} in the archive`);
  return real;
}
