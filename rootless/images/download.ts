/**
 * Streams one blob to a file while hashing it; the digest is checked before the file is used, and a
 * mismatch or oversize body aborts with the file removed.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { RegistryClient } from '../registry/client.js';
import type { Compression } from '../registry/media-types.js';

export class VerificationError extends Error {}

export interface BlobDescriptor {
  digest: string;
  size: number;
}

/** What a blob's bytes pass through on their way in: counted against the declared size, hashed, reported. */
export interface BlobMeter {
  meter: Transform;
  /** The digest of everything that passed, once the stream has ended. */
  digest(): string;
}

/**
 * `tee`, when given, sees each chunk as well; a promise it returns holds the stream back until it
 * settles (the slower consumer sets the pace). `onEnd` runs when the last byte has passed.
 */
export function blobMeter(desc: BlobDescriptor, onProgress: (current: number, total: number) => void, tee?: (chunk: Buffer) => Promise<void> | undefined, onEnd?: () => void): BlobMeter {
  const hash = createHash('sha256');
  let received = 0;
  const meter = new Transform({
    highWaterMark: 256 * 1024,
    transform(chunk: Buffer, _enc, done) {
      received += chunk.length;
      if (desc.size > 0 && received > desc.size) {
        done(new VerificationError(`filesystem layer verification failed for digest ${desc.digest}: more data than the ${desc.size} bytes the manifest declares`));
        return;
      }
      hash.update(chunk);
      onProgress(received, desc.size);
      const held = tee?.(chunk);
      if (held) void held.then(() => done(null, chunk));
      else done(null, chunk);
    },
    flush(done) {
      onEnd?.();
      done();
    },
  });
  return { meter, digest: () => 'sha256:' + hash.digest('hex') };
}

export async function downloadBlob(
  client: RegistryClient,
  desc: BlobDescriptor,
  file: string,
  onProgress: (current: number, total: number) => void,
  signal?: AbortSignal,
): Promise<void> {
  const res = await client.blob(desc.digest, signal);
  const { meter, digest } = blobMeter(desc, onProgress);
  try {
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>), meter, createWriteStream(file, { mode: 0o600 }));
    if (digest() !== desc.digest) throw new VerificationError(`filesystem layer verification failed for digest ${desc.digest}`);
  } catch (err) {
    await rm(file, { force: true });
    throw err;
  }
}

/** The diff ID (digest of the uncompressed tar); undefined where node cannot decompress (zstd). */
export async function uncompressedDigest(file: string, compression: Compression): Promise<string | undefined> {
  if (compression === 'zstd') return undefined;
  const hash = createHash('sha256');
  const sink = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      done();
    },
  });
  if (compression === 'gzip') await pipeline(createReadStream(file), createGunzip(), sink);
  else await pipeline(createReadStream(file), sink);
  return 'sha256:' + hash.digest('hex');
}
