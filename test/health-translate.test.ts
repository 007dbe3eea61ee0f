/** The pure healthcheck rules (translate/health.ts) against dockerd's daemon/health.go behaviour. */
import { describe, expect, it } from 'vitest';
import {
  applyProbeResult,
  goDuration,
  healthcheckForVersion,
  healthFilterValue,
  healthSuffix,
  healthTiming,
  nextProbeDelay,
  probeCommand,
  ProbeOutput,
  resetHealth,
  timeoutOutput,
  validateHealthConfig,
  validateHealthFilter,
  type HealthResult,
  type HealthState,
} from '../translate/health.js';
import { statusText, containerInspect } from '../translate/container-json.js';
import type { ContainerRecord } from '../translate/container-record.js';

const started = '2026-01-01T00:00:00.000Z';
const at = (sec: number, code: number): HealthResult => {
  const t = new Date(Date.parse(started) + sec * 1000).toISOString();
  return { Start: t, End: t, ExitCode: code, Output: '' };
};
const starting: HealthState = { Status: 'starting', FailingStreak: 0, Log: [] };

describe('healthcheck config', () => {
  it('zero fields take dockerd defaults: 30s interval and timeout, 3 retries, no start period, 5s start interval', () => {
    expect(healthTiming({ Test: ['CMD', 'true'] })).toEqual({ intervalMs: 30_000, timeoutMs: 30_000, startPeriodMs: 0, startIntervalMs: 5_000, retries: 3, timeoutNs: 30e9 });
    const t = healthTiming({ Interval: 1e9, Timeout: 2e9, StartPeriod: 3e9, StartInterval: 4e9, Retries: 7 });
    expect(t).toMatchObject({ intervalMs: 1000, timeoutMs: 2000, startPeriodMs: 3000, startIntervalMs: 4000, retries: 7 });
  });

  it('refuses what dockerd refuses at create, in its words', () => {
    expect(() => validateHealthConfig({ Interval: 5e5 })).toThrow('Interval in Healthcheck cannot be less than 1ms');
    expect(() => validateHealthConfig({ Timeout: -1 })).toThrow('Timeout in Healthcheck cannot be less than 1ms');
    expect(() => validateHealthConfig({ Retries: -1 })).toThrow('Retries in Healthcheck cannot be negative');
    expect(() => validateHealthConfig({ StartPeriod: 10 })).toThrow('StartPeriod in Healthcheck cannot be less than 1ms');
    expect(() => validateHealthConfig({ StartInterval: 10 })).toThrow('StartInterval in Healthcheck cannot be less than 1ms');
    expect(() => validateHealthConfig({ Interval: 0, Timeout: 1e6, Retries: 0 })).not.toThrow();
    expect(() => validateHealthConfig(null)).not.toThrow();
  });

  it('StartInterval is dropped from create bodies before API 1.44, as dockerd does', () => {
    const body = { Image: 'x', Healthcheck: { Test: ['CMD', 'true'], StartInterval: 2e9 } };
    expect(healthcheckForVersion(body, '1.43')).toEqual({ Image: 'x', Healthcheck: { Test: ['CMD', 'true'] } });
    expect(healthcheckForVersion(body, '1.44')).toBe(body);
    expect(healthcheckForVersion({ Image: 'x' }, '1.40')).toEqual({ Image: 'x' });
  });

  it('CMD runs as given, CMD-SHELL through the Shell (sh -c by default), NONE and unknown types have no probe', () => {
    expect(probeCommand({ Test: ['CMD', 'pg_isready', '-q'] }, null)).toEqual(['pg_isready', '-q']);
    expect(probeCommand({ Test: ['CMD-SHELL', 'curl -f localhost || exit 1'] }, null)).toEqual(['/bin/sh', '-c', 'curl -f localhost || exit 1']);
    expect(probeCommand({ Test: ['CMD-SHELL', 'x'] }, ['/bin/bash', '-ec'])).toEqual(['/bin/bash', '-ec', 'x']);
    expect(probeCommand({ Test: ['NONE'] }, null)).toBeNull();
    expect(probeCommand({ Test: ['HTTP', 'x'] }, null)).toBeNull();
    expect(probeCommand({ Test: [] }, null)).toBeNull();
    expect(probeCommand(undefined, null)).toBeNull();
  });
});

describe('health state machine', () => {
  const t = { retries: 3, startPeriodMs: 0 };

  it('one success makes it healthy; Retries failures in a row make it unhealthy; a success resets the streak', () => {
    let h = applyProbeResult(starting, at(1, 0), t, started);
    expect(h).toMatchObject({ Status: 'healthy', FailingStreak: 0 });
    h = applyProbeResult(h, at(2, 1), t, started);
    h = applyProbeResult(h, at(3, 1), t, started);
    expect(h).toMatchObject({ Status: 'healthy', FailingStreak: 2 });
    h = applyProbeResult(h, at(4, -1), t, started);
    expect(h).toMatchObject({ Status: 'unhealthy', FailingStreak: 3 });
    h = applyProbeResult(h, at(5, 0), t, started);
    expect(h).toMatchObject({ Status: 'healthy', FailingStreak: 0 });
  });

  it('failures inside the start period do not count while starting, and do once healthy', () => {
    const sp = { retries: 1, startPeriodMs: 10_000 };
    let h = applyProbeResult(starting, at(2, 1), sp, started);
    expect(h).toMatchObject({ Status: 'starting', FailingStreak: 0 });
    expect(h.Log).toHaveLength(1);
    h = applyProbeResult(h, at(11, 1), sp, started);
    expect(h).toMatchObject({ Status: 'unhealthy', FailingStreak: 1 });
    const healthy = applyProbeResult(starting, at(1, 0), sp, started);
    expect(applyProbeResult(healthy, at(2, 1), sp, started)).toMatchObject({ Status: 'unhealthy', FailingStreak: 1 });
  });

  it('keeps the last 5 results, oldest first', () => {
    let h = starting;
    for (let i = 1; i <= 7; i++) h = applyProbeResult(h, at(i, i), { retries: 100, startPeriodMs: 0 }, started);
    expect(h.Log.map((r) => r.ExitCode)).toEqual([3, 4, 5, 6, 7]);
  });

  it('a restart goes back to starting with the streak cleared and the log kept', () => {
    const h: HealthState = { Status: 'unhealthy', FailingStreak: 4, Log: [at(1, 1)] };
    expect(resetHealth(h)).toEqual({ Status: 'starting', FailingStreak: 0, Log: [at(1, 1)] });
    expect(resetHealth(undefined)).toEqual(starting);
  });

  it('probes every StartInterval while starting inside the start period, every Interval otherwise', () => {
    const timing = healthTiming({ Interval: 30e9, StartPeriod: 60e9, StartInterval: 2e9 });
    expect(nextProbeDelay(timing, 1000, 'starting')).toBe(2000);
    expect(nextProbeDelay(timing, 1000, 'healthy')).toBe(30_000);
    expect(nextProbeDelay(timing, 61_000, 'starting')).toBe(30_000);
    expect(nextProbeDelay(healthTiming({}), 0, 'starting')).toBe(30_000);
  });
});

describe('probe output', () => {
  it('keeps 4096 bytes of stdout and stderr together and marks a cut with "..."', () => {
    const o = new ProbeOutput();
    o.write(Buffer.from('a'.repeat(4000)));
    o.write(Buffer.from('b'.repeat(200)));
    const s = o.toString();
    expect(s).toBe(`${'a'.repeat(4000)}${'b'.repeat(96)}...`);
    const small = new ProbeOutput();
    small.write(Buffer.from('ok\n'));
    expect(small.toString()).toBe('ok\n');
  });

  it("a timeout reads as dockerd's message with the timeout as a Go duration", () => {
    expect(timeoutOutput(1e9, '')).toBe('Health check exceeded timeout (1s)');
    expect(timeoutOutput(1.5e9, 'partial\n')).toBe('Health check exceeded timeout (1.5s): partial\n');
    expect(goDuration(90e9)).toBe('1m30s');
    expect(goDuration(3600e9)).toBe('1h0m0s');
    expect(goDuration(500e6)).toBe('500ms');
    expect(goDuration(1e6)).toBe('1ms');
    expect(goDuration(30e9)).toBe('30s');
  });
});

describe('ps and inspect', () => {
  const rec = (health?: HealthState, paused = false): ContainerRecord =>
    ({
      id: 'c'.repeat(64),
      name: '/web',
      created: started,
      image: 'busybox',
      imageId: 'sha256:x',
      config: { Env: [], Cmd: ['sleep', '9'], Entrypoint: null, Labels: {}, WorkingDir: '', User: '' },
      hostConfig: {},
      state: { status: 'running', pid: 1, exitCode: 0, oomKilled: false, error: '', startedAt: started, finishedAt: started, paused },
      restartCount: 0,
      paths: { root: '', log: '', hosts: '', hostname: '', resolvConf: '' },
      driver: 'overlay',
      ...(health ? { health } : {}),
    }) as ContainerRecord;
  const now = new Date(Date.parse(started) + 5000);

  it('Status says (health: starting), (healthy) or (unhealthy) after Up, and (Paused) alone when paused', () => {
    expect(statusText(rec(starting), now)).toBe('Up 5 seconds (health: starting)');
    expect(statusText(rec({ ...starting, Status: 'healthy' }), now)).toBe('Up 5 seconds (healthy)');
    expect(statusText(rec({ ...starting, Status: 'unhealthy' }), now)).toBe('Up 5 seconds (unhealthy)');
    expect(statusText(rec(), now)).toBe('Up 5 seconds');
    expect(statusText(rec(starting, true), now)).toBe('Up 5 seconds (Paused)');
    expect(healthSuffix(undefined)).toBe('');
  });

  it('State.Health is there only with a healthcheck', () => {
    const withHealth = containerInspect(rec({ Status: 'healthy', FailingStreak: 0, Log: [at(1, 0)] })) as { State: Record<string, unknown> };
    expect(withHealth.State.Health).toEqual({ Status: 'healthy', FailingStreak: 0, Log: [at(1, 0)] });
    expect('Health' in (containerInspect(rec()) as { State: Record<string, unknown> }).State).toBe(false);
  });

  it('the health filter takes starting, healthy, unhealthy and none', () => {
    expect(() => validateHealthFilter(['healthy', 'none'])).not.toThrow();
    expect(() => validateHealthFilter(['good'])).toThrow('Unrecognised filter value for health: good');
    expect(healthFilterValue(undefined)).toBe('none');
    expect(healthFilterValue(starting)).toBe('starting');
  });
});
