/**
 * COPY/ADD into a fresh layer directory: parents that exist in the image keep their mode and
 * owner, new ones belong to the --chown identity (root by default), copied entries get that
 * owner (--chmod is refused before this: dockerd's classic builder needs BuildKit for it), and ADD
 * unpacks local archives.
 */
import { chown, lstat, mkdir, readdir } from 'node:fs/promises';
import { basename, join, posix } from 'node:path';
import { invalidParameter } from '../../translate/errors.js';
import { runTool } from '../exec.js';
import { untar } from '../images/unpack.js';

export interface Owner {
  uid: number;
  gid: number;
}

export interface CopyPlan {
  /** Where sources are read: the context, a stage's or image's merged root, a download dir. */
  root: string;
  sources: string[];
  /** Absolute destination in the image, trailing "/" kept. */
  dest: string;
  owner: Owner;
  /** ADD: local tar archives are unpacked into the destination. */
  extractArchives: boolean;
  /** Lower dirs of the image the layer goes on, top first. */
  lowerDirs: readonly string[];
  /** The layer being built. */
  layerDir: string;
}

async function statInImage(lowerDirs: readonly string[], rel: string): Promise<{ mode: number; uid: number; gid: number; dir: boolean } | undefined> {
  for (const d of lowerDirs) {
    const st = await lstat(join(d, rel)).catch(() => undefined);
    if (st) return { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, dir: st.isDirectory() };
  }
  return undefined;
}

/** Creates `rel` and its parents in the layer, mirroring existing image dirs. */
async function ensureDir(plan: CopyPlan, rel: string): Promise<void> {
  const parts = rel.split('/').filter((p) => p !== '');
  let cur = '';
  for (const part of parts) {
    cur = cur === '' ? part : `${cur}/${part}`;
    const target = join(plan.layerDir, cur);
    if (await lstat(target).catch(() => undefined)) continue;
    const existing = await statInImage(plan.lowerDirs, cur);
    await mkdir(target, { mode: existing?.dir ? existing.mode : 0o755 });
    if (existing?.dir) await chown(target, existing.uid, existing.gid);
    else await chown(target, plan.owner.uid, plan.owner.gid);
  }
}

async function isArchive(file: string): Promise<boolean> {
  const r = await runTool('tar', ['-t', '-f', file], { allowFailure: true });
  return r.exitCode === 0 && r.stdout.trim() !== '';
}

async function applyOwner(plan: CopyPlan, targets: string[]): Promise<void> {
  if (targets.length === 0) return;
  await runTool('chown', ['-R', '-h', `${plan.owner.uid}:${plan.owner.gid}`, '--', ...targets]);
}

export async function copyIntoLayer(plan: CopyPlan): Promise<void> {
  const dest = plan.dest;
  const destRel = posix.normalize(dest).replace(/^\/+/, '').replace(/\/+$/, '');
  const many = plan.sources.length > 1;
  if (many && !dest.endsWith('/')) throw invalidParameter('When using COPY with more than one source file, the destination must be a directory and end with a /');
  const destIsDir = dest.endsWith('/') || many || (await statInImage(plan.lowerDirs, destRel))?.dir === true;
  for (const rel of plan.sources) {
    const src = join(plan.root, rel);
    const st = await lstat(src);
    const targets: string[] = [];
    if (st.isDirectory()) {
      await ensureDir(plan, destRel);
      const into = join(plan.layerDir, destRel);
      const children = await readdir(src);
      if (children.length > 0) await runTool('cp', ['-a', '--', ...children.map((c) => join(src, c)), into + '/']);
      targets.push(...children.map((c) => join(into, c)));
    } else if (plan.extractArchives && st.isFile() && (await isArchive(src))) {
      await ensureDir(plan, destRel);
      const into = join(plan.layerDir, destRel);
      await untar(['-f', src, '-C', into, '--no-same-owner', '--no-acls', '--no-selinux', '--no-xattrs']);
      // dockerd keeps an archive's own ownership.
      continue;
    } else {
      const targetRel = destIsDir ? posix.join(destRel, basename(rel)) : destRel;
      const parent = posix.dirname(targetRel);
      if (parent !== '.' && parent !== '') await ensureDir(plan, parent);
      const target = join(plan.layerDir, targetRel);
      await runTool('cp', ['-a', '-T', '--', src, target]);
      targets.push(target);
    }
    await applyOwner(plan, targets);
  }
}
