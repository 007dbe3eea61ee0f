/**
 * Output chunks → Docker's stream bytes: raw for a TTY, otherwise multiplexed frames (an 8-byte
 * header: stream id, 3 zero bytes, big-endian payload length), with `timestamps` and `details`
 * before each log entry. Pure.
 *
 * Frame boundaries: dockerd sends a log line a frame. The docker CLI's stdcopy only copies payload
 * bytes to stdout/stderr and pays a write(2) per frame, so it gets a frame a run of one stream's
 * output (for 2-byte lines the frames were the whole cost of `docker logs`); other clients, which
 * may hand frames on as they come (docker-py's `logs(stream=True)`, dockerode's raw stream), get
 * dockerd's frame a line. Attach and exec output is a frame a chunk, as dockerd frames each write
 * of the process.
 */
import type { OutputChunk } from '../rootless/containers/interface.js';
import { dockerTimestamp } from './log-frames.js';

/**
 * Where frames are cut (multiplexed streams only): `line` after each newline and at the end of
 * each chunk (a log entry each: dockerd's logs), `chunk` at the end of each chunk (a write each:
 * attach and exec), `run` only where the stream changes or a frame reaches RUN_FRAME (the docker CLI).
 */
export type FrameCut = 'line' | 'chunk' | 'run';

export interface FrameOptions {
  /** Raw bytes, no headers (the stream ids are dropped). */
  tty: boolean;
  /** Each chunk's `time` (a log entry's) before its text, as dockerd's `timestamps` prints it. */
  timestamps?: boolean;
  /** Before each chunk (a log entry each), after its time: `details`' attributes (log-attrs.ts detailsPrefix). */
  details?: string;
  /** `chunk` when not given. */
  cut?: FrameCut;
}

/** The most a `run` frame gathers from chunks (a single chunk may be longer). */
export const RUN_FRAME = 64 * 1024;

const HEADER = 8;
const NL = 0x0a;

/** Whether the client is the docker CLI (stdcopy, bytes not frames): dockerd's client sends this user agent. */
export function clientCopiesBytes(userAgent: string | undefined): boolean {
  return userAgent !== undefined && /^Docker-Client\//.test(userAgent);
}

/** How many frames a chunk's data becomes when cut after each newline (an empty chunk still has one). */
function lineCount(data: Buffer): number {
  let n = 0;
  let at = 0;
  while (at < data.length) {
    const nl = data.indexOf(NL, at);
    at = nl < 0 ? data.length : nl + 1;
    n++;
  }
  return Math.max(n, 1);
}

function writeHeader(out: Buffer, at: number, stream: number, size: number): void {
  out[at] = stream;
  out[at + 1] = 0;
  out[at + 2] = 0;
  out[at + 3] = 0;
  // By hand: writeUInt32BE's checks cost more than the stores, once a line.
  out[at + 4] = size >>> 24;
  out[at + 5] = (size >>> 16) & 0xff;
  out[at + 6] = (size >>> 8) & 0xff;
  out[at + 7] = size & 0xff;
}

/** What goes before a log entry: its time, then the details. */
function prefixOf(c: OutputChunk, opts: FrameOptions): Buffer | undefined {
  const time = opts.timestamps && c.time !== undefined ? `${dockerTimestamp(c.time)} ` : '';
  const text = time + (opts.details ?? '');
  return text === '' ? undefined : Buffer.from(text);
}

/** The bytes of one batch of chunks, in one buffer (one write to the socket). */
export function encodeChunks(chunks: readonly OutputChunk[], opts: FrameOptions): Buffer {
  const cut = opts.tty ? 'raw' : (opts.cut ?? 'chunk');
  const prefixes = opts.timestamps || opts.details !== undefined ? chunks.map((c) => prefixOf(c, opts)) : undefined;
  const bytesOf = (i: number): number => (chunks[i] as OutputChunk).data.length + (prefixes?.[i]?.length ?? 0);
  // The frames of `run`: [first chunk, end chunk, payload size] each.
  const runs: number[] = [];
  let size = 0;
  for (let i = 0; i < chunks.length; i++) {
    size += bytesOf(i);
    if (cut === 'chunk') size += HEADER;
    else if (cut === 'line') size += HEADER * lineCount((chunks[i] as OutputChunk).data);
    else if (cut === 'run') {
      const n = runs.length;
      const open = n > 0 && runs[n - 2] === i && (chunks[i - 1] as OutputChunk).stream === (chunks[i] as OutputChunk).stream && (runs[n - 1] as number) + bytesOf(i) <= RUN_FRAME;
      if (open) {
        runs[n - 2] = i + 1;
        runs[n - 1] = (runs[n - 1] as number) + bytesOf(i);
      } else {
        runs.push(i, i + 1, bytesOf(i));
        size += HEADER;
      }
    }
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  const copy = (i: number): void => {
    const prefix = prefixes?.[i];
    if (prefix) at += prefix.copy(out, at);
    at += (chunks[i] as OutputChunk).data.copy(out, at);
  };
  if (cut === 'raw') for (let i = 0; i < chunks.length; i++) copy(i);
  else if (cut === 'run') {
    for (let r = 0; r < runs.length; r += 3) {
      const [first, end, bytes] = [runs[r] as number, runs[r + 1] as number, runs[r + 2] as number];
      writeHeader(out, at, (chunks[first] as OutputChunk).stream === 'stderr' ? 2 : 1, bytes);
      at += HEADER;
      for (let i = first; i < end; i++) copy(i);
    }
  } else if (cut === 'chunk') {
    for (let i = 0; i < chunks.length; i++) {
      writeHeader(out, at, (chunks[i] as OutputChunk).stream === 'stderr' ? 2 : 1, bytesOf(i));
      at += HEADER;
      copy(i);
    }
  } else {
    for (let i = 0; i < chunks.length; i++) {
      const c = chunks[i] as OutputChunk;
      const prefix = prefixes?.[i];
      const stream = c.stream === 'stderr' ? 2 : 1;
      // The prefix belongs to the chunk's one entry: it goes in the first frame.
      let from = 0;
      let first = true;
      do {
        const nl = c.data.indexOf(NL, from);
        const to = nl < 0 ? c.data.length : nl + 1;
        const head = first && prefix ? prefix.length : 0;
        writeHeader(out, at, stream, to - from + head);
        at += HEADER;
        if (head > 0) at += (prefix as Buffer).copy(out, at);
        at += c.data.copy(out, at, from, to);
        from = to;
        first = false;
      } while (from < c.data.length);
    }
  }
  return out;
}

/** The stream's bytes, a buffer a batch; batches that come to nothing (a TTY's empty chunks) are skipped. */
export async function* encodeStream(batches: AsyncIterable<readonly OutputChunk[]>, opts: FrameOptions): AsyncGenerator<Buffer> {
  for await (const batch of batches) {
    const out = encodeChunks(batch, opts);
    if (out.length > 0) yield out;
  }
}
