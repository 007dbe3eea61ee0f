/**
 * Healthchecks as dockerd defines them (daemon/health.go, container/health.go), without any I/O:
 * config validation and defaults, the probe command, the state machine a probe result drives,
 * the probe delay, the capped probe output, the `docker ps` status suffix and the `health` filter.
 */
import { versionAtLeast } from './api-version.js';
import type { HealthConfig } from './container-config.js';
import type { ContainerCreateBody } from '../openapi/containers.js';
import { invalidParameter } from './errors.js';

export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

/** One probe, as State.Health.Log carries it. */
export interface HealthResult {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

/** State.Health as inspect shows it; kept as is in the container record. */
export interface HealthState {
  Status: HealthStatus;
  FailingStreak: number;
  Log: HealthResult[];
}

/** dockerd's defaults for zero fields, in milliseconds. */
export const HEALTH_DEFAULTS = { intervalMs: 30_000, timeoutMs: 30_000, startPeriodMs: 0, startIntervalMs: 5_000, retries: 3 } as const;
/** dockerd keeps this many results in Log, and this many bytes of a probe's output. */
export const MAX_LOG_ENTRIES = 5;
export const MAX_OUTPUT_BYTES = 4096;

export interface HealthTiming {
  intervalMs: number;
  timeoutMs: number;
  startPeriodMs: number;
  startIntervalMs: number;
  retries: number;
  /** The timeout as the config gave it (ns), for dockerd's message which prints it as a Go duration. */
  timeoutNs: number;
}

const ms = (ns: number | undefined, dflt: number): number => (ns ? ns / 1e6 : dflt);

export function healthTiming(c: HealthConfig): HealthTiming {
  return {
    intervalMs: ms(c.Interval, HEALTH_DEFAULTS.intervalMs),
    timeoutMs: ms(c.Timeout, HEALTH_DEFAULTS.timeoutMs),
    startPeriodMs: ms(c.StartPeriod, HEALTH_DEFAULTS.startPeriodMs),
    startIntervalMs: ms(c.StartInterval, HEALTH_DEFAULTS.startIntervalMs),
    retries: c.Retries && c.Retries > 0 ? c.Retries : HEALTH_DEFAULTS.retries,
    timeoutNs: c.Timeout || HEALTH_DEFAULTS.timeoutMs * 1e6,
  };
}

/** dockerd's create-time checks (daemon/container.go validateHealthCheck), same words. */
export function validateHealthConfig(c: HealthConfig | null | undefined): void {
  if (!c) return;
  const MIN_NS = 1e6;
  const short = (v: number | undefined): boolean => v !== undefined && v !== 0 && v < MIN_NS;
  if (short(c.Interval)) throw invalidParameter('Interval in Healthcheck cannot be less than 1ms');
  if (short(c.Timeout)) throw invalidParameter('Timeout in Healthcheck cannot be less than 1ms');
  if (c.Retries !== undefined && c.Retries < 0) throw invalidParameter('Retries in Healthcheck cannot be negative');
  if (short(c.StartPeriod)) throw invalidParameter('StartPeriod in Healthcheck cannot be less than 1ms');
  if (short(c.StartInterval)) throw invalidParameter('StartInterval in Healthcheck cannot be less than 1ms');
}

/**
 * The command a probe runs, or null when the container has no probe (no config, empty Test,
 * NONE, or a type dockerd does not know, which it only logs). CMD-SHELL goes through the
 * container's Shell, `/bin/sh -c` by default.
 */
export function probeCommand(c: HealthConfig | null | undefined, shell: string[] | null | undefined): string[] | null {
  const test = c?.Test;
  if (!test || test.length === 0) return null;
  const args = test.slice(1);
  if (test[0] === 'CMD') return args.length > 0 ? args : null;
  if (test[0] === 'CMD-SHELL') return [...(shell && shell.length > 0 ? shell : ['/bin/sh', '-c']), ...args];
  return null;
}

/**
 * The state after one probe (dockerd's handleProbeResult): success resets the streak and makes it
 * healthy; a failure counts toward Retries unless the container is still starting within its
 * start period (measured from the probe's start).
 */
export function applyProbeResult(h: HealthState, r: HealthResult, t: Pick<HealthTiming, 'retries' | 'startPeriodMs'>, startedAt: string): HealthState {
  const Log = [...h.Log, r].slice(-MAX_LOG_ENTRIES);
  if (r.ExitCode === 0) return { Status: 'healthy', FailingStreak: 0, Log };
  const inStartPeriod = h.Status === 'starting' && Date.parse(r.Start) - Date.parse(startedAt) < t.startPeriodMs;
  if (inStartPeriod) return { ...h, Log };
  const FailingStreak = h.FailingStreak + 1;
  return { Status: FailingStreak >= t.retries ? 'unhealthy' : h.Status, FailingStreak, Log };
}

/**
 * How long until the next probe (dockerd 25+): StartInterval while starting inside the start
 * period, Interval otherwise. `sinceStartMs` is the time since the container started.
 */
export function nextProbeDelay(t: HealthTiming, sinceStartMs: number, status: HealthStatus): number {
  if (sinceStartMs >= t.startPeriodMs) return t.intervalMs;
  return status === 'starting' ? t.startIntervalMs : t.intervalMs;
}

/** A probe's stdout and stderr together, cut at 4096 bytes with "..." appended, as dockerd's limitedBuffer. */
export class ProbeOutput {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private truncated = false;

  write(b: Buffer): void {
    const keep = Math.min(MAX_OUTPUT_BYTES - this.size, b.length);
    if (keep > 0) {
      this.chunks.push(b.subarray(0, keep));
      this.size += keep;
    }
    if (keep < b.length) this.truncated = true;
  }

  toString(): string {
    const out = Buffer.concat(this.chunks).toString('utf8');
    return this.truncated ? `${out}...` : out;
  }
}

/** dockerd's result for a probe that overran its timeout. */
export function timeoutOutput(timeoutNs: number, output: string): string {
  const head = `Health check exceeded timeout (${goDuration(timeoutNs)})`;
  return output !== '' ? `${head}: ${output}` : head;
}

/** Go's time.Duration.String(), e.g. 1s, 1.5s, 1m30s, 1h0m0s, 500ms. */
export function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  const sign = ns < 0 ? '-' : '';
  let u = Math.abs(Math.round(ns));
  const frac = (v: number, div: number): string => {
    const whole = Math.floor(v / div);
    const rest = v - whole * div;
    if (rest === 0) return String(whole);
    const digits = String(rest).padStart(String(div).length - 1, '0').replace(/0+$/, '');
    return `${whole}.${digits}`;
  };
  if (u < 1e3) return `${sign}${u}ns`;
  if (u < 1e6) return `${sign}${frac(u, 1e3)}µs`;
  if (u < 1e9) return `${sign}${frac(u, 1e6)}ms`;
  const h = Math.floor(u / 3.6e12);
  u -= h * 3.6e12;
  const m = Math.floor(u / 6e10);
  u -= m * 6e10;
  const hm = h > 0 ? `${h}h${m}m` : m > 0 ? `${m}m` : '';
  return `${sign}${hm}${frac(u, 1e9)}s`;
}

/** What `docker ps` puts in parentheses after "Up …" (container/health.go String). */
export function healthSuffix(h: HealthState | undefined): string {
  if (!h) return '';
  return h.Status === 'starting' ? ' (health: starting)' : ` (${h.Status})`;
}

const FILTER_VALUES = new Set(['starting', 'healthy', 'unhealthy', 'none']);

/** The `health` filter of GET /containers/json: values checked with dockerd's words. */
export function validateHealthFilter(values: readonly string[]): void {
  for (const v of values) if (!FILTER_VALUES.has(v)) throw invalidParameter(`Unrecognised filter value for health: ${v}`);
}

/** The health a container counts as for the filter: "none" without a healthcheck. */
export function healthFilterValue(h: HealthState | undefined): string {
  return h ? h.Status : 'none';
}

/** A fresh (re)start: dockerd resets status and streak and keeps the log. */
export function resetHealth(h: HealthState | undefined): HealthState {
  return { Status: 'starting', FailingStreak: 0, Log: h?.Log ?? [] };
}

/** dockerd's router drops Healthcheck.StartInterval from create bodies of API versions before 1.44, which lacked it. */
export function healthcheckForVersion(body: ContainerCreateBody | undefined, version: string): ContainerCreateBody | undefined {
  const hc = body?.Healthcheck;
  if (versionAtLeast(version, '1.44') || !body || !hc || !('StartInterval' in hc)) return body;
  const { StartInterval: _dropped, ...rest } = hc;
  return { ...body, Healthcheck: rest };
}
