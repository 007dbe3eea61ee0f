/**
 * conmon's k8s-file log (`<RFC3339Nano> stdout|stderr F|P <text>\n` lines) → output chunks, in
 * bulk on Buffers: one pass over a read of complete lines, no string per line, every text copied
 * into one buffer that the chunks are views of. The texts are what parseLogLine (log-frames.ts)
 * gives, including dockerd's replacement of invalid UTF-8 by U+FFFD (its json-file stores strings).
 * Consecutive entries of one stream share a chunk (up to RUN_BYTES, cut only between entries);
 * a partial entry ends its chunk and an empty one is a chunk of its own, so the entries can be
 * told apart again (translate/stream-frames.ts sends dockerd's frame a line from that). Pure.
 */
import { isUtf8 } from 'node:buffer';
import type { OutputChunk } from '../rootless/containers/interface.js';
import { logTimeSeconds } from './log-frames.js';

export interface LogChunkOptions {
  stdout: boolean;
  stderr: boolean;
  /** Every entry a chunk of its own, with its time. */
  timestamps: boolean;
  /** Unix seconds; lines outside [since, until] are left out. */
  since?: number;
  until?: number;
}

/**
 * Where a run of one stream is cut (between entries): large enough that a client pays few frame
 * headers and writes, small enough that its demultiplexer's buffer and a follower's latency stay small.
 */
export const RUN_BYTES = 64 * 1024;

const SP = 0x20;
const NL = 0x0a;

/** Where one line's fields are; stream 0 for a line that is not a log line (skipped, as parseLogLine does). */
interface Fields {
  /** 1 stdout, 2 stderr, 0 not a log line. */
  stream: 0 | 1 | 2;
  /** End of the timestamp (the first space). */
  tsEnd: number;
  partial: boolean;
  /** The text: [textStart, newline). */
  textStart: number;
}

function streamAt(buf: Buffer, at: number, end: number): 0 | 1 | 2 {
  // "stdout"/"stderr" followed by a space, a newline or the end; compared by hand (Buffer.compare costs more than a short line).
  if (at + 6 > end) return 0;
  if (at + 6 < end && buf[at + 6] !== SP && buf[at + 6] !== NL) return 0;
  if (buf[at] !== 0x73 || buf[at + 1] !== 0x74 || buf[at + 2] !== 0x64) return 0;
  const c3 = buf[at + 3];
  const c4 = buf[at + 4];
  const c5 = buf[at + 5];
  if (c3 === 0x6f && c4 === 0x75 && c5 === 0x74) return 1; // out
  if (c3 === 0x65 && c4 === 0x72 && c5 === 0x72) return 2; // err
  return 0;
}

/** The next newline at or after `from` before `end`, or `end`: short lines by hand, long ones through indexOf. */
function nextNewline(buf: Buffer, from: number, end: number): number {
  const near = Math.min(end, from + 32);
  for (let i = from; i < near; i++) if (buf[i] === NL) return i;
  if (near === end) return end;
  const nl = buf.indexOf(NL, near);
  return nl < 0 || nl >= end ? end : nl;
}

/** The first space or newline at or after `from`, or `end`. */
function nextSeparator(buf: Buffer, from: number, end: number): number {
  let i = from;
  for (;;) {
    // One comparison a byte: space and newline are the only separators at or below 0x20 that matter.
    while (i < end && buf[i] > SP) i++;
    if (i >= end) return end;
    const c = buf[i];
    if (c === SP || c === NL) return i;
    i++;
  }
}

/** conmon's time field: "2026-12-03T11:07:05.123456789+00:00", always this wide (nanoseconds and offset zero-padded). */
const CONMON_TIME_WIDTH = 35;

/**
 * Whether the line at `start` begins with a conmon time followed by a space. Walking the time byte
 * by byte is most of the cost of a short line. Every line conmon writes starts with such a time; a
 * line cut short by a crash and continued by the next one starts with a prefix of one followed by
 * a whole one, which has no space at this width. So where this holds, the first space is here, as
 * a scan would find it.
 */
function conmonTimeAt(buf: Buffer, start: number, end: number): boolean {
  return (
    start + CONMON_TIME_WIDTH < end &&
    buf[start + CONMON_TIME_WIDTH] === SP &&
    buf[start + 4] === 0x2d &&
    buf[start + 10] === 0x54 &&
    buf[start + 19] === 0x2e &&
    buf[start + 32] === 0x3a
  );
}

/**
 * Splits the line that starts at `start` the way parseLogLine does (fields separated by single
 * spaces: time, stream, flag, text) and returns the index of its newline (or `end`).
 */
function scanLine(buf: Buffer, start: number, end: number, f: Fields): number {
  f.stream = 0;
  const a = conmonTimeAt(buf, start, end) ? start + CONMON_TIME_WIDTH : nextSeparator(buf, start, end);
  if (a >= end || buf[a] === NL) return a;
  const stream = streamAt(buf, a + 1, end);
  if (stream === 0) return nextNewline(buf, a + 1, end);
  const b = a + 7;
  if (b >= end || buf[b] === NL) return b; // "<ts> stdout" without a flag
  const c = nextSeparator(buf, b + 1, end);
  f.stream = stream;
  f.tsEnd = a;
  f.partial = c - b - 1 === 1 && buf[b + 1] === 0x50;
  // "<ts> stdout F" with nothing after it is an empty full line.
  if (c >= end || buf[c] === NL) {
    f.textStart = c;
    return c;
  }
  f.textStart = c + 1;
  return nextNewline(buf, c + 1, end);
}

/**
 * Where the texts of a read are gathered: one buffer for every call (logChunks is synchronous, so
 * no two share it), copied out at the end into a buffer of the texts' size. A fresh buffer of the
 * read's size each time cost more in garbage collection than the parse (for 2-byte lines the texts
 * are 4% of the read). Kept up to SCRATCH_KEEP; a bigger one (a read of very long lines) is dropped.
 */
let scratch: Buffer | undefined;
const SCRATCH_KEEP = 2 << 20;

/** The texts copied out of a read, and the chunks (as offsets, since the buffer may grow) over them. */
class Texts {
  buf: Buffer;
  len = 0;
  readonly chunks: OutputChunk[] = [];
  /** The open run: its stream (0 = none) and where it starts. */
  private stream = 0;
  private start = 0;
  /** Offsets [start, end) and times of the chunks, made views once the buffer is final. */
  private readonly spans: number[] = [];
  private readonly streams: number[] = [];
  private readonly times: (string | undefined)[] = [];

  constructor(capacity: number) {
    const want = Math.max(64, capacity);
    this.buf = scratch && scratch.length >= want ? scratch : Buffer.allocUnsafe(want);
  }

  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  /** Starts an entry of `stream`: it joins the open run if that is of the same stream and `share` allows it. */
  open(stream: number, share: boolean): void {
    if (share && this.stream === stream && this.len - this.start < RUN_BYTES) return;
    this.close();
    this.stream = stream;
    this.start = this.len;
  }

  close(time?: string): void {
    if (this.stream === 0) return;
    this.spans.push(this.start, this.len);
    this.streams.push(this.stream);
    this.times.push(time);
    this.stream = 0;
  }

  bytes(src: Buffer, start: number, end: number): void {
    const n = end - start;
    this.ensure(n);
    if (n < 16) {
      // Short copies (yes-style lines) cost less by hand than through the native call.
      const b = this.buf;
      let o = this.len;
      for (let i = start; i < end; i++) b[o++] = src[i];
    } else src.copy(this.buf, this.len, start, end);
    this.len += n;
  }

  byte(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v;
  }

  text(s: string): void {
    const n = Buffer.byteLength(s);
    this.ensure(n);
    this.len += this.buf.write(s, this.len);
  }

  finish(): OutputChunk[] {
    this.close();
    if (this.buf.length <= SCRATCH_KEEP && (!scratch || scratch.length < this.buf.length)) scratch = this.buf;
    const texts = Buffer.allocUnsafe(this.len);
    this.buf.copy(texts, 0, 0, this.len);
    const out: OutputChunk[] = new Array(this.streams.length);
    for (let i = 0; i < this.streams.length; i++) {
      const data = texts.subarray(this.spans[2 * i], this.spans[2 * i + 1]);
      const stream = this.streams[i] === 2 ? 'stderr' : 'stdout';
      const time = this.times[i];
      out[i] = time === undefined ? { stream, data } : { stream, data, time };
    }
    return out;
  }
}

function keep(buf: Buffer, f: Fields, start: number, opts: LogChunkOptions): boolean {
  if (f.stream === 1 ? !opts.stdout : !opts.stderr) return false;
  if (opts.since === undefined && opts.until === undefined) return true;
  const t = logTimeSeconds(buf.toString('utf8', start, f.tsEnd));
  if (opts.since !== undefined && t < opts.since) return false;
  if (opts.until !== undefined && t > opts.until) return false;
  return true;
}

/**
 * The chunks of the complete lines in buf[start, end): `end` is just past a newline (bytes after the
 * last newline of a read belong to the next one). Empty when nothing is kept.
 */
export function logChunks(buf: Buffer, opts: LogChunkOptions, start = 0, end = buf.length): OutputChunk[] {
  if (end <= start) return [];
  // Valid UTF-8 passes through as bytes; otherwise each text goes through a string as before.
  const utf8 = isUtf8(buf.subarray(start, end));
  const share = !opts.timestamps;
  const out = new Texts(end - start);
  const f: Fields = { stream: 0, tsEnd: 0, partial: false, textStart: 0 };
  let pos = start;
  while (pos < end) {
    const nl = scanLine(buf, pos, end, f);
    if (f.stream !== 0 && keep(buf, f, pos, opts)) {
      out.open(f.stream, share && !(f.partial && f.textStart === nl));
      if (utf8) out.bytes(buf, f.textStart, nl);
      else out.text(buf.toString('utf8', f.textStart, nl));
      if (!f.partial) out.byte(NL);
      if (!share) out.close(buf.toString('utf8', pos, f.tsEnd));
      else if (f.partial) out.close();
    }
    pos = nl + 1;
  }
  return out.finish();
}

/** Whether the line [start, end) is a log line (lines that are not count for nothing, as in parseLogLine). */
function isLogLine(buf: Buffer, start: number, end: number, f: Fields): boolean {
  scanLine(buf, start, end, f);
  return f.stream !== 0;
}

/**
 * Where the last `n` log lines of buf[start, end) begin (`end` just past a newline): `--tail`
 * counts every log line, of both streams and before since/until, as the reader always has.
 */
export function tailStart(buf: Buffer, n: number, start = 0, end = buf.length): number {
  return tailScan(buf, n, start, end).at;
}

/**
 * tailStart that also says how many log lines it found: fewer than `n` means all of
 * buf[start, end) is in the tail (`at` is `start`) and the rest is to be found before `start`.
 * A last line without a newline counts as a line.
 */
export function tailScan(buf: Buffer, n: number, start = 0, end = buf.length): { at: number; found: number } {
  if (n <= 0) return { at: end, found: 0 };
  const f: Fields = { stream: 0, tsEnd: 0, partial: false, textStart: 0 };
  let found = 0;
  // lineEnd: the index of a line's newline, or `end` for a last line without one.
  let lineEnd = end > start && buf[end - 1] === NL ? end - 1 : end;
  for (;;) {
    const prev = lineEnd > start ? buf.lastIndexOf(NL, lineEnd - 1) : -1;
    const lineStart = prev < start ? start : prev + 1;
    if (isLogLine(buf, lineStart, lineEnd, f) && ++found === n) return { at: lineStart, found };
    if (prev < start) return { at: start, found };
    lineEnd = prev;
  }
}
