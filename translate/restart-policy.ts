/** HostConfig.RestartPolicy as dockerd applies it (daemon/restartmanager): validation, the decision, the back-off. */
import { invalidParameter } from './errors.js';

export interface RestartPolicy {
  Name?: string;
  MaximumRetryCount?: number;
}

export const RESTART_BACKOFF_START_MS = 100;
export const RESTART_BACKOFF_MAX_MS = 60_000;
/** A container that stayed up this long starts its back-off over. */
export const RESTART_RESET_AFTER_MS = 10_000;

const NAMES = ['', 'no', 'always', 'unless-stopped', 'on-failure'];

export function validateRestartPolicy(p: RestartPolicy | null | undefined, autoRemove: boolean): void {
  const name = p?.Name ?? '';
  if (!NAMES.includes(name)) throw invalidParameter(`invalid restart policy: unknown policy '${name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  const max = p?.MaximumRetryCount ?? 0;
  if (max < 0) throw invalidParameter('invalid restart policy: maximum retry count cannot be negative');
  if (max > 0 && name !== 'on-failure') throw invalidParameter(`invalid restart policy: maximum retry count can only be used with 'on-failure'`);
  if (autoRemove && name !== '' && name !== 'no') throw invalidParameter(`can't create 'AutoRemove' container with restart policy`);
}

export interface ExitFacts {
  exitCode: number;
  /** Restarts so far (RestartCount). */
  restartCount: number;
  /** `docker stop` was used; only unless-stopped cares. */
  manuallyStopped: boolean;
}

export function shouldRestart(p: RestartPolicy | null | undefined, f: ExitFacts): boolean {
  switch (p?.Name ?? '') {
    case 'always':
      return true;
    case 'unless-stopped':
      return !f.manuallyStopped;
    case 'on-failure': {
      const max = p?.MaximumRetryCount ?? 0;
      return f.exitCode !== 0 && (max === 0 || f.restartCount < max);
    }
    default:
      return false;
  }
}

/** The next delay: 100 ms, doubling up to a minute; back to 100 ms after a run of 10 s or more. */
export function nextRestartDelay(previousMs: number, ranMs: number): number {
  if (ranMs >= RESTART_RESET_AFTER_MS || previousMs <= 0) return RESTART_BACKOFF_START_MS;
  return Math.min(previousMs * 2, RESTART_BACKOFF_MAX_MS);
}
