/** Reads (and follows) conmon's k8s-file log of one container across its rotated files, yielding output chunks a read at a time. */
import { watch, type FSWatcher } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { olderLogFiles } from './log-files.js';
import { fileSource, findTailStart } from './log-tail.js';
import { LineBuffer } from './line-buffer.js';
import { logChunks, type LogChunkOptions } from '../../translate/log-chunks.js';
import type { OutputChunk } from './interface.js';

export interface LogReadOptions {
  stdout: boolean;
  stderr: boolean;
  /** Each entry a chunk of its own, with its time. */
  timestamps: boolean;
  /** Last N lines of what is there now (found reading backwards, log-tail.ts); undefined = all. */
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

/** The most a read takes: big enough that a read, its parse and its write are few; small enough that a follower stays within a few MiB. */
const CHUNK = 1 << 20;

/** An open file and its size when opened. */
interface OpenFile {
  fh: FileHandle;
  size: number;
}

/** The rotated files, opened now, oldest first; one rotated away in between is left out. */
async function openFiles(paths: readonly string[]): Promise<OpenFile[]> {
  const files = await Promise.all(
    paths.map(async (p) => {
      const fh = await open(p, 'r').catch(() => undefined);
      if (!fh) return undefined;
      const size = (await fh.stat().catch(() => undefined))?.size;
      if (size === undefined) {
        await fh.close().catch(() => undefined);
        return undefined;
      }
      return { fh, size };
    }),
  );
  return files.filter((f): f is OpenFile => f !== undefined);
}

async function closeFiles(files: readonly OpenFile[]): Promise<void> {
  await Promise.all(files.map((f) => f.fh.close().catch(() => undefined)));
}

/** Where a read puts its bytes: buf[at, at + length). */
interface ReadTarget {
  buf: Buffer;
  at: number;
  length: number;
}

/** A rotated (final) file from an offset to its end, a read at a time; yields the count read into `target()`. */
async function* fileReads(fh: FileHandle, from: number, target: () => ReadTarget): AsyncGenerator<number> {
  for (let offset = from; ; ) {
    const { buf, at, length } = target();
    const { bytesRead } = await fh.read(buf, at, length, offset);
    if (bytesRead === 0) return;
    offset += bytesRead;
    yield bytesRead;
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

  /** Opens the current file unless held already; `snapshot` bounds reads by its present size. */
  async openCurrent(snapshot: boolean): Promise<OpenFile | undefined> {
    if (this.fh) return { fh: this.fh, size: Number.isFinite(this.limit) ? this.limit : (await this.fh.stat()).size };
    const fh = await open(this.path, 'r').catch(() => undefined);
    if (!fh) return undefined;
    const st = await fh.stat();
    this.fh = fh;
    this.ino = st.ino;
    this.limit = snapshot ? st.size : Infinity;
    // The position counts only in the file it was taken in.
    if (this.from && this.from.ino === this.ino) this.offset = this.from.offset;
    this.from = undefined;
    return { fh, size: st.size };
  }

  /** Where the next read starts in the file held now (where a tail begins). */
  seek(offset: number): void {
    this.offset = offset;
  }

  private async readSome(t: ReadTarget): Promise<number> {
    if (!this.fh) return 0;
    for (let attempt = 0; attempt < 2; attempt++) {
      const want = Math.min(t.length, this.limit - this.offset);
      if (want <= 0) return 0;
      const { bytesRead } = await this.fh.read(t.buf, t.at, want, this.offset);
      if (bytesRead > 0) {
        this.offset += bytesRead;
        return bytesRead;
      }
      // A log that shrank in place was rewritten; start over rather than wait for it to grow past the old end.
      const size = (await this.fh.stat()).size;
      if (size >= this.offset) return 0;
      this.offset = 0;
    }
    return 0;
  }

  /**
   * Reads the next bytes into the target: the count, 0 at the end. `snapshot`: a file opened now is
   * read only up to its present size, so a `docker logs` of a fast writer ends.
   */
  async read(snapshot: boolean, t: ReadTarget): Promise<number> {
    // Bounded: each pass follows one replacement.
    for (let pass = 0; pass < 4; pass++) {
      if (!this.fh && !(await this.openCurrent(snapshot))) break;
      const some = await this.readSome(t);
      if (some > 0) return some;
      const now = (await stat(this.path).catch(() => undefined))?.ino;
      if (now === undefined || now === this.ino) break;
      // Replaced: what conmon wrote to the old file before the rename is all there will be.
      this.limit = Infinity;
      const rest = await this.readSome(t);
      if (rest > 0) return rest;
      await this.close();
      this.offset = 0;
    }
    return 0;
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

export async function* readLog(path: string, opts: LogReadOptions): AsyncGenerator<OutputChunk[]> {
  let finished = false;
  void opts.followUntil?.then(
    () => (finished = true),
    () => (finished = true),
  );
  const aborted = opts.signal ? new Promise<void>((r) => opts.signal?.addEventListener('abort', () => r(), { once: true })) : undefined;
  const encoding: LogChunkOptions = {
    timestamps: opts.timestamps,
    stdout: opts.stdout,
    stderr: opts.stderr,
    ...(opts.since !== undefined ? { since: opts.since } : {}),
    ...(opts.until !== undefined ? { until: opts.until } : {}),
  };
  // Reading from the start takes in the rotated files too, oldest first; an attach starts in the current file.
  const from = opts.fromOffset || undefined;
  const older = from === undefined ? await openFiles(await olderLogFiles(path)) : [];
  const cursor = new LogCursor(path, from);
  // Bytes after the last newline of a read are kept as bytes, so a UTF-8 sequence split across reads survives.
  const lines = new LineBuffer(CHUNK);
  let offered = 0;
  const target = (): ReadTarget => {
    const { at, length } = lines.room();
    offered = length;
    return { buf: lines.buf, at, length };
  };
  let watcher: FSWatcher | undefined;
  try {
    // Where what is there now begins: the first rotated file, or where the tail starts.
    let start = { file: 0, offset: 0 };
    if (opts.tail !== undefined && opts.tail >= 0) {
      const current = await cursor.openCurrent(true);
      const files = current ? [...older, current] : older;
      start = await findTailStart(files.map((f) => fileSource(f.fh, f.size)), opts.tail);
      if (current && start.file === older.length) cursor.seek(start.offset);
    }
    // What is there now: the rotated files, then the current file up to its present size.
    let endNow = finished;
    const present = async function* (): AsyncGenerator<number> {
      for (let i = start.file; i < older.length; i++) yield* fileReads((older[i] as OpenFile).fh, i === start.file ? start.offset : 0, target);
      for (;;) {
        const n = await cursor.read(true, target());
        if (n === 0) return;
        yield n;
      }
    };
    for await (const n of present()) {
      const out = logChunks(lines.buf, encoding, 0, lines.feed(n, offered));
      if (out.length > 0) yield out;
      if (opts.signal?.aborted) return;
    }
    // A follow may last long: rotation must be able to free the files read by now.
    await closeFiles(older.splice(0));
    cursor.unbound();
    if (!opts.followUntil) return;
    for (;;) {
      if (endNow || opts.signal?.aborted) return;
      endNow = finished;
      // A writer faster than the client keeps this loop reading without waiting; each chunk is
      // written (with backpressure) before the next is read, so memory stays at about a chunk.
      for (;;) {
        const n = await cursor.read(false, target());
        if (n === 0) break;
        const out = logChunks(lines.buf, encoding, 0, lines.feed(n, offered));
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
    await closeFiles(older);
  }
}
