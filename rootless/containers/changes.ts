/**
 * docker diff: the container's writable layer (the overlay upper dir) compared with the image's
 * layers, the way dockerd's archive.OverlayChanges walks it: a 0:0 character device (whiteout)
 * is a deletion, an opaque directory over an existing lower one is a deletion too (its new
 * contents then show as additions), anything else is a modification when a lower layer has the
 * path and an addition when none has. Directories whose metadata equals the lower copy's are
 * skipped, and the parent of every addition or deletion is reported as modified.
 */
import { lstat } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { OPAQUE_XATTR } from '../images/unpack.js';
import { inRootTextIfTree } from '../in-root.js';
import type { FilesystemChange } from './tools-interface.js';

type ChangeKind = FilesystemChange['kind'];

const MODIFIED: ChangeKind = 'modified';
const ADDED: ChangeKind = 'added';
const DELETED: ChangeKind = 'deleted';

/**
 * Mount points crun creates in the rootfs for the files Docker binds in. dockerd keeps them in the
 * container's init layer, below the writable one, so they never show in a diff.
 */
export const INIT_PATHS = new Set(['/etc/hosts', '/etc/hostname', '/etc/resolv.conf', '/.dockerenv', '/dev/console', '/dev/pts', '/dev/shm', '/proc', '/sys', '/etc/mtab']);

async function lstatOrUndefined(path: string): Promise<BigIntStats | undefined> {
  try {
    return await lstat(path, { bigint: true });
  } catch {
    return undefined;
  }
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFCHR = 0o020000;

/** One entry of the upper dir, as the in-root helper lists it (lstat, never followed). */
export interface UpperEntry {
  path: string;
  mode: number;
  size: number;
  mtimeNs: string;
  rdev: number;
  opaque?: boolean;
}

const isWhiteout = (st: BigIntStats): boolean => st.isCharacterDevice() && st.rdev === 0n;
const entryIsDir = (e: UpperEntry): boolean => (e.mode & S_IFMT) === S_IFDIR;
const entryIsWhiteout = (e: UpperEntry): boolean => (e.mode & S_IFMT) === S_IFCHR && e.rdev === 0;

/**
 * The upper dir, listed by the in-root helper with the upper dir as its root: the container writes
 * it, so a directory it swaps for a symlink mid-walk leads nowhere but into its own layer.
 */
export async function listUpper(upper: string): Promise<UpperEntry[]> {
  // A container that never started has no upper dir yet: nothing changed.
  const text = (await inRootTextIfTree({ op: 'list', root: upper, opaqueXattr: OPAQUE_XATTR, skip: [] })) ?? '';
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as UpperEntry);
}

/** The topmost lower layer's entry for a path, whiteouts counting as absent. */
async function inLower(lowers: readonly string[], path: string): Promise<BigIntStats | undefined> {
  for (const layer of lowers) {
    const st = await lstatOrUndefined(join(layer, path));
    if (st) return isWhiteout(st) ? undefined : st;
  }
  return undefined;
}

/** Go's sameFsTime: whole seconds compare when either side lacks nanoseconds. */
function sameTime(a: UpperEntry, b: BigIntStats): boolean {
  const ans = BigInt(a.mtimeNs);
  if (ans === b.mtimeNs) return true;
  const second = 1_000_000_000n;
  return ans / second === b.mtimeNs / second && (ans % second === 0n || b.mtimeNs % second === 0n);
}

/** Byte order, as Go's sort.Strings orders a directory walk. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** `lowers` top layer first (ImageStore.layerDirs order); `entries` as listUpper gives them. */
export async function containerChanges(entries: readonly UpperEntry[], lowers: readonly string[]): Promise<FilesystemChange[]> {
  const changes: FilesystemChange[] = [];
  const changedDirs = new Set<string>();
  const byPath = new Map(entries.map((e) => [e.path, e]));
  const children = new Map<string, string[]>();
  for (const e of entries) {
    const parent = e.path.slice(0, e.path.lastIndexOf('/')) || '/';
    const list = children.get(parent) ?? [];
    list.push(e.path.slice(e.path.lastIndexOf('/') + 1));
    children.set(parent, list);
  }

  /** Below an opaque directory the lower layers are hidden: everything there is new. */
  const walk = async (dir: string, hidden = false): Promise<void> => {
    for (const name of [...(children.get(dir) ?? [])].sort(byteOrder)) {
      const path = dir === '/' ? `/${name}` : `${dir}/${name}`;
      const st = byPath.get(path) as UpperEntry;
      if (INIT_PATHS.has(path)) continue;
      let kind: ChangeKind;
      const lower = hidden ? undefined : await inLower(lowers, path);
      const opaque = entryIsDir(st) && lower !== undefined && st.opaque === true;
      if (entryIsWhiteout(st) || opaque) {
        kind = DELETED;
      } else if (!lower) {
        kind = ADDED;
      } else if (entryIsDir(st) && lower.isDirectory() && BigInt(st.size) === lower.size && BigInt(st.mode) === lower.mode && (sameTime(st, lower) || (await onlyInitStubs(children, byPath, lowers, path)))) {
        await walk(path, hidden);
        continue;
      } else {
        kind = MODIFIED;
      }
      if (entryIsDir(st)) changedDirs.add(path);
      if (kind !== MODIFIED) {
        const parent = path.slice(0, path.lastIndexOf('/')) || '/';
        if (parent !== '/' && !changedDirs.has(parent)) {
          changes.push({ path: parent, kind: MODIFIED });
          changedDirs.add(parent);
        }
      }
      changes.push({ path, kind });
      if (entryIsDir(st)) await walk(path, hidden || opaque);
    }
  };

  await walk('/');
  return changes;
}

/**
 * A directory whose mtime moved only because crun created bind-mount stubs in it (/etc/hosts…)
 * is unchanged as far as dockerd's diff goes: there those stubs live in the init layer.
 */
async function onlyInitStubs(children: ReadonlyMap<string, string[]>, byPath: ReadonlyMap<string, UpperEntry>, lowers: readonly string[], dir: string): Promise<boolean> {
  let stubs = 0;
  for (const name of children.get(dir) ?? []) {
    const path = `${dir}/${name}`;
    if (INIT_PATHS.has(path)) {
      if (!(await inLower(lowers, path))) stubs++;
      continue;
    }
    const st = byPath.get(path);
    // Anything else new in it (added or deleted) would have changed the mtime on its own.
    if (!st || entryIsWhiteout(st) || !(await inLower(lowers, path))) return false;
  }
  return stubs > 0;
}
