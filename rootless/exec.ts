import { spawn, type ChildProcess, type ChildProcessByStdio, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { rootLogger } from './log.js';
import { SPAWNER_BINARY, Spawner, type SpawnReply } from './spawner.js';
import { StreamedChild } from './streamed-child.js';

/** The helper that starts tools so the daemon does not fork itself (spawner.ts); undefined until started, or when not built. */
let spawner: Spawner | undefined;

/** How startSpawner was called, so a helper that died can be started again the same way. */
let spawnerOptions: { binary?: string; socket?: string } | undefined;
/** When the last helper was started: one that dies at once is not restarted in a loop. */
let spawnerStartedAt = 0;
const SPAWNER_RESTART_GAP_MS = 5_000;

/**
 * Starts the spawner once, early in the engine's start, so it shares the daemon's namespaces.
 * Without the binary (no Go at build time) tools are forked from the daemon as before.
 */
export function startSpawner(opts: { binary?: string; socket?: string } = {}): void {
  const binary = opts.binary ?? SPAWNER_BINARY;
  spawnerOptions = opts;
  if (spawner?.running || !existsSync(binary)) return;
  // stderr ignored: a helper whose log outlived a closed terminal would die of SIGPIPE.
  const child = spawnTool(binary, opts.socket ? [opts.socket] : [], { stdio: ['pipe', 'pipe', 'ignore'] }) as ChildProcessByStdio<Writable, Readable, null>;
  spawner = new Spawner(child, opts.socket);
  spawnerStartedAt = Date.now();
}

export function stopSpawner(): void {
  spawnerOptions = undefined;
  spawner?.stop();
  spawner = undefined;
}

/**
 * The spawner when it runs (mounts.ts asks it for mount syscalls). One that died (killed by hand,
 * OOM) is started again, from the daemon and so in its namespaces, unless the last one lived less
 * than SPAWNER_RESTART_GAP_MS; meanwhile tools fork from the daemon. Its calls in flight failed.
 */
export function liveSpawner(): Spawner | undefined {
  if (spawner && !spawner.running) {
    spawner = undefined;
    const restart = spawnerOptions !== undefined && Date.now() - spawnerStartedAt >= SPAWNER_RESTART_GAP_MS;
    rootLogger().warn(restart ? 'the spawner exited: starting it again' : 'the spawner exited again at once: tools are forked from the daemon until it has been gone a while');
    if (restart && spawnerOptions) startSpawner(spawnerOptions);
  } else if (!spawner && spawnerOptions !== undefined && Date.now() - spawnerStartedAt >= SPAWNER_RESTART_GAP_MS) {
    startSpawner(spawnerOptions);
  }
  return spawner;
}

interface Outcome {
  stdout: string;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  spawnError?: Error;
  timedOut: boolean;
}

const text = (b: Buffer): string => stripFinalNewline(b.toString('utf8'));

/** A spawn error as Node's own (message "spawn crun ENOENT", code "ENOENT"). */
function spawnErrorOf(reply: SpawnReply): Error | undefined {
  if (!reply.error) return undefined;
  return Object.assign(new Error(reply.error), { code: reply.errno });
}

async function runThroughSpawner(s: Spawner, tool: string, args: readonly string[], env: Record<string, string | undefined>, opts: RunOptions): Promise<Outcome> {
  let r: SpawnReply;
  try {
    r = await s.run({ tool, args, env, ...(opts.cwd ? { cwd: opts.cwd } : {}), ...(opts.input !== undefined ? { input: opts.input } : {}), ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}) });
  } catch (err) {
    // The helper died with the tool in flight: whether it ran is unknown, so it failed.
    return { stdout: '', stderr: '', code: null, signal: null, timedOut: false, spawnError: err instanceof Error ? err : new Error(String(err)) };
  }
  const spawnError = spawnErrorOf(r);
  return { stdout: text(r.stdout), stderr: text(r.stderr), code: r.code, signal: r.signal, timedOut: r.timedOut, ...(spawnError ? { spawnError } : {}) };
}

/** A spawned tool failed; message is the tool's own stderr (or the spawn error). */
export class ToolError extends Error {
  constructor(
    readonly tool: string,
    readonly args: readonly string[],
    readonly exitCode: number | undefined,
    readonly stderr: string,
    message: string,
  ) {
    super(message);
    this.name = 'ToolError';
  }
}

export interface ToolResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Replace the environment instead of extending it. */
  extendEnv?: boolean;
  input?: string | Buffer;
  timeoutMs?: number;
  /** Return the result instead of throwing when the tool exits non-zero. */
  allowFailure?: boolean;
}

/** One trailing newline off, as a shell's $(…) would (the callers compare trimmed text). */
function stripFinalNewline(text: string): string {
  if (text.endsWith('\r\n')) return text.slice(0, -2);
  return text.endsWith('\n') ? text.slice(0, -1) : text;
}

/**
 * The one place Burrow runs external tools: logs the command line at debug level,
 * captures stderr and turns failures into ToolError carrying the tool's own words.
 * (node:child_process directly: a wrapper library cost the daemon megabytes of resident code.)
 */
export async function runTool(tool: string, args: readonly string[], opts: RunOptions = {}): Promise<ToolResult> {
  const log = rootLogger();
  log.debug({ cmd: [tool, ...args].join(' ') }, 'exec');
  const env = opts.extendEnv === false ? { ...opts.env } : { ...process.env, ...opts.env };
  const helper = liveSpawner();
  const outcome = helper ? await runThroughSpawner(helper, tool, args, env, opts) : await forkTool(tool, args, env, opts);
  const { stdout, stderr } = outcome;
  // A tool that could not start has no exit code (close reports the negated errno).
  const code = outcome.spawnError ? null : outcome.code;
  const exitCode = code ?? -1;
  const failed = outcome.spawnError !== undefined || outcome.timedOut || outcome.code !== 0;
  if (failed && !opts.allowFailure) {
    const reason =
      stderr.trim() ||
      (outcome.timedOut ? `timed out after ${opts.timeoutMs} ms` : '') ||
      outcome.spawnError?.message ||
      (outcome.signal ? `killed by ${outcome.signal}` : `exit code ${exitCode}`);
    log.debug({ cmd: tool, exitCode, stderr: reason }, 'exec failed');
    throw new ToolError(tool, args, code ?? undefined, stderr, `${tool}: ${reason}`);
  }
  return { stdout, stderr, exitCode };
}

/** runTool without the spawner: a child of the daemon itself. */
function forkTool(tool: string, args: readonly string[], env: Record<string, string | undefined>, opts: RunOptions): Promise<Outcome> {
  return new Promise<Outcome>((resolve) => {
    const child = spawn(tool, [...args], { cwd: opts.cwd, env, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    let spawnError: Error | undefined;
    const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
    }, opts.timeoutMs);
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => (spawnError = e));
    if (opts.input !== undefined && child.stdin) {
      // A tool that exits without reading all of its input must not crash the daemon with EPIPE.
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.input);
    }
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const joined = (chunks: Buffer[]): string => text(Buffer.concat(chunks));
      resolve({ stdout: joined(out), stderr: joined(err), code, signal, timedOut, ...(spawnError ? { spawnError } : {}) });
    });
  });
}

/** A tool whose output (or input) is too big to hold in memory: stdout is handed over as a stream. */
export interface ToolStream {
  stdout: Readable;
  stdin: Writable;
  /** Settles when the tool has exited: rejects with ToolError unless the exit code is allowed. */
  done: Promise<ToolResult>;
  kill(): void;
}

export interface StreamOptions {
  cwd?: string;
  /** Exit codes that are not failures (GNU tar's 1 means "a file changed as we read it"). */
  okExitCodes?: readonly number[];
}

/**
 * runTool's streaming sibling: the caller pipes stdin/stdout; stderr is captured (capped) for the
 * error message, as runTool does.
 */
export function streamTool(tool: string, args: readonly string[], opts: StreamOptions = {}): ToolStream {
  const log = rootLogger();
  log.debug({ cmd: [tool, ...args].join(' ') }, 'exec (stream)');
  const child = spawn(tool, [...args], { cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => {
    if (stderr.length < 64 * 1024) stderr += b.toString('utf8');
  });
  // A consumer that stops reading early must not crash the daemon with EPIPE.
  child.stdin.on('error', () => undefined);
  const ok = new Set([0, ...(opts.okExitCodes ?? [])]);
  const done = new Promise<ToolResult>((resolve, reject) => {
    child.on('error', (err) => reject(new ToolError(tool, args, undefined, stderr, `${tool}: ${err.message}`)));
    child.on('close', (code, signal) => {
      const exitCode = code ?? -1;
      if (ok.has(exitCode)) return resolve({ stdout: '', stderr, exitCode });
      const reason = stderr.trim() || (signal ? `killed by ${signal}` : `exit code ${exitCode}`);
      log.debug({ cmd: tool, exitCode, stderr: reason }, 'exec failed');
      reject(new ToolError(tool, args, code ?? undefined, stderr, `${tool}: ${reason}`));
    });
  });
  return { stdout: child.stdout, stdin: child.stdin, done, kill: () => void child.kill('SIGKILL') };
}

export interface SpawnToolOptions extends SpawnOptions {
  /** What the debug log shows instead of the arguments (a script passed with -c). */
  display?: string;
}

/**
 * runTool's sibling for a process the caller drives itself (conmon, `crun exec`, the console relay,
 * the user namespace holder, the uplink, git): logged like every tool, and a failure to start is
 * logged here too; the caller's 'error' handler can turn it into a ToolError with startFailure.
 */
export function spawnTool(tool: string, args: readonly string[], opts: SpawnToolOptions): ChildProcess {
  const { display, ...spawnOpts } = opts;
  rootLogger().debug({ cmd: display ?? [tool, ...args].join(' ') }, 'exec');
  const child = spawn(tool, [...args], spawnOpts);
  child.once('error', (err) => rootLogger().debug({ cmd: tool, err: err.message }, 'exec failed to start'));
  return child;
}

/** What callers of spawnTool drive: a ChildProcess, or the spawner's StreamedChild. */
export interface DrivenChild {
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  readonly exitCode: number | null;
  readonly signalCode: NodeJS.Signals | null;
  kill(signal?: NodeJS.Signals): boolean;
  once(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): unknown;
  once(event: 'error', listener: (err: Error) => void): unknown;
}

/**
 * spawnTool for a tool whose stdio are pipes the caller streams (`crun exec`): started by the
 * spawner when it serves streams (the tool still gets pipes), else forked from the daemon.
 */
export function spawnStreamedTool(tool: string, args: readonly string[], opts: { stdio: ('pipe' | 'ignore')[]; detached?: boolean }): DrivenChild {
  const helper = liveSpawner();
  if (!helper?.socket) return spawnTool(tool, args, opts);
  rootLogger().debug({ cmd: [tool, ...args].join(' ') }, 'exec (streamed)');
  const child = new StreamedChild(helper, helper.socket, tool, args, { env: { ...process.env }, ...opts });
  child.once('error', (err: Error) => rootLogger().debug({ cmd: tool, err: err.message }, 'exec failed to start'));
  return child;
}

/** The ToolError for a tool that could not be started at all (ENOENT, EACCES…). */
export function startFailure(tool: string, args: readonly string[], err: Error): ToolError {
  return new ToolError(tool, args, undefined, '', `${tool}: ${err.message}`);
}

export interface DaemonToolOptions {
  /** stdout and stderr are appended here: the tool outlives pipes to a daemon that may restart. */
  logFile: string;
  cwd?: string;
}

/**
 * runTool's sibling for a long-lived helper (buildkitd): detached in its own process group, its
 * output in a log file, not a child the daemon waits for. Resolves with the pid once it is spawned;
 * a tool that cannot start at all rejects with ToolError.
 */
export async function startDaemonTool(tool: string, args: readonly string[], opts: DaemonToolOptions): Promise<number> {
  const { open } = await import('node:fs/promises');
  rootLogger().debug({ cmd: [tool, ...args].join(' ') }, 'exec (daemon)');
  const log = await open(opts.logFile, 'a', 0o600);
  try {
    const child = spawn(tool, [...args], { cwd: opts.cwd, detached: true, stdio: ['ignore', log.fd, log.fd] });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', (err) => reject(new ToolError(tool, args, undefined, '', `${tool}: ${err.message}`)));
      child.once('spawn', () => resolve(child.pid as number));
    });
    child.unref();
    return pid;
  } finally {
    await log.close();
  }
}

export interface SyncPipeOptions {
  env: Record<string, string | undefined>;
  /** The tool's stderr, truncated first: a pipe would give a detached monitor SIGPIPE once the daemon is gone. */
  stderrFile: string;
  timeoutMs: number;
}

/** What a sync-pipe tool said: its first JSON object, or that the pipe ended (or the time ran out) without one. */
export type SyncPipeOutcome = { kind: 'message'; text: string } | { kind: 'ended' } | { kind: 'timedOut' };

const SYNC_MESSAGE = /\{[^{}]*\}/;

/**
 * conmon's way of starting: detached in a session of its own, stdin and stdout /dev/null, stderr
 * the file, and fd 3 a pipe (the caller sets _OCI_SYNCPIPE) on which it writes one JSON object once
 * the container exists or failed. The tool is not waited for: it daemonizes. A tool that cannot be
 * started at all rejects with ToolError.
 */
export async function runSyncPipeTool(tool: string, args: readonly string[], opts: SyncPipeOptions): Promise<SyncPipeOutcome> {
  rootLogger().debug({ cmd: [tool, ...args].join(' ') }, 'exec (sync pipe)');
  const helper = liveSpawner();
  if (!helper) return forkSyncPipeTool(tool, args, opts);
  let r: SpawnReply;
  try {
    r = await helper.run({ tool, args, env: opts.env, syncPipe: true, stderrFile: opts.stderrFile, detached: true, timeoutMs: opts.timeoutMs });
  } catch (err) {
    throw startFailure(tool, args, err instanceof Error ? err : new Error(String(err)));
  }
  const spawnError = spawnErrorOf(r);
  if (spawnError) throw startFailure(tool, args, spawnError);
  const m = SYNC_MESSAGE.exec(r.sync ?? '');
  if (m) return { kind: 'message', text: m[0] };
  return r.timedOut ? { kind: 'timedOut' } : { kind: 'ended' };
}

async function forkSyncPipeTool(tool: string, args: readonly string[], opts: SyncPipeOptions): Promise<SyncPipeOutcome> {
  const { open } = await import('node:fs/promises');
  const err = await open(opts.stderrFile, 'w', 0o600);
  try {
    const child = spawn(tool, [...args], { stdio: ['ignore', 'ignore', err.fd, 'pipe'], env: opts.env, detached: true });
    const sync = child.stdio[3] as Readable | null;
    if (!sync) throw startFailure(tool, args, new Error('no sync pipe'));
    return await new Promise<SyncPipeOutcome>((resolve, reject) => {
      let text = '';
      const timer = setTimeout(() => finish({ kind: 'timedOut' }), opts.timeoutMs);
      const finish = (result: SyncPipeOutcome | Error): void => {
        clearTimeout(timer);
        sync.removeAllListeners();
        sync.on('error', () => undefined);
        sync.destroy();
        child.unref();
        if (result instanceof Error) reject(result);
        else resolve(result);
      };
      sync.on('data', (b: Buffer) => {
        text += b.toString('utf8');
        const m = SYNC_MESSAGE.exec(text);
        if (m) finish({ kind: 'message', text: m[0] });
      });
      sync.on('error', () => finish({ kind: 'ended' }));
      sync.on('end', () => finish({ kind: 'ended' }));
      child.on('error', (e) => finish(startFailure(tool, args, e)));
    });
  } finally {
    await err.close();
  }
}
