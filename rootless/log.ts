import { pino, type Logger, type Level } from 'pino';

export type { Logger };

const levels: readonly string[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function isLogLevel(value: string): value is Level | 'silent' {
  return levels.includes(value);
}

/** One logger per process; modules take a child of it so every line says where it came from. */
export function createLogger(level: string = 'info'): Logger {
  return pino({ level: isLogLevel(level) ? level : 'info', base: { pid: process.pid } }, pino.destination(2));
}

let shared: Logger | undefined;

export function setRootLogger(logger: Logger): void {
  shared = logger;
}

export function rootLogger(): Logger {
  shared ??= createLogger(process.env.BURROW_LOG_LEVEL ?? 'info');
  return shared;
}
