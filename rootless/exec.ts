import { execa, type Options } from 'execa';
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
