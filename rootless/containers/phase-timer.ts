/** Per-phase durations of one lifecycle step, logged at debug level to show where a start or an exit spends its time. */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';

export interface PhaseTimer {
  mark(phase: string): void;
  done(): void;
}

export function phaseTimer(logger: Logger, what: string, id: string): PhaseTimer {
  const t0 = performance.now();
  let last = t0;
  const phases: Record<string, number> = {};
  return {
    mark(phase) {
      const now = performance.now();
      phases[phase] = Math.round((now - last) * 10) / 10;
      last = now;
    },
    done() {
      if (logger.isLevelEnabled('debug')) logger.debug({ id: id.slice(0, 12), phasesMs: phases, totalMs: Math.round((performance.now() - t0) * 10) / 10 }, what);
    },
  };
}

/** Waits for every step (so none is still running when the caller cleans up after a failure), then throws the first failure. */
export async function allSettledOrThrow<T extends readonly unknown[]>(steps: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const results = await Promise.allSettled(steps);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
