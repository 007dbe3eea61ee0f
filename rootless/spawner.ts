/**
 * The daemon's side of the spawner (rootless/spawner, Go): a small long-lived helper that starts
 * short-lived tools for the exec wrapper. Forking the daemon itself copies the page tables of a
 * ~100 MiB process and blocks the event loop until the child has exec'd (4–30 ms a spawn, more
 * under load; a container start spawns several tools), which stalled every other request during
 * concurrent starts. The helper is started once, from the daemon, so it shares its namespaces.
 */
import type { ChildProcessByStdio } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

/** Where `npm run build` (scripts/build-spawner.sh) puts the helper: next to this module in dist/. */
export const SPAWNER_BINARY = fileURLToPath(new URL('./burrow-spawner', import.meta.url));

export interface SpawnRequest {
  tool: string;
  args: readonly string[];
  /** The tool's whole environment. */
  env: Record<string, string | undefined>;
  cwd?: string;
  input?: string | Buffer;
  timeoutMs?: number;
  /** conmon's mode: fd 3 is the sync pipe, stderr goes to stderrFile; the reply is the pipe's first JSON object. */
  syncPipe?: boolean;
  stderrFile?: string;
  detached?: boolean;
}

export interface SpawnReply {
  pid?: number;
  stdout: Buffer;
  stderr: Buffer;
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** The tool could not be started: Node's own words for it ("spawn crun ENOENT"). */
  error?: string;
  errno?: string;
  sync?: string;
}

interface WireReply {
  seq: number;
  pid?: number;
  stdout?: string;
  stderr?: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut?: boolean;
  error?: string;
  errno?: string;
  sync?: string;
  exited?: boolean;
}

export type SpawnerOp =
  | { op: 'mount'; target: string; fstype: string; data: string }
  | { op: 'umount'; target: string; lazy: boolean }
  | { op: 'netns-create'; target: string; batch: string; peerNs?: string; peerBatch?: string }
  | { op: 'netns-remove'; target?: string; peerNs?: string; peerBatch?: string };

function decode(r: WireReply): SpawnReply {
  return {
    ...(r.pid ? { pid: r.pid } : {}),
    stdout: Buffer.from(r.stdout ?? '', 'base64'),
    stderr: Buffer.from(r.stderr ?? '', 'base64'),
    code: r.code,
    signal: r.signal,
    timedOut: r.timedOut === true,
    ...(r.error ? { error: r.error, errno: r.errno } : {}),
    ...(r.sync !== undefined ? { sync: r.sync } : {}),
  };
}

/** The stdio of a streamed tool that the daemon connects to the spawner's socket for. */
export type StreamName = 'stdin' | 'stdout' | 'stderr';

const envList = (env: Record<string, string | undefined>): string[] => Object.entries(env).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`]));

export class Spawner {
  private seq = 0;
  private readonly waiting = new Map<number, { resolve: (r: SpawnReply) => void; reject: (e: Error) => void }>();
  /** Streamed tools: the first reply says started (pid) or not (error), the second (exited) how it ended. */
  private readonly streaming = new Map<number, (r: SpawnReply, exited: boolean) => void>();
  private exited = false;

  /** `child`: the helper, started by the exec wrapper (startSpawner) with stdin and stdout piped. */
  constructor(
    private readonly child: ChildProcessByStdio<Writable, Readable, null>,
    /** Where it serves streamed tools' stdio; undefined: it does not (the caller forks those). */
    readonly socket?: string,
  ) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      let r: WireReply;
      try {
        r = JSON.parse(line) as WireReply;
      } catch {
        return;
      }
      const onStream = this.streaming.get(r.seq);
      if (onStream) {
        if (r.exited || r.error) this.streaming.delete(r.seq);
        onStream(decode(r), r.exited === true);
        return;
      }
      const w = this.waiting.get(r.seq);
      this.waiting.delete(r.seq);
      w?.resolve(decode(r));
    });
    child.stdin.on('error', () => undefined);
    child.once('error', (err) => this.gone(err.message));
    child.once('exit', (code, signal) => this.gone(String(code ?? signal)));
  }

  get running(): boolean {
    return !this.exited;
  }

  private gone(why: string): void {
    if (this.exited) return;
    this.exited = true;
    for (const w of this.waiting.values()) w.reject(new Error(`the spawner exited (${why})`));
    this.waiting.clear();
    // A streamed tool still runs (the helper's children are not killed with it); its end is unknown.
    const lost: SpawnReply = { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), code: null, signal: 'SIGKILL', timedOut: false };
    for (const on of this.streaming.values()) on(lost, true);
    this.streaming.clear();
  }

  /**
   * Work done in the helper itself, in the daemon's namespaces: a mount syscall (the reply reads
   * like mount(8)'s: 0, or 32 and its words on stderr), or a container's network namespace created
   * or removed (unshare, the nsfs bind mount, `ip -b -` in it and in the peer netns: non-zero and
   * the failing step's words on stderr). `env` is the environment `ip` is looked up and run with.
   */
  op(body: SpawnerOp, env: Record<string, string | undefined> = process.env): Promise<SpawnReply> {
    return this.send({ ...body, env: envList(env) });
  }

  run(req: SpawnRequest): Promise<SpawnReply> {
    const env = envList(req.env);
    const wire = {
      tool: req.tool,
      args: req.args,
      env,
      ...(req.cwd ? { cwd: req.cwd } : {}),
      ...(req.input !== undefined ? { hasInput: true, input: Buffer.from(req.input).toString('base64') } : {}),
      ...(req.timeoutMs !== undefined ? { timeoutMs: req.timeoutMs } : {}),
      ...(req.syncPipe ? { syncPipe: true, stderrFile: req.stderrFile } : {}),
      ...(req.detached ? { detached: true } : {}),
    };
    return this.send(wire);
  }

  /**
   * Starts a tool whose stdio the caller streams: it connects to `socket` once per name in
   * `streams`, announcing "<seq> <name>" (the returned seq). `on` hears the start and the exit.
   */
  stream(req: { tool: string; args: readonly string[]; env: Record<string, string | undefined>; detached?: boolean; streams: StreamName[] }, on: (r: SpawnReply, exited: boolean) => void): number {
    const seq = ++this.seq;
    if (this.exited) {
      queueMicrotask(() => on({ stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), code: null, signal: null, timedOut: false, error: 'the spawner is not running' }, false));
      return seq;
    }
    this.streaming.set(seq, on);
    this.child.stdin.write(`${JSON.stringify({ op: 'stream', seq, tool: req.tool, args: req.args, env: envList(req.env), streams: req.streams, ...(req.detached ? { detached: true } : {}) })}\n`);
    return seq;
  }

  private send(body: object): Promise<SpawnReply> {
    if (this.exited) return Promise.reject(new Error('the spawner is not running'));
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject });
      this.child.stdin.write(`${JSON.stringify({ ...body, seq })}\n`);
    });
  }

  /** Ends its input: it exits, leaving tools still running to finish by themselves. */
  stop(): void {
    if (!this.exited) this.child.stdin.end();
  }
}
