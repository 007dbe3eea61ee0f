/** Reads (and follows) conmon's k8s-file log of one container across its rotated files, yielding Docker stream bytes. */
import { watch, type FSWatcher } from 'node:fs';
import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { olderLogFiles } from './log-files.js';
import { encodeLogLine, logTimeSeconds, parseLogLine, type LogLine } from '../../translate/log-frames.js';

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

async function readWhole(path: string): Promise<Buffer> {
  return readFile(path).catch(() => Buffer.alloc(0));
}

/**
 * Reads the current log file onward from an offset. conmon replaces the file when it reaches
 * max-size (a rename onto the path); the cursor then drains the file it holds open, which is final
 * by then, and moves to the new one from its start.
 */
class LogCursor {
  private fh: FileHandle | undefined;
  private ino: number | undefined;

  private offset: number;

  constructor(
    private readonly path: string,
    private from: LogPosition | undefined,
  ) {
    this.offset = 0;
  }

  private async drain(out: Buffer[]): Promise<void> {
    if (!this.fh) return;
    const size = (await this.fh.stat()).size;
    // A log that shrank in place was rewritten; start over rather than wait for it to grow past the old end.
    if (size < this.offset) this.offset = 0;
    if (size <= this.offset) return;
    const buf = Buffer.alloc(size - this.offset);
    const { bytesRead } = await this.fh.read(buf, 0, buf.length, this.offset);
    this.offset += bytesRead;
    out.push(buf.subarray(0, bytesRead));
  }

  async read(): Promise<Buffer> {
    const out: Buffer[] = [];
    // Bounded: each pass follows one replacement.
    for (let pass = 0; pass < 4; pass++) {
      if (!this.fh) {
        this.fh = await open(this.path, 'r').catch(() => undefined);
        if (!this.fh) break;
        this.ino = (await this.fh.stat()).ino;
        // The position counts only in the file it was taken in.
        if (this.from && this.from.ino === this.ino) this.offset = this.from.offset;
        this.from = undefined;
      }
      await this.drain(out);
      const now = (await stat(this.path).catch(() => undefined))?.ino;
      if (now === undefined || now === this.ino) break;
      // Replaced: what conmon wrote to the old file before the rename is all there will be.
      await this.drain(out);
      await this.close();
      this.offset = 0;
    }
    return Buffer.concat(out);
  }

  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close().catch(() => undefined);
  }
}

function wanted(line: LogLine, opts: LogReadOptions): boolean {
  if (line.stream === 'stdout' ? !opts.stdout : !opts.stderr) return false;
  if (opts.since === undefined && opts.until === undefined) return true;
  const t = logTimeSeconds(line.time);
  if (opts.since !== undefined && t < opts.since) return false;
  if (opts.until !== undefined && t > opts.until) return false;
  return true;
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

export async function* readLog(path: string, opts: LogReadOptions): AsyncGenerator<Buffer> {
  // Bytes after the last newline; kept as bytes so a UTF-8 sequence split across reads survives.
  let pending = Buffer.alloc(0);
  let first = true;
  let finished = false;
  void opts.followUntil?.then(
    () => (finished = true),
    () => (finished = true),
  );
  const aborted = opts.signal ? new Promise<void>((r) => opts.signal?.addEventListener('abort', () => r(), { once: true })) : undefined;
  // Reading from the start takes in the rotated files too, oldest first; an attach starts in the current file.
  const from = opts.fromOffset || undefined;
  const older = from === undefined ? await olderLogFiles(path) : [];
  const cursor = new LogCursor(path, from);
  let watcher: FSWatcher | undefined;
  try {
    for (;;) {
      const endNow = finished;
      const parts: Buffer[] = [];
      if (first) for (const f of older) parts.push(await readWhole(f));
      parts.push(await cursor.read());
      const data = Buffer.concat([pending, ...parts]);
      const cut = data.lastIndexOf(0x0a);
      pending = cut < 0 ? data : data.subarray(cut + 1);
      const complete = cut < 0 ? '' : data.subarray(0, cut).toString('utf8');
      const lines = cut < 0 ? [] : complete.split('\n');
      let parsed = lines.map(parseLogLine).filter((l): l is LogLine => l !== undefined);
      if (first && opts.tail !== undefined && opts.tail >= 0) parsed = opts.tail === 0 ? [] : parsed.slice(-opts.tail);
      first = false;
      const out = parsed.filter((l) => wanted(l, opts)).map((l) => encodeLogLine(l, opts));
      if (out.length > 0) yield Buffer.concat(out);
      if (!opts.followUntil || endNow || opts.signal?.aborted) return;
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
