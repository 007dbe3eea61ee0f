/**
 * Second half of PUT /containers/{id}/archive: a tree GNU tar extracted into a fresh private
 * staging dir is copied into the container's rootfs entry by entry. Each entry's parent is
 * resolved in the container's scope (so an existing absolute symlink such as /lib -> /usr/lib
 * stays inside the rootfs), and the entry itself is never followed: it is replaced, as dockerd's
 * untar does, or merged when both sides are directories.
 */
import { constants } from 'node:fs';
import { chmod, copyFile, lchown, link, lstat, lutimes, mkdir, readdir, readlink, rm, symlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join, posix } from 'node:path';
import { internal } from '../../translate/errors.js';
import { runTool } from '../exec.js';
import { resolveInScope } from './scoped-path.js';

export interface MergeOptions {
  /** Container root (host path). */
  root: string;
  /** The extraction directory as an absolute path inside the container (already resolved). */
  destAbs: string;
  noOverwriteDirNonDir: boolean;
  /** copyUIDGID: every entry is owned by the container's user instead of the archive's owner. */
  owner?: { uid: number; gid: number };
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

export async function mergeStaged(staging: string, opts: MergeOptions): Promise<void> {
  /** Staged inode → where its first link landed, so hard links stay hard links. */
  const linked = new Map<string, string>();
  /** Directory times are set last: writing their children would change them again. */
  const dirTimes: { path: string; st: Stats }[] = [];

  const visit = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(staging, rel))).sort()) {
      const relPath = rel === '' ? name : `${rel}/${name}`;
      const src = join(staging, relPath);
      const st = await lstat(src);
      const parent = await resolveInScope(opts.root, posix.join(opts.destAbs, rel));
      const target = join(parent, name);
      const existing = await lstatOrUndefined(target);
      const shown = posix.join(opts.destAbs, relPath);
      if (existing) {
        if (opts.noOverwriteDirNonDir && existing.isDirectory() && !st.isDirectory()) {
          throw internal(`cannot overwrite directory "${shown}" with non-directory "${shown}"`);
        }
        if (opts.noOverwriteDirNonDir && !existing.isDirectory() && st.isDirectory()) {
          throw internal(`cannot overwrite non-directory "${shown}" with directory "${shown}"`);
        }
        if (!(existing.isDirectory() && st.isDirectory())) await rm(target, { recursive: true, force: true });
      }
      const uid = opts.owner?.uid ?? st.uid;
      const gid = opts.owner?.gid ?? st.gid;
      if (st.isDirectory()) {
        if (!existing?.isDirectory()) await mkdir(target, { mode: 0o700 });
        await lchown(target, uid, gid);
        await chmod(target, st.mode & 0o7777);
        dirTimes.push({ path: target, st });
        await visit(relPath);
        continue;
      }
      if (st.isSymbolicLink()) {
        await symlink(await readlink(src), target);
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? linked.get(key) : undefined;
        if (first) {
          await link(first, target);
          continue;
        }
        // EXCL: a file someone put there since the rm above is never written through.
        await copyFile(src, target, constants.COPYFILE_EXCL);
        if (st.nlink > 1) linked.set(key, target);
      } else if (st.isFIFO()) {
        await runTool('mkfifo', [target]);
      } else {
        // Devices cannot be created in a user namespace; dockerd skips them there too.
        continue;
      }
      await lchown(target, uid, gid);
      if (!st.isSymbolicLink()) await chmod(target, st.mode & 0o7777);
      await lutimes(target, st.atime, st.mtime);
    }
  };

  await visit('');
  for (const { path, st } of dirTimes.reverse()) await lutimes(path, st.atime, st.mtime);
}
