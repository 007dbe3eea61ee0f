/**
 * conmon's k8s-file log (`<RFC3339Nano> stdout|stderr F|P <text>\n` lines) → Docker's stream bytes,
 * in bulk on Buffers: one pass over a chunk of complete lines, no string per line, the output
 * written into one buffer. Byte-for-byte what parseLogLine + encodeLogLine (log-frames.ts) give,
 * a frame per line as dockerd sends it, including their replacement of invalid UTF-8 by U+FFFD.
 * With `coalesce` (and no timestamps), consecutive lines of one stream share a frame instead, up to
 * and including a partial line; splitFrames (frame-coalesce.ts) restores a frame a line. Pure.
 */
import { isUtf8 } from 'node:buffer';
import { dockerTimestamp, logTimeSeconds } from './log-frames.js';

export interface LogChunkOptions {
  tty: boolean;
  timestamps: boolean;
  stdout: boolean;
  stderr: boolean;
  /** Consecutive lines of one stream in one frame (without timestamps only). */
  coalesce?: boolean;
  /** Unix seconds; lines outside [since, until] are left out. */
  since?: number;
  until?: number;
}

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

/** A growing output buffer with the frame being filled. */
class Out {
  buf: Buffer;
  len = 0;
  /** Offset of the open frame's header, or -1. */
  private header = -1;
  private stream = 0;

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(Math.max(64, capacity));
  }

  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  /** Opens a frame for `stream` unless the open one is of that stream and `share` allows it. */
  frame(stream: number, share: boolean): void {
    if (share && this.header >= 0 && this.stream === stream) return;
    this.close();
    this.ensure(8);
    const h = this.len;
    this.buf[h] = stream;
    this.buf[h + 1] = 0;
    this.buf[h + 2] = 0;
    this.buf[h + 3] = 0;
    this.header = h;
    this.stream = stream;
    this.len += 8;
  }

  close(): void {
    if (this.header < 0) return;
    const n = this.len - this.header - 8;
    const b = this.buf;
    const h = this.header + 4;
    // By hand: writeUInt32BE's checks cost more than the stores, once a line.
    b[h] = n >>> 24;
    b[h + 1] = (n >>> 16) & 0xff;
    b[h + 2] = (n >>> 8) & 0xff;
    b[h + 3] = n & 0xff;
    this.header = -1;
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
 * The wire bytes of the complete lines in buf[start, end): `end` is just past a newline (bytes
 * after the last newline of a read belong to the next one). Empty when nothing is kept.
 */
export function encodeLogChunk(buf: Buffer, opts: LogChunkOptions, start = 0, end = buf.length): Buffer {
  if (end <= start) return Buffer.alloc(0);
  // Valid UTF-8 passes through as bytes; otherwise each text goes through a string as before.
  const utf8 = isUtf8(buf.subarray(start, end));
  const share = opts.coalesce === true && !opts.timestamps;
  const out = new Out(end - start);
  const f: Fields = { stream: 0, tsEnd: 0, partial: false, textStart: 0 };
  let pos = start;
  while (pos < end) {
    const nl = scanLine(buf, pos, end, f);
    if (f.stream !== 0 && keep(buf, f, pos, opts)) {
      // A partial line ends its frame, and an empty one has a frame of its own, so that cutting a
      // merged frame after each newline gives back dockerd's frame a line (frame-coalesce.ts).
      const emptyPartial = f.partial && f.textStart === nl;
      if (!opts.tty) out.frame(f.stream, share && !emptyPartial);
      if (opts.timestamps) {
        out.text(dockerTimestamp(buf.toString('utf8', pos, f.tsEnd)));
        out.byte(SP);
      }
      if (utf8) out.bytes(buf, f.textStart, nl);
      else out.text(buf.toString('utf8', f.textStart, nl));
      if (!f.partial) out.byte(NL);
      else if (share) out.close();
    }
    pos = nl + 1;
  }
  out.close();
  return out.buf.subarray(0, out.len);
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
