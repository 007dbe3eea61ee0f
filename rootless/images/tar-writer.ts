/**
 * A minimal streaming tar (ustar) writer for archives Burrow produces itself (docker save): names
 * are short and known, files are streamed from disk, nothing is buffered beyond one chunk.
 */
import { createReadStream } from 'node:fs';

export type TarSource =
  | { name: string; type: 'dir'; mtime?: number }
  | { name: string; type: 'data'; data: Buffer; mtime?: number }
  | { name: string; type: 'file'; path: string; size: number; mtime?: number };

const BLOCK = 512;
const OCTAL_SIZE_MAX = 8 ** 11;

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function header(src: TarSource): Buffer {
  const h = Buffer.alloc(BLOCK);
  const name = src.type === 'dir' && !src.name.endsWith('/') ? `${src.name}/` : src.name;
  if (Buffer.byteLength(name) > 100) throw new Error(`tar entry name too long: ${name}`);
  const size = src.type === 'data' ? src.data.length : src.type === 'file' ? src.size : 0;
  h.write(name, 0, 100, 'utf8');
  h.write(octal(src.type === 'dir' ? 0o755 : 0o644, 8), 100, 8, 'latin1');
  h.write(octal(0, 8), 108, 8, 'latin1');
  h.write(octal(0, 8), 116, 8, 'latin1');
  if (size < OCTAL_SIZE_MAX) h.write(octal(size, 12), 124, 12, 'latin1');
  else {
    // GNU base-256 for sizes beyond 8 GiB.
    h[124] = 0x80;
    h.writeBigUInt64BE(BigInt(size), 128);
  }
  h.write(octal(Math.max(0, Math.floor(src.mtime ?? 0)), 12), 136, 12, 'latin1');
  h.write('        ', 148, 8, 'latin1');
  h.write(src.type === 'dir' ? '5' : '0', 156, 1, 'latin1');
  h.write('ustar\0', 257, 6, 'latin1');
  h.write('00', 263, 2, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + ' ', 148, 8, 'latin1');
  return h;
}

const padding = (size: number): Buffer => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);

/** Yields the archive's bytes; a file that changed size under us is an error, never a corrupt archive. */
export async function* tarStream(entries: AsyncIterable<TarSource> | Iterable<TarSource>): AsyncGenerator<Buffer> {
  for await (const src of entries) {
    yield header(src);
    if (src.type === 'data') {
      yield src.data;
      yield padding(src.data.length);
    } else if (src.type === 'file') {
      let sent = 0;
      for await (const chunk of createReadStream(src.path)) {
        const b = chunk as Buffer;
        sent += b.length;
        if (sent > src.size) throw new Error(`${src.path} grew while being archived`);
        yield b;
      }
      if (sent !== src.size) throw new Error(`${src.path} shrank while being archived`);
      yield padding(src.size);
    }
  }
  yield Buffer.alloc(BLOCK * 2);
}
