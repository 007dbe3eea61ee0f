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
import type { Writable } from 'node:stream';
import { runTool, spawnStreamedTool } from '../exec.js';
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
  checkUntar(r.exitCode, r.stderr, refused);
}

/** Throws what an extraction that ended with `exitCode` (null: never ran or killed) means; see untar. */
function checkUntar(exitCode: number | null, stderr: string, refused: (stderr: string) => EngineError): void {
  if (exitCode === 0) return;
  if (exitCode === 2 && onlyDeviceFailures(stderr)) return;
  const disk = DISK_TROUBLE.exec(stderr);
  if (disk) throw internal(`failed to extract the archive: ${disk[0].toLowerCase()}`);
  throw refused(stderr);
}

/** How a layer is unpacked: owners and modes as the archive says (uid 0 of the user namespace). */
const LAYER_TAR_FLAGS = ['--numeric-owner', '--same-owner', '--same-permissions', '--no-acls', '--no-selinux', '--no-xattrs'];

export async function extractLayer(blobFile: string, compression: Compression, target: string): Promise<void> {
  const decompress = compression === 'gzip' ? ['-z'] : compression === 'zstd' ? ['--zstd'] : [];
  await untar([...decompress, '-f', blobFile, '-C', target, ...LAYER_TAR_FLAGS]);
  await convertWhiteouts(target);
}

/** GNU tar unpacking a plain layer tar written to `input`; `done` settles after tar exits, with untar's errors. */
export interface TarSink {
  input: Writable;
  done: Promise<void>;
}

export function layerTarSink(target: string): TarSink {
  const tar = spawnStreamedTool('tar', ['-x', '-f', '-', '-C', target, ...LAYER_TAR_FLAGS], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  tar.stderr?.on('data', (b: Buffer) => {
    if (stderr.length < 64 * 1024) stderr += b.toString('utf8');
  });
  // The exit may be told before the last of stderr arrives (the spawner relays it on its own connection).
  const stderrRead = new Promise<void>((resolve) => {
    if (!tar.stderr) return resolve();
    tar.stderr.once('close', () => resolve());
  });
  const exited = new Promise<number | null>((resolve) => {
    tar.once('exit', (code) => resolve(code));
    tar.once('error', (err) => {
      stderr ||= err.message;
      resolve(null);
    });
  });
  if (!tar.stdin) throw internal('tar: no input pipe');
  const done = Promise.all([exited, stderrRead]).then(([code]) => checkUntar(code, stderr, layerTarRefused));
  return { input: tar.stdin, done };
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

