/** Reads (and follows) conmon's k8s-file log of one container across its rotated files, yielding Docker stream bytes. */
import { watch, type FSWatcher } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { olderLogFiles } from './log-files.js';
import { encodeLogChunk, tailStart, type LogChunkOptions } from '../../translate/log-encoder.js';

export interface LogReadOptions {
  tty: boolean;
  stdout: boolean;
  stderr: boolean;
  timestamps: boolean;
  /** Last N lines of what is there now; undefined = all. */
  tail?: number;
  since?: number;
  until?: number;
  /**
   * Where to start: a position from logSize() (attach starts at the end of what was written before
   * it), or 0 / undefined for everything, rotated files included.
   */
  fromOffset?: LogPosition | 0;
  /** When given, keep reading new lines until this settles, then drain once more and stop. */
  followUntil?: Promise<unknown>;
  signal?: AbortSignal;
}

/** An offset within one file: a file that replaced it (rotation, a new start) is read from its beginning. */
export interface LogPosition {
  ino?: number;
  offset: number;
}

export async function logSize(path: string): Promise<LogPosition> {
  const st = await stat(path).catch(() => undefined);
  return st ? { ino: st.ino, offset: st.size } : { offset: 0 };
}

/** Bytes per read: big enough that a read, its parse and its write are few; small enough that a follower stays within a few MiB. */
const CHUNK = 1 << 20;

/** A whole (rotated) file, a chunk at a time. */
async function* fileChunks(path: string): AsyncGenerator<Buffer> {
  const fh = await open(path, 'r').catch(() => undefined);
  if (!fh) return;
  try {
    for (let offset = 0; ; ) {
      const buf = Buffer.allocUnsafe(CHUNK);
      const { bytesRead } = await fh.read(buf, 0, CHUNK, offset);
      if (bytesRead === 0) return;
      offset += bytesRead;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/**
 * Reads the current log file onward from an offset, a chunk at a time. conmon replaces the file
 * when it reaches max-size (a rename onto the path); the cursor then drains the file it holds open,
 * which is final by then, and moves to the new one from its start.
 */
class LogCursor {
  private fh: FileHandle | undefined;
  private ino: number | undefined;
  private offset = 0;
  /** Where reads stop in the file held now: its size when a snapshot read opened it. */
  private limit = Infinity;

  constructor(
    private readonly path: string,
    private from: LogPosition | undefined,
  ) {}

  /** Reads after the snapshot go on to whatever is written since. */
  unbound(): void {
    this.limit = Infinity;
  }

  private async readSome(): Promise<Buffer | undefined> {
    if (!this.fh) return undefined;
    for (let attempt = 0; attempt < 2; attempt++) {
      const want = Math.min(CHUNK, this.limit - this.offset);
      if (want <= 0) return undefined;
      const buf = Buffer.allocUnsafe(want);
      const { bytesRead } = await this.fh.read(buf, 0, want, this.offset);
      if (bytesRead > 0) {
        this.offset += bytesRead;
        return buf.subarray(0, bytesRead);
      }
      // A log that shrank in place was rewritten; start over rather than wait for it to grow past the old end.
      const size = (await this.fh.stat()).size;
      if (size >= this.offset) return undefined;
      this.offset = 0;
    }
    return undefined;
  }

  /**
   * The next chunk, or an empty buffer at the end. `snapshot`: a file opened now is read only up to
   * its present size, so a `docker logs` of a fast writer ends.
   */
  async read(snapshot: boolean): Promise<Buffer> {
    // Bounded: each pass follows one replacement.
    for (let pass = 0; pass < 4; pass++) {
      if (!this.fh) {
        this.fh = await open(this.path, 'r').catch(() => undefined);
        if (!this.fh) break;
        const st = await this.fh.stat();
        this.ino = st.ino;
        this.limit = snapshot ? st.size : Infinity;
        // The position counts only in the file it was taken in.
        if (this.from && this.from.ino === this.ino) this.offset = this.from.offset;
        this.from = undefined;
      }
      const some = await this.readSome();
      if (some) return some;
      const now = (await stat(this.path).catch(() => undefined))?.ino;
      if (now === undefined || now === this.ino) break;
      // Replaced: what conmon wrote to the old file before the rename is all there will be.
      this.limit = Infinity;
      const rest = await this.readSome();
      if (rest) return rest;
      await this.close();
      this.offset = 0;
    }
    return Buffer.alloc(0);
  }

  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close().catch(() => undefined);
  }
}

/** Waits for the file to change, or at most `ms` (fs.watch misses events on some filesystems). */
function changeOrTimeout(watcher: FSWatcher | undefined, ms: number, extra: Promise<unknown>[]): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      watcher?.off('change', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    watcher?.on('change', done);
    for (const p of extra) void p.then(done, done);
  });
}

/** Cuts a stream of chunks into runs of complete lines; the bytes after the last newline wait for the next chunk. */
class LineCarry {
  private pending: Buffer | undefined;

  /** The complete lines so far (possibly empty). */
  push(chunk: Buffer): Buffer {
    const data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    const cut = data.lastIndexOf(0x0a);
    // Kept as bytes so a UTF-8 sequence split across reads survives.
    this.pending = cut + 1 < data.length ? Buffer.from(data.subarray(cut + 1)) : undefined;
    return data.subarray(0, cut + 1);
  }
}

export async function* readLog(path: string, opts: LogReadOptions): AsyncGenerator<Buffer> {
  let finished = false;
  void opts.followUntil?.then(
    () => (finished = true),
    () => (finished = true),
  );
  const aborted = opts.signal ? new Promise<void>((r) => opts.signal?.addEventListener('abort', () => r(), { once: true })) : undefined;
  // Runs of one stream share a frame; the API cuts them back to a frame a line for clients that see frames.
  const encoding: LogChunkOptions = {
    coalesce: true,
    tty: opts.tty,
    timestamps: opts.timestamps,
    stdout: opts.stdout,
    stderr: opts.stderr,
    ...(opts.since !== undefined ? { since: opts.since } : {}),
    ...(opts.until !== undefined ? { until: opts.until } : {}),
  };
  // Reading from the start takes in the rotated files too, oldest first; an attach starts in the current file.
  const from = opts.fromOffset || undefined;
  const older = from === undefined ? await olderLogFiles(path) : [];
  const cursor = new LogCursor(path, from);
  const carry = new LineCarry();
  let watcher: FSWatcher | undefined;
  try {
    // What is there now: the rotated files, then the current file up to its present size.
    let endNow = finished;
    const present = async function* (): AsyncGenerator<Buffer> {
      for (const f of older) yield* fileChunks(f);
      for (;;) {
        const c = await cursor.read(true);
        if (c.length === 0) return;
        yield c;
      }
    };
    if (opts.tail !== undefined && opts.tail >= 0) {
      // --tail needs the end before it knows where to begin; it keeps what is there now in memory, as before.
      const parts: Buffer[] = [];
      for await (const c of present()) parts.push(c);
      const lines = carry.push(Buffer.concat(parts));
      const out = encodeLogChunk(lines, encoding, tailStart(lines, opts.tail));
      if (out.length > 0) yield out;
    } else {
      for await (const c of present()) {
        const out = encodeLogChunk(carry.push(c), encoding);
        if (out.length > 0) yield out;
        if (opts.signal?.aborted) return;
      }
    }
    cursor.unbound();
    if (!opts.followUntil) return;
    for (;;) {
      if (endNow || opts.signal?.aborted) return;
      endNow = finished;
      // A writer faster than the client keeps this loop reading without waiting; each chunk is
      // written (with backpressure) before the next is read, so memory stays at about a chunk.
      for (;;) {
        const c = await cursor.read(false);
        if (c.length === 0) break;
        const out = encodeLogChunk(carry.push(c), encoding);
        if (out.length > 0) yield out;
        if (opts.signal?.aborted) return;
      }
      if (endNow) return;
      if (!watcher) {
        try {
          // The directory, not the file: conmon's rotation puts a new file under the log's name.
          watcher = watch(dirname(path), { persistent: false });
          watcher.on('error', () => undefined);
        } catch {
          watcher = undefined;
        }
      }
      await changeOrTimeout(watcher, 250, [opts.followUntil, ...(aborted ? [aborted] : [])]);
    }
  } finally {
    watcher?.close();
    await cursor.close();
  }
}
