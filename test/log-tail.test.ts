import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileSource, findTailStart, type TailSource } from '../rootless/containers/log-tail.js';
import { tailStart } from '../translate/log-chunks.js';
import { parseTail } from '../translate/log-frames.js';
import { randomLog } from './harness/k8s-log.js';

/** An in-memory file that counts what the scan reads. */
function counted(data: Buffer): TailSource & { bytesRead: number } {
  const src = {
    size: data.length,
    bytesRead: 0,
    read: async (buf: Buffer, position: number): Promise<number> => {
      const n = data.copy(buf, 0, position, Math.min(data.length, position + buf.length));
      src.bytesRead += n;
      return n;
    },
  };
  return src;
}

/** Cuts a log after newlines into `parts` files (rotated files end with a whole line, as conmon leaves them). */
function splitFiles(log: Buffer, parts: number): Buffer[] {
  const files: Buffer[] = [];
  let from = 0;
  for (let i = 1; i < parts; i++) {
    const cut = log.indexOf(0x0a, Math.floor((log.length * i) / parts));
    if (cut < 0) break;
    files.push(log.subarray(from, cut + 1));
    from = cut + 1;
  }
  files.push(log.subarray(from));
  return files;
}

/** The global offset of a start found in a list of files. */
function globalOffset(files: readonly Buffer[], at: { file: number; offset: number }): number {
  return files.slice(0, at.file).reduce((n, f) => n + f.length, 0) + at.offset;
}

describe('--tail reads backwards', () => {
  it('finds where tailStart finds it over the whole log, across files, blocks and a line still being written', async () => {
    const whole = randomLog(11, 2000);
    // conmon is in the middle of a line: it is not counted, and a tail of 0 starts at it.
    const writing = Buffer.from('2026-11-27T19:13:14.123456789+00:00 stdout F not ye');
    const log = Buffer.concat([whole, writing]);
    for (const parts of [1, 2, 4]) {
      const files = splitFiles(log, parts);
      for (const block of [7, 100, 4096, 64 * 1024]) {
        for (const n of [0, 1, 2, 3, 17, 500, 1500, 1999, 2000, 5000]) {
          const at = await findTailStart(files.map(counted), n, block);
          expect(globalOffset(files, at), `files ${parts} block ${block} tail ${n}`).toBe(tailStart(whole, n));
        }
      }
    }
  });

  it('a current file with no newline yet, empty files and no files at all', async () => {
    const line = Buffer.from('2026-11-27T19:13:14.123456789+00:00 stdout F x\n');
    const partial = Buffer.from('2026-11-27T19:13:14.1234');
    expect(await findTailStart([counted(line), counted(partial)], 1, 8)).toEqual({ file: 0, offset: 0 });
    expect(await findTailStart([counted(line), counted(partial)], 0, 8)).toEqual({ file: 1, offset: 0 });
    expect(await findTailStart([counted(line), counted(Buffer.alloc(0))], 0)).toEqual({ file: 1, offset: 0 });
    expect(globalOffset([line, Buffer.alloc(0)], await findTailStart([counted(line), counted(Buffer.alloc(0))], 1))).toBe(0);
    expect(await findTailStart([], 5)).toEqual({ file: 0, offset: 0 });
  });

  it('reads a block, not the file, for a short tail of a big log (and about the tail for a long one)', async () => {
    const lines = 200_000;
    const line = (i: number): string => `2026-11-27T19:13:14.${String(i).padStart(9, '0')}+00:00 stdout F line ${i} ${'x'.repeat(60)}\n`;
    const log = Buffer.from(Array.from({ length: lines }, (_, i) => line(i)).join(''));
    expect(log.length).toBeGreaterThan(20 * 1024 * 1024);
    const short = counted(log);
    const at = await findTailStart([short], 10);
    expect(log.subarray(at.offset).toString()).toBe(Array.from({ length: 10 }, (_, i) => line(lines - 10 + i)).join(''));
    expect(short.bytesRead).toBeLessThanOrEqual(64 * 1024);
    // 20,000 lines are about 2 MB: the scan reads them and less than one more (doubling) block.
    const long = counted(log);
    const at2 = await findTailStart([long], 20_000);
    expect(log.subarray(at2.offset).toString().startsWith(line(lines - 20_000))).toBe(true);
    expect(long.bytesRead).toBeLessThan(log.length - at2.offset + 1024 * 1024);
    // An older file is not opened for reading when the current one holds the tail.
    const older = counted(log);
    await findTailStart([older, counted(log)], 10);
    expect(older.bytesRead).toBe(0);
  });

  it('reads real files through their handles', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'burrow-tail-'));
    try {
      const log = randomLog(5, 3000);
      const path = join(dir, 'ctr.log');
      await writeFile(path, log);
      const fh = await open(path, 'r');
      try {
        const at = await findTailStart([fileSource(fh, log.length)], 100, 512);
        expect(at).toEqual({ file: 0, offset: tailStart(log, 100) });
      } finally {
        await fh.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the tail parameter', () => {
  it('is read as dockerd reads it: strconv.Atoi, and all for anything else or a negative number', () => {
    expect(parseTail('10')).toBe(10);
    expect(parseTail('+3')).toBe(3);
    expect(parseTail('0')).toBe(0);
    expect(parseTail('-0')).toBe(0);
    expect(parseTail('007')).toBe(7);
    for (const all of [undefined, '', 'all', '-1', '-20', '1.5', ' 3', '3 ', '1e3', '0x10', 'ten', '9223372036854775808']) expect(parseTail(all), String(all)).toBeUndefined();
    expect(parseTail('9223372036854775807')).toBe(9223372036854775807);
  });
});
