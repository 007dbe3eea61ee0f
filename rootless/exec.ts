import { spawn } from 'node:child_process';
import { execa, type Options } from 'execa';
import type { Readable, Writable } from 'node:stream';
import { rootLogger } from './log.js';

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

/**
 * The one place Burrow runs external tools: logs the command line at debug level,
 * captures stderr and turns failures into ToolError carrying the tool's own words.
 */
export async function runTool(tool: string, args: readonly string[], opts: RunOptions = {}): Promise<ToolResult> {
  const log = rootLogger();
  log.debug({ cmd: [tool, ...args].join(' ') }, 'exec');
  const execaOpts: Options = {
    cwd: opts.cwd,
    env: opts.env,
    extendEnv: opts.extendEnv ?? true,
    input: opts.input,
    timeout: opts.timeoutMs,
    reject: false,
    stripFinalNewline: true,
    encoding: 'utf8',
  };
  const result = await execa(tool, [...args], execaOpts);
  const stdout = String(result.stdout ?? '');
  const stderr = String(result.stderr ?? '');
  const exitCode = typeof result.exitCode === 'number' ? result.exitCode : -1;
  if (result.failed && !opts.allowFailure) {
    const reason = stderr.trim() || (result.timedOut ? `timed out after ${opts.timeoutMs} ms` : '') || result.shortMessage || `exit code ${exitCode}`;
    log.debug({ cmd: tool, exitCode, stderr: reason }, 'exec failed');
    throw new ToolError(tool, args, result.exitCode, stderr, `${tool}: ${reason}`);
  }
  return { stdout, stderr, exitCode };
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
