import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runProcess } from './clients.js';

/** One private tmux server running a docker command in a real terminal, for -it tests. */
export class TmuxSession {
  private readonly socket = `burrow-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  // Under the test bed's scratch dir, which goes away with it.
  private readonly config = mkdtempSync(join(process.env.BURROW_TEST_SCRATCH || tmpdir(), 'burrow-tmux-docker-'));

  constructor(private readonly dockerHost: string) {}

  /** Writes the CLI's config.json (e.g. `{ detachKeys: 'ctrl-x,x' }`) for the commands this session runs. */
  writeConfig(config: Record<string, unknown>): void {
    writeFileSync(join(this.config, 'config.json'), JSON.stringify(config));
  }

  private tmux(args: string[]) {
    return runProcess('tmux', ['-L', this.socket, '-f', '/dev/null', ...args]);
  }

  /** Runs `docker <args>` in an 80x24 window; the pane stays after it exits and shows its exit code. */
  async start(dockerArgs: string[], size = { cols: 80, rows: 24 }): Promise<void> {
    const quoted = dockerArgs.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const cmd = `env DOCKER_HOST='${this.dockerHost}' DOCKER_CONFIG='${this.config}' docker ${quoted}; echo "EXIT=$?"; sleep 60`;
    const r = await this.tmux(['new-session', '-d', '-s', 't', '-x', String(size.cols), '-y', String(size.rows), cmd]);
    if (r.code !== 0) throw new Error(`tmux: ${r.stderr}`);
  }

  async screen(): Promise<string> {
    return (await this.tmux(['capture-pane', '-p', '-t', 't'])).stdout;
  }

  async waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.screen();
      if (pattern.test(s)) return s;
      if (Date.now() > deadline) throw new Error(`screen did not show ${pattern}:\n${s}`);
      await sleep(100);
    }
  }

  async type(text: string): Promise<void> {
    await this.tmux(['send-keys', '-t', 't', '-l', text]);
  }

  async keys(...keys: string[]): Promise<void> {
    await this.tmux(['send-keys', '-t', 't', ...keys]);
  }

  async resize(cols: number, rows: number): Promise<void> {
    await this.tmux(['resize-window', '-t', 't', '-x', String(cols), '-y', String(rows)]);
  }

  async stop(): Promise<void> {
    await this.tmux(['kill-server']);
  }
}
