import { mkdtemp, mkdir, rm, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { runTool } from '../exec.js';

export type StorageDriverName = 'overlay2' | 'fuse-overlayfs';

export interface StorageDriverChoice {
  name: StorageDriverName;
  driverStatus: [string, string][];
}

/** statfs magic numbers of the filesystems dockerd names in "Backing Filesystem". */
const fsNames: Record<number, string> = {
  0xef53: 'extfs',
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0x01021994: 'tmpfs',
  0x794c7630: 'overlayfs',
  0x65735546: 'fuse',
};

export async function backingFilesystem(dir: string): Promise<string> {
  const st = await statfs(dir);
  return fsNames[Number(st.type)] ?? `0x${Number(st.type).toString(16)}`;
}

/**
 * Decides the storage driver from inside the engine's user+mount namespace by mounting a real
 * overlay: kernel overlayfs with userxattr when the kernel allows it, fuse-overlayfs otherwise.
 */
export async function chooseStorageDriver(scratchParent: string, fuseOverlayfs: string | undefined): Promise<StorageDriverChoice> {
  await mkdir(scratchParent, { recursive: true });
  const backing = await backingFilesystem(scratchParent);
  const dir = await mkdtemp(join(scratchParent, 'probe-'));
  const [lower, upper, work, merged] = ['l', 'u', 'w', 'm'].map((n) => join(dir, n));
  try {
    await Promise.all([lower, upper, work, merged].map((d) => mkdir(d)));
    const kernel = await runTool('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work},userxattr`, merged], { allowFailure: true });
    if (kernel.exitCode === 0) {
      await runTool('umount', [merged]);
      return {
        name: 'overlay2',
        driverStatus: [
          ['Backing Filesystem', backing],
          ['Supports d_type', 'true'],
          ['Using metacopy', 'false'],
          ['Native Overlay Diff', 'false'],
          ['userxattr', 'true'],
        ],
      };
    }
    if (fuseOverlayfs) {
      await runTool(fuseOverlayfs, ['-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, merged]);
      await runTool('fusermount3', ['-u', merged], { allowFailure: true });
      return { name: 'fuse-overlayfs', driverStatus: [['Backing Filesystem', backing]] };
    }
    throw new Error(`no usable storage driver: kernel overlayfs failed (${kernel.stderr.trim()}) and fuse-overlayfs is not installed`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
