/**
 * A container's writable layer as a layer tar: the overlay upper dir mirrored into a staging dir
 * (hard links, so no data is copied) with the kernel's whiteouts turned back into OCI markers —
 * a 0:0 char device NAME becomes an empty `.wh.NAME`, an opaque directory gets `.wh..wh..opq` —
 * then tarred by GNU tar with numeric owners. The bind-mount stubs crun leaves (changes.ts
 * INIT_PATHS) are left out, as dockerd's init layer keeps them out of its commits. The mirror is
 * made by the in-root helper with the upper dir as its root: the container writes that dir, maybe
 * while it is committed, and must not be able to swap a directory for a symlink out of it.
 */
import { readdir } from 'node:fs/promises';
import { runTool } from '../exec.js';
import { OPAQUE_XATTR } from '../images/unpack.js';
import { INIT_PATHS } from './changes.js';
import { inRootTextIfTree } from '../in-root.js';

/** Mirrors `upper` into the empty dir `staging`; returns the number of entries written. */
export async function stageUpperDir(upper: string, staging: string): Promise<number> {
  const spec = { op: 'stage' as const, root: upper, staging, opaqueXattr: OPAQUE_XATTR, skip: [...INIT_PATHS] };
  const said = await inRootTextIfTree(spec);
  // A container that never started has no upper dir yet: nothing changed.
  return said === undefined ? 0 : (JSON.parse(said) as { entries: number }).entries;
}

/** Tars a staged tree into `file`, entries named without "./", in name order. */
export async function tarStaged(staging: string, file: string): Promise<void> {
  const names = (await readdir(staging)).sort();
  await runTool('tar', ['-c', '-f', file, '--numeric-owner', '--format=gnu', '--sort=name', '-C', staging, '--null', '--verbatim-files-from', '-T', '-'], {
    input: names.map((n) => `${n}\0`).join(''),
  });
}
