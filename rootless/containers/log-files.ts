/**
 * json-file rotation (max-size/max-file) on top of conmon's k8s-file log.
 *
 * conmon 2.1.6's `--log-size-max` does not rotate: once a write would pass the limit it renames a
 * fresh empty `<log>.tmp` over `<log>`, so the old content is unlinked. Burrow keeps that content by
 * holding a hard link (`<log>.pin`) to the file conmon is writing. When conmon replaces `<log>`, the
 * pin names the finished file: the rotator shifts `<log>.1 … <log>.N-2` up by one (dropping
 * `<log>.N-1`), renames the pin to `<log>.1` and pins the new file. conmon alone enforces the size,
 * so disk use stays bounded while the daemon is down; the files conmon replaced while nobody held a
 * pin are gone (only the one pinned before the daemon stopped survives, as `<log>.1`).
 */
import { watch, type FSWatcher } from 'node:fs';
import { link, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { warnOnly } from '../log.js';

const pinPath = (log: string): string => `${log}.pin`;
const rotated = (log: string, n: number): string => `${log}.${n}`;

async function inode(path: string): Promise<number | undefined> {
  return (await stat(path).catch(() => undefined))?.ino;
}

/** Rotated files of a log, oldest first, then the pinned file if conmon replaced it and it is not rotated yet; the current file is not included. */
export async function olderLogFiles(log: string): Promise<string[]> {
  const base = basename(log);
  const names = await readdir(dirname(log)).catch(() => [] as string[]);
  const numbered = names
    .map((n) => (n.startsWith(`${base}.`) ? Number(n.slice(base.length + 1)) : Number.NaN))
    .filter((n) => Number.isInteger(n) && n > 0)
    .sort((a, b) => b - a)
    .map((n) => rotated(log, n));
  const pin = await inode(pinPath(log));
  if (pin !== undefined && pin !== (await inode(log))) numbered.push(pinPath(log));
  return numbered;
}

async function shift(log: string, maxFiles: number): Promise<void> {
  await rm(rotated(log, maxFiles - 1), { force: true });
  for (let n = maxFiles - 2; n >= 1; n--) await rename(rotated(log, n), rotated(log, n + 1)).catch(warnOnly('log rotation: could not shift a rotated file'));
}

/** Moves a file that conmon replaced into the rotated set and pins the file it writes now. */
export async function syncRotation(log: string, maxFiles: number): Promise<void> {
  const pin = pinPath(log);
  const [pinned, current] = await Promise.all([inode(pin), inode(log)]);
  if (pinned !== undefined && pinned !== current) {
    await shift(log, maxFiles);
    await rename(pin, rotated(log, 1));
  }
  if (current !== undefined && pinned !== current) await link(log, pin).catch(warnOnly('log rotation: could not pin the current log'));
}

/**
 * Before conmon (re)starts on an existing log: conmon counts the size from zero and appends, so a
 * log that already has content is rotated first to keep every file within max-size.
 */
export async function rotateBeforeStart(log: string, maxFiles: number): Promise<void> {
  await syncRotation(log, maxFiles);
  await rm(pinPath(log), { force: true });
  const size = (await stat(log).catch(() => undefined))?.size ?? 0;
  if (size === 0) return;
  await shift(log, maxFiles);
  await rename(log, rotated(log, 1));
}

/** Rotation of the logs of running containers; watches each container's directory for conmon's rename. */
export class LogRotator {
  private readonly logs = new Map<string, { log: string; maxFiles: number; watcher?: FSWatcher; chain: Promise<void> }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly onError: (id: string, err: unknown) => void,
    private readonly pollMs = 1000,
  ) {}

  /** Starts rotating a running container's log (maxFiles ≥ 2; with one file conmon's truncation is the whole policy). */
  add(id: string, log: string, maxFiles: number): void {
    if (maxFiles < 2 || this.logs.has(id)) return;
    const entry: { log: string; maxFiles: number; watcher?: FSWatcher; chain: Promise<void> } = { log, maxFiles, chain: Promise.resolve() };
    const base = basename(log);
    try {
      // conmon's replacement is a rename of `<log>.tmp` onto `<log>`: both names show up in the directory's events.
      entry.watcher = watch(dirname(log), { persistent: false }, (_e, file) => {
        const f = file?.toString();
        if (f === base || f === `${base}.tmp`) this.sync(id);
      });
      entry.watcher.on('error', () => undefined);
    } catch {
      entry.watcher = undefined;
    }
    this.logs.set(id, entry);
    this.sync(id);
    if (!this.timer) {
      // inotify can miss events (and a directory may not support it); a slow sweep catches up.
      this.timer = setInterval(() => {
        for (const k of this.logs.keys()) this.sync(k);
      }, this.pollMs);
      this.timer.unref();
    }
  }

  private sync(id: string): Promise<void> {
    const entry = this.logs.get(id);
    if (!entry) return Promise.resolve();
    entry.chain = entry.chain.then(() => syncRotation(entry.log, entry.maxFiles)).catch((err: unknown) => this.onError(id, err));
    return entry.chain;
  }

  /** After the container exited: the last replacement is rotated and the pin (now the final file itself) dropped. */
  async remove(id: string): Promise<void> {
    const entry = this.logs.get(id);
    if (!entry) return;
    await this.sync(id);
    entry.watcher?.close();
    this.logs.delete(id);
    if (this.logs.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
    await rm(pinPath(entry.log), { force: true }).catch(warnOnly('log rotation: could not remove a pin'));
  }

  stop(): void {
    for (const e of this.logs.values()) e.watcher?.close();
    this.logs.clear();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
