/** Reads (and follows) conmon's k8s-file log of one container, yielding Docker stream bytes. */
import { watch, type FSWatcher } from 'node:fs';
import { open, stat } from 'node:fs/promises';
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
  /** Byte offset to start at (attach starts at the end of what was written before it). */
  fromOffset?: number;
  /** When given, keep reading new lines until this settles, then drain once more and stop. */
  followUntil?: Promise<unknown>;
  signal?: AbortSignal;
}

export async function logSize(path: string): Promise<number> {
  return (await stat(path).catch(() => undefined))?.size ?? 0;
}

async function readFrom(path: string, offset: number): Promise<Buffer> {
  const fh = await open(path, 'r').catch(() => undefined);
  if (!fh) return Buffer.alloc(0);
  try {
    const size = (await fh.stat()).size;
    if (size <= offset) return Buffer.alloc(0);
    const buf = Buffer.alloc(size - offset);
    const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
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
  let offset = opts.fromOffset ?? 0;
  // Bytes after the last newline; kept as bytes so a UTF-8 sequence split across reads survives.
  let pending = Buffer.alloc(0);
  let first = true;
  let finished = false;
  void opts.followUntil?.then(
    () => (finished = true),
    () => (finished = true),
  );
  const aborted = opts.signal ? new Promise<void>((r) => opts.signal?.addEventListener('abort', () => r(), { once: true })) : undefined;
  let watcher: FSWatcher | undefined;
  try {
    for (;;) {
      const endNow = finished;
      // A log that shrank was rewritten; start over rather than wait for it to grow past the old end.
      if ((await logSize(path)) < offset) {
        offset = 0;
        pending = Buffer.alloc(0);
      }
      const chunk = await readFrom(path, offset);
      offset += chunk.length;
      const data = Buffer.concat([pending, chunk]);
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
          watcher = watch(path, { persistent: false });
          watcher.on('error', () => undefined);
        } catch {
          watcher = undefined;
        }
      }
      await changeOrTimeout(watcher, 250, [opts.followUntil, ...(aborted ? [aborted] : [])]);
    }
  } finally {
    watcher?.close();
  }
}
