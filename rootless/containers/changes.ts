/**
 * docker diff: the container's writable layer (the overlay upper dir) compared with the image's
 * layers, the way dockerd's archive.OverlayChanges walks it: a 0:0 character device (whiteout)
 * is a deletion, an opaque directory over an existing lower one is a deletion too (its new
 * contents then show as additions), anything else is a modification when a lower layer has the
 * path and an addition when none has. Directories whose metadata equals the lower copy's are
 * skipped, and the parent of every addition or deletion is reported as modified.
 */
import { lstat, readdir } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { runTool } from '../exec.js';
import { OPAQUE_XATTR } from '../images/unpack.js';

export type ChangeKind = 0 | 1 | 2;
export interface FilesystemChange {
  Path: string;
  Kind: ChangeKind;
}

const MODIFIED = 0;
const ADDED = 1;
const DELETED = 2;

/**
 * Mount points crun creates in the rootfs for the files Docker binds in. dockerd keeps them in the
 * container's init layer, below the writable one, so they never show in a diff.
 */
export const INIT_PATHS = new Set(['/etc/hosts', '/etc/hostname', '/etc/resolv.conf', '/.dockerenv', '/dev/console', '/dev/pts', '/dev/shm', '/proc', '/sys', '/etc/mtab']);

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch {
    return undefined;
  }
}

const isWhiteout = (st: Stats): boolean => st.isCharacterDevice() && st.rdev === 0;

async function isOpaque(dir: string): Promise<boolean> {
  const r = await runTool('getfattr', ['--only-values', '--absolute-names', '-n', OPAQUE_XATTR, dir], { allowFailure: true });
  return r.exitCode === 0 && r.stdout.trim() === 'y';
}

/** The topmost lower layer's entry for a path, whiteouts counting as absent. */
async function inLower(lowers: readonly string[], path: string): Promise<Stats | undefined> {
  for (const layer of lowers) {
    const st = await lstatOrUndefined(join(layer, path));
    if (st) return isWhiteout(st) ? undefined : st;
  }
  return undefined;
}

/** Go's sameFsTime: whole seconds compare when either side lacks nanoseconds. */
function sameTime(a: Stats, b: Stats): boolean {
  if (a.mtimeMs === b.mtimeMs) return true;
  return Math.floor(a.mtimeMs / 1000) === Math.floor(b.mtimeMs / 1000) && (a.mtimeMs % 1000 === 0 || b.mtimeMs % 1000 === 0);
}

/** Byte order, as Go's sort.Strings orders a directory walk. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** `lowers` top layer first (ImageStore.layerDirs order). */
export async function containerChanges(upper: string, lowers: readonly string[]): Promise<FilesystemChange[]> {
  const changes: FilesystemChange[] = [];
  const changedDirs = new Set<string>();

  /** Below an opaque directory the lower layers are hidden: everything there is new. */
  const walk = async (dir: string, hidden = false): Promise<void> => {
    let names: string[];
    try {
      names = (await readdir(join(upper, dir))).sort(byteOrder);
    } catch {
      return;
    }
    for (const name of names) {
      const path = dir === '/' ? `/${name}` : `${dir}/${name}`;
      const st = await lstatOrUndefined(join(upper, path));
      if (!st) continue;
      if (INIT_PATHS.has(path)) continue;
      let kind: ChangeKind;
      const lower = hidden ? undefined : await inLower(lowers, path);
      const opaque = st.isDirectory() && lower !== undefined && (await isOpaque(join(upper, path)));
      if (isWhiteout(st) || opaque) {
        kind = DELETED;
      } else if (!lower) {
        kind = ADDED;
      } else if (st.isDirectory() && lower.isDirectory() && st.size === lower.size && st.mode === lower.mode && (sameTime(st, lower) || (await onlyInitStubs(upper, lowers, path)))) {
        await walk(path, hidden);
        continue;
      } else {
        kind = MODIFIED;
      }
      if (st.isDirectory()) changedDirs.add(path);
      if (kind !== MODIFIED) {
        const parent = path.slice(0, path.lastIndexOf('/')) || '/';
        if (parent !== '/' && !changedDirs.has(parent)) {
          changes.push({ Path: parent, Kind: MODIFIED });
          changedDirs.add(parent);
        }
      }
      changes.push({ Path: path, Kind: kind });
      if (st.isDirectory()) await walk(path, hidden || opaque);
    }
  };

  await walk('/');
  return changes;
}

/**
 * A directory whose mtime moved only because crun created bind-mount stubs in it (/etc/hosts…)
 * is unchanged as far as dockerd's diff goes: there those stubs live in the init layer.
 */
async function onlyInitStubs(upper: string, lowers: readonly string[], dir: string): Promise<boolean> {
  const names = await readdir(join(upper, dir)).catch(() => [] as string[]);
  let stubs = 0;
  for (const name of names) {
    const path = `${dir}/${name}`;
    if (INIT_PATHS.has(path)) {
      if (!(await inLower(lowers, path))) stubs++;
      continue;
    }
    const st = await lstatOrUndefined(join(upper, path));
    // Anything else new in it (added or deleted) would have changed the mtime on its own.
    if (!st || isWhiteout(st) || !(await inLower(lowers, path))) return false;
  }
  return stubs > 0;
}
