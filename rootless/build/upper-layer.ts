/**
 * A RUN step's container upper dir turned into a layer diff in place (the container is removed
 * right after): overlay whiteouts (char device 0:0, opaque xattr) become OCI `.wh.` markers, and
 * mount points the runtime created (absent from every lower layer and empty) are dropped, as
 * dockerd keeps them in its init layer rather than in the image.
 */
import { lstat, readdir, rm, rmdir, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { runTool } from '../exec.js';

const MOUNT_POINTS = ['etc/hosts', 'etc/hostname', 'etc/resolv.conf', 'dev', 'proc', 'sys', 'run/.containerenv', '.dockerenv'];
const OPAQUE_XATTRS = ['user.overlay.opaque', 'trusted.overlay.opaque'];

async function existsIn(dirs: readonly string[], rel: string): Promise<boolean> {
  for (const d of dirs) {
    try {
      await lstat(join(d, rel));
      return true;
    } catch {
      // try the next layer
    }
  }
  return false;
}

async function dropEmpty(path: string): Promise<void> {
  const st = await lstat(path).catch(() => undefined);
  if (!st) return;
  if (st.isDirectory()) {
    if ((await readdir(path)).length === 0) await rmdir(path);
  } else if (st.isFile() && st.size === 0) {
    await unlink(path);
  }
}

/** Directories marked opaque, from one getfattr pass over the tree. */
async function opaqueDirs(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of OPAQUE_XATTRS) {
    // Exits non-zero for every file without the attribute: only the "# file:" lines matter.
    const r = await runTool('getfattr', ['-R', '-P', '--absolute-names', '-n', name, root], { allowFailure: true });
    for (const line of r.stdout.split('\n')) {
      const m = /^# file: (.*)$/.exec(line);
      if (m) out.push(m[1]);
    }
  }
  return out;
}

async function convertWhiteouts(root: string): Promise<void> {
  const pending = [root];
  while (pending.length > 0) {
    const dir = pending.pop() as string;
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isCharacterDevice()) {
        const st = await lstat(path);
        if (st.rdev === 0) {
          await unlink(path);
          await writeFile(join(dir, `.wh.${entry.name}`), '');
        }
      } else if (entry.isDirectory()) {
        pending.push(path);
      }
    }
  }
  for (const dir of await opaqueDirs(root)) {
    await writeFile(join(dir, '.wh..wh..opq'), '');
    for (const name of OPAQUE_XATTRS) await runTool('setfattr', ['-x', name, dir], { allowFailure: true });
  }
}

export async function upperToLayerDir(upper: string, lowerDirs: readonly string[]): Promise<void> {
  for (const rel of MOUNT_POINTS) {
    if (!(await existsIn(lowerDirs, rel))) {
      await dropEmpty(join(upper, rel));
      // A parent the runtime created only for the mount point goes too.
      const parent = dirname(rel);
      if (parent !== '.' && !(await existsIn(lowerDirs, parent))) await dropEmpty(join(upper, parent));
    }
  }
  await rm(join(upper, '.wh..wh..orph'), { recursive: true, force: true });
  await convertWhiteouts(upper);
}
