/**
 * Reading one small file of a container's tree (its /etc/passwd and /etc/group, for a start, an exec
 * or `:U`) from the daemon itself, without the in-root helper's process: the path is resolved in the
 * tree by hand (an absolute symlink restarts at the tree's root, `..` stops at it, as dockerd's
 * FollowSymlinkInScope), the file is opened without following a last symlink, and then the kernel is
 * asked which file was opened (/proc/self/fd): one outside the tree — a component swapped for a
 * symlink between the resolution and the open — is refused. What is read is what was checked.
 */
import { constants } from 'node:fs';
import { lstat, open, readlink, realpath } from 'node:fs/promises';
import { join } from 'node:path';

const MAX_LINKS = 255;

const parts = (p: string): string[] => p.split('/').filter((c) => c !== '' && c !== '.');

function missing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** The host path of `path` (absolute in the tree) under `root`; missing components are kept as given. */
export async function resolveInScope(root: string, path: string): Promise<string> {
  let resolved: string[] = [];
  let pending = parts(path);
  let links = 0;
  while (pending.length > 0) {
    const c = pending.shift() as string;
    if (c === '..') {
      resolved.pop();
      continue;
    }
    const candidate = join(root, ...resolved, c);
    let isLink = false;
    try {
      isLink = (await lstat(candidate)).isSymbolicLink();
    } catch (err) {
      if (!missing(err)) throw err;
    }
    if (isLink) {
      if (++links > MAX_LINKS) return join(root, ...resolved, c);
      const target = await readlink(candidate);
      if (target.startsWith('/')) resolved = [];
      pending = [...parts(target), ...pending];
      continue;
    }
    resolved.push(c);
  }
  return resolved.length === 0 ? root : join(root, ...resolved);
}

/** The file's text (at most `maxBytes`), or '' when it is missing, not a regular file, or not in the tree. */
export async function readFileInRoot(root: string, path: string, maxBytes = 4 << 20): Promise<string> {
  let handle;
  try {
    const realRoot = await realpath(root);
    handle = await open(await resolveInScope(realRoot, path), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    const opened = await readlink(`/proc/self/fd/${handle.fd}`);
    if (!opened.startsWith(`${realRoot}/`)) return '';
    const st = await handle.stat();
    if (!st.isFile()) return '';
    // Sized by the file, not by the cap: every start and exec reads /etc/passwd and /etc/group,
    // and a zeroed 4 MiB buffer for each was 16 MiB of garbage per start. Only bytesRead is used.
    const size = Math.min(maxBytes, st.size);
    if (size === 0) return '';
    const buf = Buffer.allocUnsafe(size);
    const { bytesRead } = await handle.read(buf, 0, size, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } catch {
    return '';
  } finally {
    await handle?.close();
  }
}
