/** Layer blob files on disk: compression sniffing, digests and gzip, all streamed. */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { compressionOf, type SniffedCompression } from '../../translate/compression.js';

/** What a file's first bytes say it is, as dockerd's DetectCompression does. */
export async function sniffCompression(file: string): Promise<SniffedCompression> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(6);
    const { bytesRead } = await fh.read(buf, 0, 6, 0);
    return compressionOf(buf.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

function hasher(onChunk?: (n: number) => void): { meter: Transform; digest: () => string; size: () => number } {
  const hash = createHash('sha256');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      onChunk?.(size);
      done(null, chunk);
    },
  });
  return { meter, digest: () => 'sha256:' + hash.digest('hex'), size: () => size };
}

export async function fileDigest(file: string): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { digest: 'sha256:' + hash.digest('hex'), size };
}

/** gzip `src` into `dst`; the digest and size of what was written. */
export async function gzipFile(src: string, dst: string): Promise<{ digest: string; size: number }> {
  const h = hasher();
  await pipeline(createReadStream(src), createGzip({ level: 6 }), h.meter, createWriteStream(dst, { mode: 0o600 }));
  return { digest: h.digest(), size: h.size() };
}

/** A write stream to `file` that hashes and counts on the way; for request bodies streamed to disk. */
export async function streamToFile(source: NodeJS.ReadableStream, file: string): Promise<{ digest: string; size: number }> {
  const h = hasher();
  await pipeline(source, h.meter, createWriteStream(file, { mode: 0o600 }));
  return { digest: h.digest(), size: h.size() };
}
