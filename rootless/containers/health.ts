/**
 * The healthcheck scheduler: one timer per container that has a probe, armed while the container
 * runs unpaused, as dockerd's monitor goroutine. Each probe is an exec (exec-service.ts probe); its
 * result moves State.Health (translate/health.ts), which is saved with the container record and
 * announced with dockerd's `health_status: <status>` event when the status changes.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { ContainerRecord } from '../../translate/container-record.js';
import { containerEventAttributes } from '../../translate/events.js';
import {
  applyProbeResult,
  healthTiming,
  nextProbeDelay,
  probeCommand,
  resetHealth,
  timeoutOutput,
  type HealthResult,
} from '../../translate/health.js';
import type { EventBus } from '../events/bus.js';
import type { ProbeRun } from './exec-service.js';
import type { ContainerStore } from './store.js';

export interface HealthMonitorDeps {
  store: ContainerStore;
  /** Undefined when the state machine says no probe now (the container is stopping, paused or gone). */
  probe(rec: ContainerRecord, cmd: string[], timeoutMs: number, signal: AbortSignal): Promise<ProbeRun | undefined>;
  events: EventBus;
  logger: Logger;
}

/** One container's schedule. A stopped monitor ignores the result of a probe still in flight. */
interface Monitor {
  timer?: NodeJS.Timeout;
  probing?: AbortController;
  stopped: boolean;
}

/** The kernel's PF_EXITING task flag: set as a task enters do_exit. */
const PF_EXITING = 0x4;

/**
 * Whether the container's init still runs: not gone, not a zombie, not exiting. A SIGKILLed init
 * drops its namespaces and then waits for the rest of its pid namespace (probes fail with `setns`
 * errors meanwhile), then stays a zombie until conmon reaps it: a probe it took down with it must
 * not count against it.
 */
async function processRunning(pid: number): Promise<boolean> {
  if (pid <= 0) return false;
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // Fields from the state on follow the command name, which is in parentheses and may hold anything.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const [state, flags] = [fields[0] ?? '', Number(fields[6])];
  return state !== '' && state !== 'Z' && state !== 'X' && Number.isInteger(flags) && (flags & PF_EXITING) === 0;
}

const probeOf = (rec: ContainerRecord): string[] | null => probeCommand(rec.config.Healthcheck, rec.config.Shell);

export class HealthMonitor {
  private readonly monitors = new Map<string, Monitor>();

  constructor(private readonly deps: HealthMonitorDeps) {}

  /**
   * A start, restart or adoption by a new daemon (dockerd's initHealthMonitor): status back to
   * `starting`, streak to 0, the log kept; then probing. The caller saves the record.
   */
  init(rec: ContainerRecord): void {
    if (!probeOf(rec)) return;
    this.stop(rec.id);
    rec.health = resetHealth(rec.health);
    this.update(rec);
  }

  /** Probes run exactly while the container runs and is not paused (dockerd's updateHealthMonitor). */
  update(rec: ContainerRecord): void {
    if (!rec.health) return;
    const wanted = rec.state.status === 'running' && rec.state.paused !== true && probeOf(rec) !== null;
    if (!wanted) return this.stop(rec.id);
    if (this.monitors.has(rec.id)) return;
    const m: Monitor = { stopped: false };
    this.monitors.set(rec.id, m);
    this.schedule(rec, m);
  }

  /** The container stopped, paused or went: no further probe, and one in flight is killed. */
  stop(id: string): void {
    const m = this.monitors.get(id);
    if (!m) return;
    m.stopped = true;
    clearTimeout(m.timer);
    m.probing?.abort();
    this.monitors.delete(id);
  }

  stopAll(): void {
    for (const id of [...this.monitors.keys()]) this.stop(id);
  }

  /** Containers with a live schedule (tests and diagnostics). */
  active(): number {
    return this.monitors.size;
  }

  private schedule(rec: ContainerRecord, m: Monitor): void {
    const t = healthTiming(rec.config.Healthcheck ?? {});
    const sinceStart = Date.now() - Date.parse(rec.state.startedAt);
    const delay = nextProbeDelay(t, sinceStart, rec.health?.Status ?? 'starting');
    m.timer = setTimeout(() => void this.run(rec.id, m), delay);
    // A pending probe must not keep a daemon that is shutting down alive.
    m.timer.unref();
  }

  private async run(id: string, m: Monitor): Promise<void> {
    m.timer = undefined;
    const rec = this.deps.store.get(id);
    const cmd = rec ? probeOf(rec) : null;
    if (m.stopped || !rec || !rec.health || !cmd) return;
    const t = healthTiming(rec.config.Healthcheck ?? {});
    const start = new Date().toISOString();
    const ac = new AbortController();
    m.probing = ac;
    let result: HealthResult;
    try {
      const r = await this.deps.probe(rec, cmd, t.timeoutMs, ac.signal);
      if (!r) {
        // Not run: the container is stopping or paused; its exit or unpause moves this monitor.
        m.probing = undefined;
        if (!m.stopped) this.schedule(rec, m);
        return;
      }
      const end = new Date().toISOString();
      // dockerd: an overrun counts as a failure with exit code -1 and its own message.
      result = r.timedOut
        ? { Start: start, End: end, ExitCode: -1, Output: timeoutOutput(t.timeoutNs, r.output) }
        : { Start: start, End: end, ExitCode: r.exitCode, Output: r.output };
    } catch (err) {
      result = { Start: start, End: new Date().toISOString(), ExitCode: -1, Output: err instanceof Error ? err.message : String(err) };
      if (!m.stopped) this.deps.logger.warn({ id, err: result.Output }, 'health check error');
    }
    m.probing = undefined;
    // A probe that failed because the container is dying is no verdict on its health: the exit,
    // recorded moments later, stops this monitor.
    const verdict = result.ExitCode === 0 || (await processRunning(rec.state.pid));
    // Stopped meanwhile (exit, pause, removal, a new start): the result is dropped as dockerd drops it.
    if (m.stopped || this.deps.store.get(id) !== rec || !rec.health) return;
    if (verdict) {
      const before = rec.health.Status;
      rec.health = applyProbeResult(rec.health, result, t, rec.state.startedAt);
      if (rec.health.Status !== before) {
        this.deps.events.emit('container', `health_status: ${rec.health.Status}`, rec.id, containerEventAttributes(rec));
      }
      await this.deps.store.save(rec).catch((err: unknown) => this.deps.logger.warn({ err, id }, 'saving the health state failed'));
    }
    if (!m.stopped) this.schedule(rec, m);
  }
}
