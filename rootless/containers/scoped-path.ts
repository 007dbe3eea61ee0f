/**
 * Paths inside a container's root, resolved the way dockerd's FollowSymlinkInScope does: every
 * symlink is read and followed by hand, an absolute target restarts at the container's root and
 * `..` stops at it, so no path the container controls can lead the daemon outside its rootfs.
 */
import { lstat, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';

const MAX_LINKS = 255;

function parts(p: string): string[] {
  return p.split('/').filter((c) => c !== '' && c !== '.');
}

function missing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * The host path of `path` (taken as absolute inside the container) under `root`. Components that
 * do not exist are kept as they are, as dockerd does, so callers get ENOENT from their own lstat.
 */
export async function resolveInScope(root: string, path: string, followFinal = true): Promise<string> {
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
    const last = pending.length === 0;
    let isLink = false;
    try {
      isLink = (await lstat(candidate)).isSymbolicLink();
    } catch (err) {
      if (!missing(err)) throw err;
    }
    if (isLink && (followFinal || !last)) {
      if (++links > MAX_LINKS) throw Object.assign(new Error(`too many links in ${path}`), { code: 'ELOOP' });
      const target = await readlink(candidate);
      if (target.startsWith('/')) resolved = [];
      pending = [...parts(target), ...pending];
      continue;
    }
    resolved.push(c);
  }
  return resolved.length === 0 ? root : join(root, ...resolved);
}

export interface ResolvedPath {
  /** Host path: the directory resolved in scope, the last element as given (not followed). */
  host: string;
  /** The absolute path in the container, cleaned, keeping a trailing "/" or "/." as dockerd does. */
  abs: string;
}

/** dockerd's container.ResolvePath: resolve the directory part, keep the base name literal. */
export async function resolvePath(root: string, path: string): Promise<ResolvedPath> {
  const abs = preserveTrailing(posix.join('/', path), path);
  const slash = abs.lastIndexOf('/');
  const dir = abs.slice(0, slash + 1);
  const base = abs.slice(slash + 1);
  const dirHost = await resolveInScope(root, dir);
  return { host: base === '' ? dirHost : join(dirHost, base), abs };
}

/** archive.PreserveTrailingDotOrSeparator: "/a/." and "/a/" mean "the contents of a". */
export function preserveTrailing(cleaned: string, original: string): string {
  if (original.endsWith('/.') && !cleaned.endsWith('/.')) return cleaned === '/' ? '/.' : `${cleaned}/.`;
  if (original.endsWith('/') && !cleaned.endsWith('/')) return `${cleaned}/`;
  return cleaned;
}

/** "/" + the host path relative to root (which resolveInScope keeps inside root). */
export function containerPathOf(root: string, host: string): string {
  if (host === root) return '/';
  return '/' + host.slice(root.length + 1);
}

/** filepath.Base: the last element, "/" for the root. */
export function baseName(abs: string): string {
  const trimmed = abs.replace(/\/+$/, '');
  if (trimmed === '') return '/';
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}
