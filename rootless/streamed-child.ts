/**
 * A tool started by the spawner whose stdio the daemon streams (`crun exec` for `docker exec`),
 * shaped like the ChildProcess the exec wrapper's callers drive: stdin/stdout/stderr streams, 'exit'
 * with (code, signal), 'error' when it could not start, exitCode/signalCode, kill(). The tool has
 * pipes, as from the daemon; the spawner relays each to a unix-socket connection made here.
 */
import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import type { Spawner, SpawnReply, StreamName } from './spawner.js';

export interface StreamedChildOptions {
  env: Record<string, string | undefined>;
  /** Which of stdin, stdout, stderr are piped ('ignore' leaves /dev/null), as spawn's stdio. */
  stdio: readonly ('pipe' | 'ignore')[];
  detached?: boolean;
}

export class StreamedChild extends EventEmitter {
  readonly stdin: Writable | null = null;
  readonly stdout: Readable | null = null;
  readonly stderr: Readable | null = null;
  pid: number | undefined;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;

  constructor(spawner: Spawner, socket: string, tool: string, args: readonly string[], opts: StreamedChildOptions) {
    super();
    const names: StreamName[] = (['stdin', 'stdout', 'stderr'] as const).filter((_, i) => opts.stdio[i] === 'pipe');
    const seq = spawner.stream({ tool, args, env: opts.env, streams: names, ...(opts.detached ? { detached: true } : {}) }, (r, exited) => this.reply(r, exited));
    const conns = new Map<StreamName, Socket>();
    for (const name of names) {
      const c = connect(socket);
      c.on('error', () => undefined);
      c.write(`${seq} ${name}\n`);
      // Output connections carry nothing from here: their write side ends now.
      if (name !== 'stdin') c.end();
      conns.set(name, c);
    }
    this.stdin = conns.get('stdin') ?? null;
    this.stdout = conns.get('stdout') ?? null;
    this.stderr = conns.get('stderr') ?? null;
    this.conns = [...conns.values()];
  }

  private readonly conns: Socket[];

  private reply(r: SpawnReply, exited: boolean): void {
    if (r.error) {
      for (const c of this.conns) c.destroy();
      this.emit('error', Object.assign(new Error(r.error), { code: r.errno }));
      return;
    }
    if (!exited) {
      this.pid = r.pid;
      this.emit('spawn');
      return;
    }
    this.exitCode = r.code;
    this.signalCode = r.signal;
    this.emit('exit', r.code, r.signal);
  }

  /** As ChildProcess.kill: only a tool that has not exited is signalled (its pid is not reaped before that is known). */
  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    if (this.pid === undefined || this.exitCode !== null || this.signalCode !== null) return false;
    try {
      process.kill(this.pid, signal);
      return true;
    } catch {
      return false;
    }
  }
}
