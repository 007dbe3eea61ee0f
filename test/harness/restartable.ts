/**
 * One daemon restarted again and again on the same data root and socket, for the suites that kill
 * it on purpose (recovery, fault). Every daemon of such a suite listens on the same socket, so one
 * CLI config serves them all, and a call made while none runs fails as a client's would.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopHolder } from '../../rootless/userns-holder.js';
import { removeTree } from './cleanup.js';
import { dockerCli, type ProcessResult } from './clients.js';
import { startDaemon, type RunningDaemon } from './daemon.js';

export class RestartableDaemon {
  /** The live daemon, if any; a suite that kills it clears this. */
  current: RunningDaemon | undefined;
  private readonly all: RunningDaemon[] = [];
  private cli: ReturnType<typeof dockerCli> | undefined;

  private constructor(readonly dir: string) {}

  static async create(prefix: string): Promise<RestartableDaemon> {
    return new RestartableDaemon(await mkdtemp(join(tmpdir(), prefix)));
  }

  /** Stops the live daemon (if any) cleanly, then starts a new one with `env`. */
  async restart(env: Record<string, string> = {}): Promise<RunningDaemon> {
    const stopped = this.current;
    this.current = undefined;
    await stopped?.stop();
    const d = await startDaemon({ dir: this.dir, env });
    this.all.push(d);
    this.current = d;
    return d;
  }

  /** SIGKILL to the live daemon. */
  async kill(): Promise<void> {
    const d = this.current;
    this.current = undefined;
    await d?.kill();
  }

  docker(args: string[]): Promise<ProcessResult> {
    if (!this.cli) {
      if (!this.current) throw new Error('no daemon');
      this.cli = dockerCli(this.current.dockerHost);
    }
    return this.cli(args, { timeoutMs: 60_000 });
  }

  /** The mounts of container `id` in the engine's mount namespace (the daemon lives in it). */
  async mountsOf(id: string): Promise<string[]> {
    if (!this.current) throw new Error('no daemon');
    const text = await readFile(`/proc/${this.current.pid}/mounts`, 'utf8');
    return text.split('\n').filter((l) => l.includes(`/containers/${id}/`));
  }

  /**
   * Removes what a failed test left, stops the live daemon cleanly so its network helpers (pasta)
   * go with it (a SIGKILL would orphan them), then the namespace holder and the data root.
   */
  async close(): Promise<void> {
    if (this.current) {
      const left = (await this.docker(['ps', '-aq'])).stdout.split('\n').filter(Boolean);
      if (left.length) await this.docker(['rm', '-f', '-v', ...left]);
      await this.current.stop();
    }
    for (const d of this.all) await d.kill();
    const last = this.all.at(-1);
    if (last) await stopHolder(last.runtimeDir);
    // Image layers hold files owned by subuids.
    await removeTree(this.dir);
  }
}
