/**
 * `--tail N` without reading the whole log: the files are read backwards from their end, a block
 * at a time, until N log lines are found; the reader then streams forward from there. Only what
 * the tail covers (plus at most a block) is read, however big the log.
 */
import type { FileHandle } from 'node:fs/promises';
import { tailScan } from '../../translate/log-chunks.js';

const NL = 0x0a;

/** One log file as the scan sees it: its size when the read began, and positioned reads. */
export interface TailSource {
  size: number;
  /** Reads up to buf.length bytes at `position`; the count read (0 at the end). */
  read(buf: Buffer, position: number): Promise<number>;
}

export function fileSource(fh: FileHandle, size: number): TailSource {
  return { size, read: async (buf, position) => (await fh.read(buf, 0, buf.length, position)).bytesRead };
}

/** Where the tail begins: a file (index into the sources) and an offset in it. */
export interface TailStart {
  file: number;
  offset: number;
}

/** The first block read from a file's end; later ones double up to MAX_BLOCK, so a long tail takes few reads. */
const FIRST_BLOCK = 64 * 1024;
const MAX_BLOCK = 1024 * 1024;

async function readFully(src: TailSource, buf: Buffer, position: number): Promise<Buffer> {
  let got = 0;
  while (got < buf.length) {
    const n = await src.read(buf.subarray(got), position + got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

/**
 * Where the last `n` log lines of the sources (oldest first; the last one the file conmon writes)
 * begin. Lines are counted as tailStart counts them: every log line of either stream, and each
 * chunk of a line conmon split (`P`) on its own, as dockerd's json-file counts the entries of a
 * message it split; since/until and the stream choice filter these N afterwards. The bytes
 * after the last file's last newline are a line conmon is still writing: they are not counted, and
 * with n = 0 the tail starts at them (a follower gets that line once it is whole). Fewer than `n`
 * lines in all: the start of the first file.
 */
export async function findTailStart(sources: readonly TailSource[], n: number, firstBlock = FIRST_BLOCK): Promise<TailStart> {
  let wanted = Math.max(0, n);
  for (let file = sources.length - 1; file >= 0; file--) {
    const src = sources[file] as TailSource;
    let writing = file === sources.length - 1;
    let pos = src.size;
    // Bytes from `pos` on that end inside a line whose start is not read yet.
    let rest: Buffer = Buffer.alloc(0);
    let block = firstBlock;
    while (pos > 0) {
      const len = Math.min(block, pos);
      block = Math.min(block * 2, MAX_BLOCK);
      pos -= len;
      const read = await readFully(src, Buffer.allocUnsafe(len), pos);
      // A file that shrank under the scan was rewritten in place: the forward read starts it over.
      if (read.length < len) return { file, offset: 0 };
      let data: Buffer = rest.length > 0 ? Buffer.concat([read, rest]) : read;
      if (writing) {
        const last = data.lastIndexOf(NL);
        if (last < 0 && pos > 0) {
          rest = data;
          continue;
        }
        data = data.subarray(0, last + 1);
        writing = false;
      }
      // Complete lines: all of them at the file's start, otherwise those after the first newline.
      const first = pos === 0 ? -1 : data.indexOf(NL);
      if (pos > 0 && first < 0) {
        rest = data;
        continue;
      }
      const { at, found } = tailScan(data, wanted, first + 1, data.length);
      if (found === wanted) return { file, offset: pos + at };
      wanted -= found;
      rest = Buffer.from(data.subarray(0, first + 1));
    }
    if (wanted === 0) return { file, offset: 0 };
  }
  return { file: 0, offset: 0 };
}
