/**
 * A pulled layer in one pass: the registry's bytes are hashed and kept as the blob file while, on
 * the same stream, they are decompressed, hashed again for the diff ID and unpacked by GNU tar.
 * Before, the whole blob was downloaded, then decompressed once to check its diff ID and a second
 * time by tar: two decompressions and no overlap with the download (a pull of six layers spent most
 * of its time there).
 *
 * The blob's digest still decides first: the unpacking is a branch that may fail (a corrupt or
 * hostile layer) without stopping the download, so a tampered blob is reported as a digest error,
 * as dockerd does, and never as whatever its bytes made gzip or tar say. What tar wrote meanwhile
 * is in the pull's private staging directory, which the caller removes on any failure.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { PassThrough, Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { invalidParameter } from '../../translate/errors.js';
import type { RegistryClient } from '../registry/client.js';
import { blobMeter, VerificationError, type BlobDescriptor } from './download.js';
import { layerTarSink } from './unpack.js';

/** Big enough that a 100 MB layer is a few hundred writes to tar, not thousands. */
const CHUNK_BYTES = 256 * 1024;

export interface UnpackBranch {
  /** Where the layer's compressed (or plain) bytes are written. */
  head: Writable;
  /** The diff ID once tar has unpacked everything; rejects with tar's or gzip's refusal. */
  diffId: Promise<string>;
}

/** Decompression (gzip, or none for a plain tar), the diff ID's hash and GNU tar, as one writable. */
export function unpackBranch(compression: 'gzip' | 'none', target: string): UnpackBranch {
  const hash = createHash('sha256');
  const hasher = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  const head: Transform = compression === 'gzip' ? createGunzip({ chunkSize: CHUNK_BYTES }) : new PassThrough({ highWaterMark: CHUNK_BYTES });
  const tar = layerTarSink(target);
  const piped = pipeline(head, hasher, tar.input).then(
    () => undefined,
    (err: unknown) => err,
  );
  const diffId = Promise.all([piped, tar.done.then(() => undefined, (err: unknown) => err)]).then(([pipeErr, tarErr]) => {
    // zlib's own complaint is the cause when it has one (tar then only saw its input cut short).
    if (isZlibError(pipeErr)) throw invalidParameter(/unexpected end of file/i.test(pipeErr.message) ? 'unexpected EOF' : 'gzip: invalid header');
    if (tarErr !== undefined) throw tarErr;
    if (pipeErr !== undefined) throw pipeErr;
    return 'sha256:' + hash.digest('hex');
  });
  // Settled by the caller; never an unhandled rejection when the download fails first.
  diffId.catch(() => undefined);
  return { head, diffId };
}

function isZlibError(err: unknown): err is Error {
  const code = err instanceof Error ? (err as Error & { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('Z_');
}

/**
 * Downloads one blob into `blobFile` and unpacks it into `target` on the way; returns the diff ID.
 * A failed download (retryable) rejects with its own error; a digest mismatch or an oversize body
 * with VerificationError; otherwise an unpacking failure with its refusal.
 */
export async function downloadAndUnpack(
  client: RegistryClient,
  desc: BlobDescriptor,
  compression: 'gzip' | 'none',
  blobFile: string,
  target: string,
  onProgress: (current: number, total: number) => void,
  signal?: AbortSignal,
): Promise<string> {
  const res = await client.blob(desc.digest, signal);
  const branch = unpackBranch(compression, target);
  let branchOpen = true;
  const branchGone = new Promise<void>((resolve) => {
    branch.head.once('close', resolve);
    branch.head.once('error', resolve);
  }).then(() => {
    branchOpen = false;
  });
  // An unpacking that failed is skipped: the download goes on, so the digest can still decide.
  const toBranch = (chunk: Buffer): Promise<void> | undefined => {
    if (!branchOpen || branch.head.write(chunk)) return undefined;
    return Promise.race([new Promise<void>((resolve) => branch.head.once('drain', resolve)), branchGone]);
  };
  const { meter, digest } = blobMeter(desc, onProgress, toBranch, () => {
    if (branchOpen) branch.head.end();
  });
  try {
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>), meter, createWriteStream(blobFile, { mode: 0o600 }));
  } catch (err) {
    branch.head.destroy();
    await branch.diffId.catch(() => undefined);
    throw err;
  }
  const diffId = branch.diffId;
  if (digest() !== desc.digest) {
    await diffId.catch(() => undefined);
    throw new VerificationError(`filesystem layer verification failed for digest ${desc.digest}`);
  }
  return diffId;
}
