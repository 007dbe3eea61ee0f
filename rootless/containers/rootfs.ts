/**
 * A container's root filesystem: an overlay of the image's layer dirs with a private upper/work
 * pair, mounted in the engine's mount namespace on start and unmounted after exit.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { runTool } from '../exec.js';
import { mountOverlay, unmount } from '../mounts.js';
import { readMountInfo } from '../mountinfo.js';

export interface RootfsPaths {
  upper: string;
  work: string;
  merged: string;
  /** Stands in as the only lower dir of an image without layers. */
  empty: string;
}

export function rootfsPaths(containerDir: string): RootfsPaths {
  return {
    upper: join(containerDir, 'upper'),
    work: join(containerDir, 'work'),
    merged: join(containerDir, 'merged'),
    empty: join(containerDir, 'empty'),
  };
}

export async function isMounted(path: string): Promise<boolean> {
  return (await readMountInfo()).some((m) => m.target === path);
}

export async function mountRootfs(p: RootfsPaths, layerDirs: string[], driver: string): Promise<void> {
  await Promise.all([p.upper, p.work, p.merged].map((d) => mkdir(d, { recursive: true, mode: 0o755 })));
  if (await isMounted(p.merged)) return;
  let lowers = layerDirs;
  if (lowers.length === 0) {
    await mkdir(p.empty, { recursive: true });
    lowers = [p.empty];
  }
  const opts = `lowerdir=${lowers.join(':')},upperdir=${p.upper},workdir=${p.work}`;
  if (driver === 'fuse-overlayfs') {
    await runTool('fuse-overlayfs', ['-o', opts, p.merged]);
  } else {
    await mountOverlay(p.merged, `${opts},userxattr`);
  }
}

export async function unmountRootfs(p: RootfsPaths, driver: string): Promise<void> {
  if (!(await isMounted(p.merged))) return;
  if (driver === 'fuse-overlayfs') await runTool('fusermount3', ['-u', p.merged], { allowFailure: true });
  if (await isMounted(p.merged)) await unmount(p.merged);
  // A process that still holds the mount (a straggler in the container) must not block removal.
  if (await isMounted(p.merged)) await unmount(p.merged, true);
}
