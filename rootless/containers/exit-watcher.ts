/** Watches conmon's exit dir: fs.watch for promptness, a slow poll because inotify events can be missed. */
import { watch, type FSWatcher } from 'node:fs';
import { readdir } from 'node:fs/promises';

export class ExitWatcher {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly watched = new Set<string>();

  constructor(
    private readonly dir: string,
    private readonly onExit: (id: string) => void,
    private readonly pollMs = 1000,
  ) {}

  start(): void {
    try {
      this.watcher = watch(this.dir, { persistent: false }, (_event, file) => {
        const id = file?.toString();
        if (id && this.watched.has(id)) this.onExit(id);
      });
      this.watcher.on('error', () => undefined);
    } catch {
      this.watcher = undefined;
    }
    this.timer = setInterval(() => void this.poll(), this.pollMs);
    this.timer.unref();
  }

  add(id: string): void {
    this.watched.add(id);
  }

  delete(id: string): void {
    this.watched.delete(id);
  }

  async poll(): Promise<void> {
    if (this.watched.size === 0) return;
    const names = await readdir(this.dir).catch(() => [] as string[]);
    for (const n of names) if (this.watched.has(n)) this.onExit(n);
  }

  stop(): void {
    this.watcher?.close();
    if (this.timer) clearInterval(this.timer);
  }
}
