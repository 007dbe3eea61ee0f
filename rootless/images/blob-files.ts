/** Layer blob files on disk: compression sniffing, digests and gzip, all streamed. */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { Compression } from '../registry/media-types.js';

export type SniffedCompression = Compression | 'bzip2' | 'xz';

/** What a file's first bytes say it is, as dockerd's DetectCompression does. */
export async function sniffCompression(file: string): Promise<SniffedCompression> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(6);
    const { bytesRead } = await fh.read(buf, 0, 6, 0);
    const b = buf.subarray(0, bytesRead);
    if (b.length >= 3 && b[0] === 0x1f && b[1] === 0x8b && b[2] === 0x08) return 'gzip';
    if (b.length >= 3 && b.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
    if (b.length >= 6 && b.equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
    if (b.length >= 4 && b.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
    return 'none';
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
