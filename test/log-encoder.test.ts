import { describe, expect, it } from 'vitest';
import { encodeLogChunk, tailStart, type LogChunkOptions } from '../translate/log-encoder.js';
import { clientCopiesBytes, FrameSplitter } from '../translate/frame-coalesce.js';
import { encodeLogLine, logTimeSeconds, parseLogLine, type LogLine } from '../translate/log-frames.js';
import { randomLog } from './harness/k8s-log.js';

/** The reader as it was: a string per line through parseLogLine/encodeLogLine; the bulk encoder must give the same bytes. */
function reference(data: Buffer, opts: LogChunkOptions, tail?: number): Buffer {
  const cut = data.lastIndexOf(0x0a);
  const lines = cut < 0 ? [] : data.subarray(0, cut).toString('utf8').split('\n');
  let parsed = lines.map(parseLogLine).filter((l): l is LogLine => l !== undefined);
  if (tail !== undefined) parsed = tail === 0 ? [] : parsed.slice(-tail);
  const wanted = (l: LogLine): boolean => {
    if (l.stream === 'stdout' ? !opts.stdout : !opts.stderr) return false;
    const t = logTimeSeconds(l.time);
    if (opts.since !== undefined && t < opts.since) return false;
    if (opts.until !== undefined && t > opts.until) return false;
    return true;
  };
  return Buffer.concat(parsed.filter(wanted).map((l) => encodeLogLine(l, opts)));
}

/** Frames → (stream, payload) with neighbours of one stream merged: what a client's demultiplexer hands on. */
function demux(wire: Buffer): { frames: number; runs: [number, string][]; list: [number, string][] } {
  const runs: [number, string][] = [];
  const list: [number, string][] = [];
  let frames = 0;
  for (let at = 0; at < wire.length; ) {
    const stream = wire[at];
    const len = wire.readUInt32BE(at + 4);
    expect(wire.subarray(at + 1, at + 4)).toEqual(Buffer.alloc(3));
    const payload = wire.subarray(at + 8, at + 8 + len).toString('latin1');
    frames++;
    list.push([stream, payload]);
    const last = runs[runs.length - 1];
    if (last && last[0] === stream) last[1] += payload;
    else runs.push([stream, payload]);
    at += 8 + len;
  }
  return { frames, runs, list };
}

const variants: LogChunkOptions[] = [
  { tty: false, timestamps: false, stdout: true, stderr: true },
  { tty: false, timestamps: false, stdout: true, stderr: false },
  { tty: false, timestamps: false, stdout: false, stderr: true },
  { tty: false, timestamps: true, stdout: true, stderr: true },
  { tty: true, timestamps: false, stdout: true, stderr: true },
  { tty: true, timestamps: true, stdout: true, stderr: true },
  { tty: false, timestamps: false, stdout: true, stderr: true, since: Date.parse('2026-11-27T19:13:20Z') / 1000, until: Date.parse('2026-11-27T19:13:40.5Z') / 1000 },
  { tty: false, timestamps: true, stdout: true, stderr: true, since: Date.parse('2026-11-27T19:13:30Z') / 1000 },
];

describe('bulk k8s-file log encoding', () => {
  it('gives exactly the bytes of the per-line encoder, a frame per line', () => {
    for (const seed of [1, 2, 3, 42]) {
      const data = randomLog(seed, 800);
      for (const opts of variants) expect(encodeLogChunk(data, opts).equals(reference(data, opts)), JSON.stringify(opts)).toBe(true);
    }
  });

  it('with coalesce and without timestamps, a run of one stream shares a frame, with the same bytes', () => {
    for (const seed of [1, 2, 3, 42]) {
      const data = randomLog(seed, 800);
      for (const plain of variants) {
        const opts = { ...plain, coalesce: true };
        const got = encodeLogChunk(data, opts);
        const want = reference(data, plain);
        if (opts.tty || opts.timestamps) {
          expect(got.equals(want), JSON.stringify(opts)).toBe(true);
          continue;
        }
        const g = demux(got);
        const w = demux(want);
        expect(g.runs).toEqual(w.runs);
        // Merged: a frame follows one of its stream only after a partial line, or as an empty partial line.
        g.list.forEach(([s, p], i) => {
          if (i > 0 && g.list[i - 1][0] === s && p !== '') expect(g.list[i - 1][1].endsWith('\n')).toBe(false);
        });
        expect(g.frames).toBeLessThan(w.frames);
      }
    }
  });

  it('encodes only the lines in [start, end)', () => {
    const data = randomLog(7, 200);
    const opts = variants[3];
    const mid = data.indexOf(0x0a, data.length >> 1) + 1;
    const parts = Buffer.concat([encodeLogChunk(data, opts, 0, mid), encodeLogChunk(data, opts, mid)]);
    expect(parts.equals(reference(data, opts))).toBe(true);
    expect(encodeLogChunk(data, opts, 5, 5).length).toBe(0);
  });

  it('finds where the last N log lines begin, counting both streams and skipping broken lines', () => {
    const data = randomLog(9, 300);
    for (const n of [0, 1, 2, 3, 10, 299, 300, 1000]) {
      for (const opts of [variants[0], variants[3], variants[1]]) {
        const got = encodeLogChunk(data, opts, tailStart(data, n));
        const want = reference(data, opts, n);
        if (opts.timestamps) expect(got.equals(want), `tail ${n}`).toBe(true);
        else expect(demux(got).runs, `tail ${n}`).toEqual(demux(want).runs);
      }
    }
    expect(tailStart(Buffer.alloc(0), 3)).toBe(0);
  });

  it('keeps the exact frame of a single stderr line and the TTY form', () => {
    const line = Buffer.from('2026-11-27T19:13:14.123456789+00:00 stderr F oops\n');
    const plain = { tty: false, timestamps: false, stdout: true, stderr: true };
    expect(encodeLogChunk(line, plain)).toEqual(Buffer.from('\x02\x00\x00\x00\x00\x00\x00\x05oops\n', 'latin1'));
    expect(encodeLogChunk(line, { ...plain, tty: true, timestamps: true }).toString()).toBe('2026-11-27T19:13:14.123456789Z oops\n');
    const yes = Buffer.from('t stdout F y\nt stdout F y\nt stdout P y\nt stderr F e\nt stdout F y\n');
    expect(encodeLogChunk(yes, { ...plain, coalesce: true })).toEqual(Buffer.from('\x01\x00\x00\x00\x00\x00\x00\x05y\ny\ny\x02\x00\x00\x00\x00\x00\x00\x02e\n\x01\x00\x00\x00\x00\x00\x00\x02y\n', 'latin1'));
  });
});

describe('frames for clients other than the docker CLI', () => {
  it('cutting merged frames after each newline gives back exactly a frame a line, across any chunk cuts', () => {
    for (const seed of [5, 6, 7]) {
      const data = randomLog(seed, 600);
      for (const plain of [variants[0], variants[1], variants[2], variants[6]]) {
        const perLine = encodeLogChunk(data, plain);
        const merged = encodeLogChunk(data, { ...plain, coalesce: true });
        expect(new FrameSplitter().push(merged).equals(perLine), JSON.stringify(plain)).toBe(true);
        const c = new FrameSplitter();
        const parts: Buffer[] = [];
        for (let at = 0, step = 1; at < merged.length; at += step, step = ((step * 7 + 3) % 97) + 1) parts.push(c.push(merged.subarray(at, Math.min(merged.length, at + step))));
        expect(c.end()).toBeUndefined();
        expect(Buffer.concat(parts).equals(perLine)).toBe(true);
      }
    }
  });

  it('leaves frames merged only for the docker CLI', () => {
    expect(clientCopiesBytes('Docker-Client/28.2.2 (linux)')).toBe(true);
    expect(clientCopiesBytes('docker-sdk-python/7.1.0')).toBe(false);
    expect(clientCopiesBytes(undefined)).toBe(false);
  });
});
