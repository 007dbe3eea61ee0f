import { pino, type Logger, type Level } from 'pino';
import { humanizeJsonLine } from '../translate/log-line.js';

export type { Logger };

const levels: readonly string[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function isLogLevel(value: string): value is Level | 'silent' {
  return levels.includes(value);
}

export type LogFormat = 'json' | 'text';

/** dockerd-like text lines on a terminal, JSON (for machines, journald, log shippers) elsewhere. */
export function defaultLogFormat(): LogFormat {
  return process.stderr.isTTY ? 'text' : 'json';
}

/**
 * One logger per process; modules take a child of it so every line says where it came from. The text
 * form formats each line as it is written: a daemon's log is a few lines a second, and a terminal is
 * a person reading.
 */
export function createLogger(level: string = 'info', format: LogFormat = 'json'): Logger {
  const options = { level: isLogLevel(level) ? level : 'info', base: { pid: process.pid } };
  if (format === 'json') return pino(options, pino.destination(2));
  const out = pino.destination({ fd: 2, sync: true });
  return pino(options, { write: (line: string) => void out.write(humanizeJsonLine(line)) });
}

let shared: Logger | undefined;

export function setRootLogger(logger: Logger): void {
  shared = logger;
}

export function rootLogger(): Logger {
  shared ??= createLogger(process.env.BURROW_LOG_LEVEL ?? 'info');
  return shared;
}

/**
 * The catch handler for clean-up whose failure must not fail the operation (a stale file left,
 * a rotation step missed): logged as a warning rather than swallowed. A file already gone (ENOENT)
 * is what the clean-up wanted, so it says nothing.
 */
export function warnOnly(what: string): (err: unknown) => void {
  return (err) => {
    if ((err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return;
    rootLogger().warn({ err: err instanceof Error ? err.message : String(err) }, what);
  };
}
