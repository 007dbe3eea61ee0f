/**
 * Unpacks one layer blob into a directory with GNU tar, as uid 0 of the engine's user namespace so
 * ownership survives, then rewrites OCI whiteouts into the kernel overlay format the storage
 * drivers read: `.wh.NAME` → char device 0:0 NAME, `.wh..wh..opq` → xattr user.overlay.opaque=y.
 *
 * GNU tar is the path-traversal guard: it strips leading `/`, refuses members containing `..`, and
 * creates symlinks pointing outside (absolute or `..` targets) only after all members are written,
 * so no member is ever written through one. test/images.test.ts proves this with a hostile layer.
 */
import { readdir, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { runTool } from '../exec.js';
import type { Compression } from '../registry/media-types.js';
import { internal, type EngineError } from '../../translate/errors.js';
import { layerTarRefused, onlyDeviceFailures } from '../../translate/tar-errors.js';

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';
export const OPAQUE_XATTR = 'user.overlay.opaque';

/** The disk, not the archive, is at fault: a real internal error, worded without tar's prefix. */
const DISK_TROUBLE = /No space left on device|Disk quota exceeded|Read-only file system/;

/**
 * GNU tar extraction (`args` after `-x`) as every unpack of a client's or registry's archive wants
 * it: device nodes the archive holds are skipped (tar makes everything else and exits 2, each
 * failure being `Cannot mknod`), as rootless dockerd skips them; any other refusal is the archive's
 * fault, reported in dockerd's (Go's) words by `refused`, never with tar's raw stderr.
 */
export async function untar(args: readonly string[], refused: (stderr: string) => EngineError = layerTarRefused): Promise<void> {
  const r = await runTool('tar', ['-x', ...args], { allowFailure: true });
  if (r.exitCode === 0) return;
  if (r.exitCode === 2 && onlyDeviceFailures(r.stderr)) return;
  const disk = DISK_TROUBLE.exec(r.stderr);
  if (disk) throw internal(`failed to extract the archive: ${disk[0].toLowerCase()}`);
  throw refused(r.stderr);
}

export async function extractLayer(blobFile: string, compression: Compression, target: string): Promise<void> {
  const decompress = compression === 'gzip' ? ['-z'] : compression === 'zstd' ? ['--zstd'] : [];
  await untar([...decompress, '-f', blobFile, '-C', target, '--numeric-owner', '--same-owner', '--same-permissions', '--no-acls', '--no-selinux', '--no-xattrs']);
  await convertWhiteouts(target);
}

/** Walks the unpacked tree (never following symlinks) and converts whiteout markers in place. */
export async function convertWhiteouts(root: string): Promise<void> {
  const pending = [root];
  while (pending.length > 0) {
    const dir = pending.pop() as string;
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.name === OPAQUE_MARKER) {
        await unlink(path);
        await runTool('setfattr', ['-n', OPAQUE_XATTR, '-v', 'y', dir]);
      } else if (entry.name.startsWith(WHITEOUT_PREFIX)) {
        const hidden = join(dir, entry.name.slice(WHITEOUT_PREFIX.length));
        await rm(path, { recursive: true, force: true });
        // A layer that carries both the file and its whiteout means "deleted": the whiteout wins.
        await rm(hidden, { recursive: true, force: true });
        await runTool('mknod', ['-m', '0', hidden, 'c', '0', '0']);
      } else if (entry.isDirectory()) {
        pending.push(path);
      }
    }
  }
}

