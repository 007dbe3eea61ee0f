/**
 * A container's writable layer as a layer tar: the overlay upper dir mirrored into a staging dir
 * (hard links, so no data is copied) with the kernel's whiteouts turned back into OCI markers —
 * a 0:0 char device NAME becomes an empty `.wh.NAME`, an opaque directory gets `.wh..wh..opq` —
 * then tarred by GNU tar with numeric owners. The bind-mount stubs crun leaves (changes.ts
 * INIT_PATHS) are left out, as dockerd's init layer keeps them out of its commits.
 */
import { constants } from 'node:fs';
import { chmod, copyFile, lchown, link, lstat, lutimes, mkdir, readdir, readlink, symlink, writeFile } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { runTool } from '../exec.js';
import { OPAQUE_XATTR } from '../images/unpack.js';
import { INIT_PATHS } from './changes.js';

const OPAQUE_MARKER = '.wh..wh..opq';

async function opaque(dir: string): Promise<boolean> {
  const r = await runTool('getfattr', ['--only-values', '--absolute-names', '-n', OPAQUE_XATTR, dir], { allowFailure: true });
  return r.exitCode === 0 && r.stdout.trim() === 'y';
}

async function marker(path: string, like: Stats): Promise<void> {
  await writeFile(path, '', { mode: 0o644, flag: 'wx' });
  await lutimes(path, like.atime, like.mtime);
}

/** Mirrors `upper` into the empty dir `staging`; returns the number of entries written. */
export async function stageUpperDir(upper: string, staging: string): Promise<number> {
  let count = 0;
  const dirTimes: { path: string; st: Stats }[] = [];
  const visit = async (rel: string): Promise<void> => {
    const names = await readdir(join(upper, rel)).catch((err: NodeJS.ErrnoException) => {
      // A container that never started has no upper dir yet: nothing changed.
      if (rel === '' && err.code === 'ENOENT') return [] as string[];
      throw err;
    });
    for (const name of names.sort()) {
      const relPath = `${rel}/${name}`;
      if (INIT_PATHS.has(relPath)) continue;
      const src = join(upper, relPath);
      const dst = join(staging, relPath);
      const st = await lstat(src);
      count++;
      if (st.isCharacterDevice() && st.rdev === 0) {
        await marker(join(staging, rel, `.wh.${name}`), st);
        continue;
      }
      if (st.isDirectory()) {
        await mkdir(dst, { mode: 0o700 });
        if (await opaque(src)) await marker(join(dst, OPAQUE_MARKER), st);
        await visit(relPath);
        await lchown(dst, st.uid, st.gid);
        await chmod(dst, st.mode & 0o7777);
        dirTimes.push({ path: dst, st });
        continue;
      }
      if (st.isFile()) {
        // A hard link carries owner, mode and times with it; a copy is the fallback across filesystems.
        try {
          await link(src, dst);
          continue;
        } catch {
          await copyFile(src, dst, constants.COPYFILE_EXCL);
        }
      } else if (st.isSymbolicLink()) {
        await symlink(await readlink(src), dst);
      } else if (st.isFIFO()) {
        await runTool('mkfifo', [dst]);
      } else {
        // Devices cannot be created in a user namespace (nor exist in its upper dir but as whiteouts).
        count--;
        continue;
      }
      await lchown(dst, st.uid, st.gid);
      if (!st.isSymbolicLink()) await chmod(dst, st.mode & 0o7777);
      await lutimes(dst, st.atime, st.mtime);
    }
  };
  await visit('');
  for (const { path, st } of dirTimes) await lutimes(path, st.atime, st.mtime);
  return count;
}

/** Tars a staged tree into `file`, entries named without "./", in name order. */
export async function tarStaged(staging: string, file: string): Promise<void> {
  const names = (await readdir(staging)).sort();
  await runTool('tar', ['-c', '-f', file, '--numeric-owner', '--format=gnu', '--sort=name', '-C', staging, '--null', '--verbatim-files-from', '-T', '-'], {
    input: names.map((n) => `${n}\0`).join(''),
  });
}
