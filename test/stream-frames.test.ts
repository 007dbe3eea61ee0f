import { describe, expect, it } from 'vitest';
import { logChunks, RUN_BYTES, tailStart, type LogChunkOptions } from '../translate/log-chunks.js';
import { clientCopiesBytes, encodeChunks, RUN_FRAME, type FrameOptions } from '../translate/stream-frames.js';
import { dockerTimestamp, logTimeSeconds, parseLogLine, type LogLine } from '../translate/log-frames.js';
import type { OutputChunk } from '../rootless/containers/interface.js';
import { detailsPrefix, logAttributes } from '../translate/log-attrs.js';
import { randomLog } from './harness/k8s-log.js';

/** What the engine reads and the API frames, together. */
type Variant = LogChunkOptions & { tty: boolean; since?: number; until?: number };

function frame(stream: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

/** dockerd's bytes, a line at a time through parseLogLine: a frame a log entry (raw under a TTY), the time first with timestamps. */
function reference(data: Buffer, opts: Variant, tail?: number): Buffer {
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
  const encode = (l: LogLine): Buffer => {
    const body = l.partial ? l.text : `${l.text}\n`;
    const payload = Buffer.from(opts.timestamps ? `${dockerTimestamp(l.time)} ${body}` : body, 'utf8');
    return opts.tty ? payload : frame(l.stream === 'stderr' ? 2 : 1, payload);
  };
  return Buffer.concat(parsed.filter(wanted).map(encode));
}

/** The wire bytes through the engine's chunks and the API's framing. */
function wire(data: Buffer, opts: Variant, framing: Omit<FrameOptions, 'tty' | 'timestamps'>, start?: number): Buffer {
  return encodeChunks(logChunks(data, opts, start), { tty: opts.tty, timestamps: opts.timestamps, ...framing });
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

const variants: Variant[] = [
  { tty: false, timestamps: false, stdout: true, stderr: true },
  { tty: false, timestamps: false, stdout: true, stderr: false },
  { tty: false, timestamps: false, stdout: false, stderr: true },
  { tty: false, timestamps: true, stdout: true, stderr: true },
  { tty: true, timestamps: false, stdout: true, stderr: true },
  { tty: true, timestamps: true, stdout: true, stderr: true },
  { tty: false, timestamps: false, stdout: true, stderr: true, since: Date.parse('2026-11-27T19:13:20Z') / 1000, until: Date.parse('2026-11-27T19:13:40.5Z') / 1000 },
  { tty: false, timestamps: true, stdout: true, stderr: true, since: Date.parse('2026-11-27T19:13:30Z') / 1000 },
];

describe('log chunks framed for the wire', () => {
  it("a frame a line gives exactly dockerd's bytes, for every stream choice, filter, TTY and timestamps", () => {
    for (const seed of [1, 2, 3, 42]) {
      const data = randomLog(seed, 800);
      for (const opts of variants) expect(wire(data, opts, { cut: 'line' }).equals(reference(data, opts)), JSON.stringify(opts)).toBe(true);
    }
  });

  it('a frame a run (the docker CLI) has the same bytes per stream in the same order, in fewer frames', () => {
    for (const seed of [1, 2, 3, 42]) {
      const data = randomLog(seed, 800);
      for (const opts of variants) {
        const got = wire(data, opts, { cut: 'run' });
        const want = reference(data, opts);
        if (opts.tty) {
          expect(got.equals(want), JSON.stringify(opts)).toBe(true);
          continue;
        }
        const g = demux(got);
        const w = demux(want);
        expect(g.runs).toEqual(w.runs);
        // Far below RUN_FRAME: a frame a run of one stream.
        expect(g.frames).toBe(g.runs.length);
        expect(g.frames).toBeLessThan(w.frames);
      }
    }
  });

  it('reads cut anywhere between lines give the same bytes as one read', () => {
    const data = randomLog(7, 200);
    for (const opts of [variants[0], variants[3]]) {
      const mid = data.indexOf(0x0a, data.length >> 1) + 1;
      const parts = Buffer.concat([encodeChunks(logChunks(data, opts, 0, mid), { tty: false, timestamps: opts.timestamps, cut: 'line' }), wire(data, opts, { cut: 'line' }, mid)]);
      expect(parts.equals(reference(data, opts))).toBe(true);
    }
    expect(logChunks(data, variants[0], 5, 5)).toEqual([]);
  });

  it('finds where the last N log lines begin, counting both streams and skipping broken lines', () => {
    const data = randomLog(9, 300);
    for (const n of [0, 1, 2, 3, 10, 299, 300, 1000]) {
      for (const opts of [variants[0], variants[3], variants[1]]) {
        expect(wire(data, opts, { cut: 'line' }, tailStart(data, n)).equals(reference(data, opts, n)), `tail ${n}`).toBe(true);
      }
    }
    expect(tailStart(Buffer.alloc(0), 3)).toBe(0);
  });

  it('keeps the exact frame of a single stderr line and the TTY form', () => {
    const line = Buffer.from('2026-11-27T19:13:14.123456789+00:00 stderr F oops\n');
    const plain: Variant = { tty: false, timestamps: false, stdout: true, stderr: true };
    expect(wire(line, plain, {})).toEqual(Buffer.from('\x02\x00\x00\x00\x00\x00\x00\x05oops\n', 'latin1'));
    expect(wire(line, { ...plain, tty: true, timestamps: true }, {}).toString()).toBe('2026-11-27T19:13:14.123456789Z oops\n');
    const yes = Buffer.from('t stdout F y\nt stdout F y\nt stdout P y\nt stderr F e\nt stdout F y\n');
    expect(wire(yes, plain, {})).toEqual(Buffer.from('\x01\x00\x00\x00\x00\x00\x00\x05y\ny\ny\x02\x00\x00\x00\x00\x00\x00\x02e\n\x01\x00\x00\x00\x00\x00\x00\x02y\n', 'latin1'));
  });
});

describe('batching of log chunks', () => {
  const T = '2026-12-03T11:07:05.123456789+00:00';
  const all = { stdout: true, stderr: true, timestamps: false };

  it('interleaved streams keep their order, a chunk a run; a partial line ends its chunk; timestamps give a chunk a line', () => {
    const log = Buffer.from(`${T} stdout F a\n${T} stdout F b\n${T} stderr F c\n${T} stdout P d\n${T} stdout F e\n${T} stderr P \n${T} stderr F f\n`);
    const view = (cs: OutputChunk[]): [string, string, string?][] => cs.map((c) => (c.time ? [c.stream, c.data.toString(), c.time] : [c.stream, c.data.toString()]));
    expect(view(logChunks(log, all))).toEqual([
      ['stdout', 'a\nb\n'],
      ['stderr', 'c\n'],
      ['stdout', 'd'],
      ['stdout', 'e\n'],
      ['stderr', ''],
      ['stderr', 'f\n'],
    ]);
    expect(view(logChunks(log, { ...all, timestamps: true }))).toEqual([
      ['stdout', 'a\n', T],
      ['stdout', 'b\n', T],
      ['stderr', 'c\n', T],
      ['stdout', 'd', T],
      ['stdout', 'e\n', T],
      ['stderr', '', T],
      ['stderr', 'f\n', T],
    ]);
    expect(view(logChunks(log, { ...all, stdout: false }))).toEqual([
      ['stderr', 'c\n'],
      ['stderr', ''],
      ['stderr', 'f\n'],
    ]);
  });

  it('runs are cut between lines at RUN_BYTES; a line longer than that stays whole', () => {
    const short = `${T} stdout F ${'x'.repeat(99)}\n`.repeat(2000);
    const long = `${T} stdout F ${'L'.repeat(100_000)}\n`;
    const log = Buffer.from(short + long + short);
    const chunks = logChunks(log, all);
    expect(Buffer.concat(chunks.map((c) => c.data)).toString()).toBe(`${'x'.repeat(99)}\n`.repeat(2000) + `${'L'.repeat(100_000)}\n` + `${'x'.repeat(99)}\n`.repeat(2000));
    for (const c of chunks) {
      expect(c.data[c.data.length - 1]).toBe(0x0a);
      // At most one line beyond the cut.
      const lastLine = c.data.length - 1 - c.data.lastIndexOf(0x0a, c.data.length - 2);
      expect(c.data.length - lastLine).toBeLessThan(RUN_BYTES);
    }
    expect(chunks.some((c) => c.data.length > 100_000)).toBe(true);
    // For clients that see frames, the long line is one frame too.
    const frames = demux(encodeChunks(chunks, { tty: false, cut: 'line' }));
    expect(frames.frames).toBe(4001);
    expect(frames.list[2000]).toEqual([1, `${'L'.repeat(100_000)}\n`]);
  });

  it('frames chunks of attach and exec as they come, raw under a TTY', () => {
    const chunks: OutputChunk[] = [
      { stream: 'stdout', data: Buffer.from('no newline') },
      { stream: 'stderr', data: Buffer.from('e1\ne2\n') },
    ];
    expect(encodeChunks(chunks, { tty: false })).toEqual(Buffer.concat([frame(1, Buffer.from('no newline')), frame(2, Buffer.from('e1\ne2\n'))]));
    expect(encodeChunks(chunks, { tty: true }).toString()).toBe('no newlinee1\ne2\n');
    expect(encodeChunks([], { tty: false }).length).toBe(0);
  });

  it('a run frame gathers chunks of one stream (partial lines, timestamps) up to RUN_FRAME', () => {
    const piece = (stream: 'stdout' | 'stderr', text: string): OutputChunk => ({ stream, data: Buffer.from(text) });
    const chunks = [piece('stdout', 'a'), piece('stdout', ''), piece('stdout', 'b\n'), piece('stderr', 'e'), piece('stdout', 'c\n')];
    expect(demux(encodeChunks(chunks, { tty: false, cut: 'run' })).list).toEqual([
      [1, 'ab\n'],
      [2, 'e'],
      [1, 'c\n'],
    ]);
    const timed = [{ ...piece('stdout', 'x\n'), time: '2026-12-03T11:07:05.5+00:00' }, { ...piece('stdout', 'y\n'), time: '2026-12-03T11:07:06+01:00' }];
    expect(demux(encodeChunks(timed, { tty: false, timestamps: true, cut: 'run' })).list).toEqual([[1, '2026-12-03T11:07:05.5Z x\n2026-12-03T10:07:06Z y\n']]);
    const big = Array.from({ length: 10 }, () => piece('stdout', `${'z'.repeat(9999)}\n`));
    const sizes = demux(encodeChunks([...big, piece('stdout', 'q'.repeat(RUN_FRAME + 1))], { tty: false, cut: 'run' })).list.map(([, p]) => p.length);
    expect(sizes).toEqual([60_000, 40_000, RUN_FRAME + 1]);
  });

  it('leaves frames merged only for the docker CLI', () => {
    expect(clientCopiesBytes('Docker-Client/28.2.2 (linux)')).toBe(true);
    expect(clientCopiesBytes('docker-sdk-python/7.1.0')).toBe(false);
    expect(clientCopiesBytes(undefined)).toBe(false);
  });
});

describe('logs --details', () => {
  const source = { labels: { a: 'x y', b: 'no', 'com.example/z': 'ü' }, env: ['FOO=bar', 'PATH=/bin', 'EMPTY='], id: 'f'.repeat(64), name: 'web', imageId: `sha256:${'e'.repeat(64)}`, imageName: 'busybox:1' };

  it("records json-file's labels, env, their regexes and the tag, and nothing for local", () => {
    const attrs = logAttributes({ ...source, logConfig: { Type: 'json-file', Config: { labels: 'a,missing', 'labels-regex': '^com\\.', env: 'FOO,EMPTY', 'env-regex': '^PA', tag: '{{.Name}}/{{.ID}}/{{.ImageName}}/{{.Unknown}}' } } });
    expect(attrs).toEqual({ a: 'x y', 'com.example/z': 'ü', FOO: 'bar', EMPTY: '', PATH: '/bin', tag: `web/${'f'.repeat(12)}/busybox:1/{{.Unknown}}` });
    expect(logAttributes({ ...source, logConfig: { Type: 'local', Config: { labels: 'a' } } })).toEqual({});
    expect(logAttributes({ ...source, logConfig: undefined })).toEqual({});
  });

  it("prints them as dockerd does: sorted, query-escaped, then a space, after the time", () => {
    expect(detailsPrefix({})).toBe(' ');
    expect(detailsPrefix({ b: 'x y', a: 'ü/~', C: '1' })).toBe('C=1,a=%C3%BC%2F~,b=x+y ');
    const T = '2026-12-03T11:07:05.123456789+00:00';
    const log = Buffer.from(`${T} stdout F one\n${T} stdout P tw\n${T} stdout F o\n`);
    const chunks = logChunks(log, { stdout: true, stderr: true, timestamps: true });
    expect(demux(encodeChunks(chunks, { tty: false, cut: 'line', details: 'k=v ' })).list).toEqual([
      [1, 'k=v one\n'],
      [1, 'k=v tw'],
      [1, 'k=v o\n'],
    ]);
    expect(encodeChunks(chunks, { tty: true, timestamps: true, details: ' ' }).toString()).toBe('2026-12-03T11:07:05.123456789Z  one\n2026-12-03T11:07:05.123456789Z  tw2026-12-03T11:07:05.123456789Z  o\n');
  });
});
