/** Timing helpers: warm-up runs are executed and thrown away, the rest reported as min/median. */
import { performance } from 'node:perf_hooks';

export interface Sample {
  /** Measured values (ms, or the workload's unit), warm-ups excluded. */
  values: number[];
  min: number;
  median: number;
  unit: string;
}

export function summarize(values: readonly number[], unit = 'ms'): Sample {
  if (values.length === 0) throw new Error('no measurements');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { values: [...values], min: sorted[0], median, unit };
}

/** Time `fn` `runs` times after `warmup` discarded runs; `prepare` runs untimed before each. */
export async function timeRuns(
  runs: number,
  warmup: number,
  fn: (i: number) => Promise<void>,
  prepare?: (i: number) => Promise<void>,
): Promise<Sample> {
  const values: number[] = [];
  for (let i = 0; i < warmup + runs; i++) {
    if (prepare) await prepare(i);
    const t0 = performance.now();
    await fn(i);
    const dt = performance.now() - t0;
    if (i >= warmup) values.push(dt);
  }
  return summarize(values);
}

export function fmt(v: number, unit: string): string {
  if (unit === 'ms') {
    if (v >= 10_000) return `${(v / 1000).toFixed(1)} s`;
    if (v >= 1000) return `${(v / 1000).toFixed(2)} s`;
    if (v >= 100) return `${v.toFixed(0)} ms`;
    if (v >= 10) return `${v.toFixed(1)} ms`;
    return `${v.toFixed(2)} ms`;
  }
  if (unit === 'MiB') return `${v.toFixed(1)} MiB`;
  if (unit === 'Gbit/s') return `${v.toFixed(2)} Gbit/s`;
  return `${v.toFixed(2)} ${unit}`;
}
