/** Read access to an image's filesystem (COPY --from, /etc/passwd for --chown): its single layer, or a temporary overlay of its layers. */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readFileInRoot } from '../read-in-root.js';
import { invalidParameter } from '../../translate/errors.js';
import { parseGroup, parsePasswd } from '../../translate/container-config.js';
import { mountRootfs, rootfsPaths, unmountRootfs } from '../containers/rootfs.js';
import type { Owner } from './copy-layer.js';

export async function withImageRoot<T>(layerDirs: readonly string[], workDir: string, driver: string, fn: (root: string) => Promise<T>): Promise<T> {
  if (layerDirs.length === 1) return fn(layerDirs[0]);
  const dir = await mkdtemp(join(workDir, 'root-'));
  try {
    if (layerDirs.length === 0) {
      await mkdir(join(dir, 'empty'));
      return await fn(join(dir, 'empty'));
    }
    const paths = rootfsPaths(dir);
    await mountRootfs(paths, [...layerDirs], driver);
    try {
      return await fn(paths.merged);
    } finally {
      await unmountRootfs(paths, driver);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A file as the image shows it: the topmost layer that has it, read in scope within that layer (an
 * image whose /etc/passwd is a symlink out of it names nothing of the host's).
 */
async function imageFile(layerDirs: readonly string[], rel: string): Promise<string> {
  for (const d of layerDirs) {
    const text = await readFileInRoot(d, `/${rel}`);
    if (text !== '') return text;
  }
  return '';
}

/** `--chown=user[:group]`: names through the image's passwd/group; no group means the uid's number, as dockerd does. */
export async function resolveChown(spec: string, layerDirs: readonly string[]): Promise<Owner> {
  const [userPart, groupPart] = spec.split(':', 2);
  const numeric = (s: string): number | undefined => (/^\d+$/.test(s) ? Number(s) : undefined);
  let uid = numeric(userPart);
  if (uid === undefined) {
    const entry = parsePasswd(await imageFile(layerDirs, 'etc/passwd')).find((u) => u.name === userPart);
    if (!entry) throw invalidParameter(`unable to convert uid/gid chown string to host mapping: can't find uid for user ${userPart}: no such user: ${userPart}`);
    uid = entry.uid;
  }
  if (groupPart === undefined || groupPart === '') return { uid, gid: uid };
  let gid = numeric(groupPart);
  if (gid === undefined) {
    const entry = parseGroup(await imageFile(layerDirs, 'etc/group')).find((g) => g.name === groupPart);
    if (!entry) throw invalidParameter(`unable to convert uid/gid chown string to host mapping: can't find gid for group ${groupPart}: no such group: ${groupPart}`);
    gid = entry.gid;
  }
  return { uid, gid };
}
