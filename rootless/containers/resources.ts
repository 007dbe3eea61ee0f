/**
 * A running container's resources: stats from its cgroup (procfs when it has none), pause and
 * unpause through the runtime's freezer, live limit updates by writing control files, and top.
 * Works on the records ContainerStore holds; the lifecycle itself stays with the container service.
 */
import type { Logger } from 'pino';
import type { ContainerUpdateBody } from '../../openapi/containers.js';
import { cgroupWrites } from '../../translate/cgroup-writes.js';
import type { ContainerRecord } from '../../translate/container-record.js';
import { conflict, containerErrors, internal } from '../../translate/errors.js';
import { containerEventAttributes } from '../../translate/events.js';
import { buildResources, type ResourceRequest } from '../../translate/oci-limits.js';
import { mergeUpdate, parseUpdateRequest } from '../../translate/resource-update.js';
import { applyCgroupWrites, containerCgroupDirs, settleV1Freeze, type CgroupDirs } from '../cgroups/files.js';
import type { DoctorReport } from '../doctor/types.js';
import type { EventBus } from '../events/bus.js';
import { runTool, ToolError } from '../exec.js';
import { crashPoint } from '../debug-crash.js';
import type { ContainerGate } from './gate.js';
import { clearIntent, markIntent } from './intents.js';
import { containerPids, topProcesses, type TopResult } from './processes.js';
import { StatsSampler, type StatsOptions } from './stats-sampler.js';
import type { StatsReading } from '../../translate/container-stats.js';
import type { ContainerStore } from './store.js';
import type { ContainerResourceService } from './tools-interface.js';
import { warnOnly } from '../log.js';

export interface ContainerResourcesDeps {
  store: ContainerStore;
  /** Pause, unpause, update and commit's freeze run under the container's lock, checked by the state machine. */
  gate: ContainerGate;
  report: DoctorReport;
  /** The OCI runtime and its global args (`--root …`), for pause and resume. */
  runtime: { runtime: string; args: string[] };
  events?: EventBus;
  memTotal: number;
  ncpu: number;
  logger: Logger;
  /** Pause and unpause stop and resume the container's health probes (containers/health.ts). */
  pausedChanged?: (rec: ContainerRecord) => void;
  /** The container's processes are gone though its exit may not be recorded yet (RuntimeDriver.processesGone). */
  processesGone?: (id: string) => Promise<boolean>;
}

export class ContainerResources implements ContainerResourceService {
  private readonly sampler: StatsSampler;

  constructor(private readonly deps: ContainerResourcesDeps) {
    this.sampler = new StatsSampler({ cgroupDirs: (id) => this.cgroupDirs(id), pids: (rec) => this.pids(rec), memTotal: deps.memTotal, ncpu: deps.ncpu });
  }

  private get cgroups(): DoctorReport['cgroups'] {
    return this.deps.report.cgroups;
  }

  /** The container's cgroup directories; undefined when nothing is delegated (it shares the daemon's). */
  cgroupDirs(id: string): CgroupDirs | undefined {
    return containerCgroupDirs(this.cgroups, id);
  }

  private running(ref: string): ContainerRecord {
    const rec = this.deps.store.find(ref);
    if (rec.state.status !== 'running' || rec.state.restarting) throw containerErrors.notRunning(rec.id);
    return rec;
  }

  private emit(rec: ContainerRecord, action: string): void {
    this.deps.events?.emit('container', action, rec.id, containerEventAttributes(rec));
  }

  // ---- processes -------------------------------------------------------------------------

  /** Host pids of every process in the container. */
  pids(rec: ContainerRecord): Promise<number[]> {
    return containerPids(rec, this.cgroupDirs(rec.id));
  }

  async top(ref: string, psArgs: string | undefined): Promise<TopResult> {
    const rec = this.running(ref);
    return topProcesses(rec, await this.pids(rec), psArgs);
  }

  // ---- pause -----------------------------------------------------------------------------

  private requireFreezer(rec: ContainerRecord): void {
    if (!this.cgroupDirs(rec.id)?.dirs.freezer || !this.cgroups.controllers.freezer) {
      throw conflict(
        `Cannot pause container ${rec.id}: no cgroup freezer is delegated to this rootless engine, so its processes cannot be frozen (run \`burrow doctor\` for the administrator's fix)`,
      );
    }
  }

  /** A container that died since its record said running (its exit not yet recorded) is answered as not running, never 500. */
  private async runtime(action: 'pause' | 'resume', rec: ContainerRecord): Promise<void> {
    const { runtime, args } = this.deps.runtime;
    try {
      await runTool(runtime, [...args, action, rec.id]);
    } catch (err) {
      if (await this.exitedMeanwhile(rec.id)) throw containerErrors.notRunning(rec.id);
      throw internal(err instanceof ToolError ? err.message : String(err));
    }
  }

  pause(ref: string): Promise<void> {
    return this.deps.gate.must(ref, 'pause', (rec) => this.userPause(rec));
  }

  /**
   * A daemon killed between the freeze and the saved record would leave a frozen container that
   * its record calls running, and nothing would thaw it: the marker lets recovery undo the pause
   * (the client never heard it succeed).
   */
  private async userPause(rec: ContainerRecord): Promise<void> {
    const dir = this.deps.store.dir(rec.id);
    await markIntent(dir, 'pausing');
    try {
      await this.pauseLocked(rec);
    } finally {
      await clearIntent(dir, 'pausing');
    }
  }

  private async pauseLocked(rec: ContainerRecord): Promise<void> {
    this.requireFreezer(rec);
    await this.runtime('pause', rec);
    if (!(await settleV1Freeze(this.cgroupDirs(rec.id)))) this.deps.logger.warn({ id: rec.id }, 'pause: the freezer still says FREEZING after 5 s');
    crashPoint('pause:after-freeze');
    rec.state = { ...rec.state, paused: true };
    await this.deps.store.save(rec);
    this.deps.pausedChanged?.(rec);
    this.emit(rec, 'pause');
  }

  unpause(ref: string): Promise<void> {
    return this.deps.gate.must(ref, 'unpause', (rec) => this.unpauseLocked(rec));
  }

  private async unpauseLocked(rec: ContainerRecord): Promise<void> {
    await this.runtime('resume', rec);
    rec.state = { ...rec.state, paused: false };
    await this.deps.store.save(rec);
    this.deps.pausedChanged?.(rec);
    this.emit(rec, 'unpause');
  }

  /**
   * Freezes a running, unpaused container for the length of `work` (docker commit's default
   * pause=true), with dockerd's pause/unpause events. Where no freezer is delegated the work runs
   * unfrozen rather than failing: a rootless engine cannot do better, and commit still works.
   * Called under the container's lock (tools.ts commit), so it pauses and unpauses without taking it.
   */
  async whileFrozen<T>(rec: ContainerRecord, work: () => Promise<T>): Promise<T> {
    const freezable = rec.state.status === 'running' && !rec.state.paused && !!this.cgroupDirs(rec.id)?.dirs.freezer && !!this.cgroups.controllers.freezer;
    if (!freezable) return work();
    // The freeze is the engine's, not the user's: a daemon that dies before the thaw leaves this
    // marker, and the next one thaws the container (recovery.ts) where a user's pause would stay.
    const dir = this.deps.store.dir(rec.id);
    await markIntent(dir, 'engine-frozen');
    try {
      try {
        await this.pauseLocked(rec);
      } catch (err) {
        // The container exited (or is exiting) since it was seen running: its upper dir is still
        // there and nothing writes to it any more, so the commit goes on without a freeze.
        if (!(await this.exitedMeanwhile(rec.id))) throw err;
        this.deps.logger.debug({ err, id: rec.id }, 'commit: the container stopped before it could be frozen');
      }
      crashPoint('commit:after-freeze');
      return await work();
    } finally {
      if (rec.state.paused) await this.unpauseLocked(rec).catch((err: unknown) => this.deps.logger.warn({ err, id: rec.id }, 'unpausing after commit failed'));
      await clearIntent(dir, 'engine-frozen').catch((err: unknown) => this.deps.logger.warn({ err, id: rec.id }, 'clearing the commit freeze marker failed'));
    }
  }

  /** True when the container no longer runs: its record, conmon's exit file, or the runtime's own state say so. */
  private async exitedMeanwhile(id: string): Promise<boolean> {
    const rec = this.deps.store.get(id);
    return !rec || rec.state.status !== 'running' || ((await this.deps.processesGone?.(id).catch(() => false)) ?? false);
  }

  /** After a signal to a paused container: a frozen task only acts on it once thawed, which dockerd does too. */
  async thawAfterSignal(rec: ContainerRecord): Promise<void> {
    if (!rec.state.paused) return;
    const { runtime, args } = this.deps.runtime;
    await runTool(runtime, [...args, 'resume', rec.id], { allowFailure: true });
    rec.state = { ...rec.state, paused: false };
    await this.deps.store.save(rec).catch(warnOnly('could not record that a container was thawed'));
    this.deps.pausedChanged?.(rec);
  }

  // ---- update ----------------------------------------------------------------------------

  private delegatedControllers(): Partial<Record<'memory' | 'cpu' | 'cpuset' | 'pids' | 'blkio', boolean>> {
    const c = this.cgroups.controllers;
    return this.cgroups.driver === 'cgroupfs' ? { memory: c.memory, cpu: c.cpu, cpuset: c.cpuset, pids: c.pids, blkio: c.io } : {};
  }

  /** At create, as dockerd does: bad values are refused, limits nothing can enforce are warned about. */
  limitWarnings(hostConfig: ResourceRequest): string[] {
    return buildResources(hostConfig, this.delegatedControllers(), this.deps.ncpu).warnings;
  }

  async update(ref: string, body: ContainerUpdateBody | undefined): Promise<string[]> {
    const request = parseUpdateRequest(body);
    return this.deps.gate.must(ref, 'update', (rec) => this.updateLocked(rec, request));
  }

  private async updateLocked(rec: ContainerRecord, request: ReturnType<typeof parseUpdateRequest>): Promise<string[]> {
    const merged = mergeUpdate(rec.hostConfig, request);
    const c = this.cgroups.controllers;
    const built = buildResources(merged.hostConfig, this.delegatedControllers(), this.deps.ncpu);
    const warnings = [...merged.warnings, ...built.warnings];
    const cg = this.cgroupDirs(rec.id);
    if (cg && rec.state.status === 'running' && !rec.state.restarting) {
      const res = { ...(built.resources ?? {}) };
      if (merged.pidsUnlimited && c.pids) res.pids = { limit: -1 };
      // The swap file exists only with swap accounting; without it the memory limit alone applies.
      const swapFiles = this.cgroups.features.swapLimit ? [] : ['memory.memsw.limit_in_bytes', 'memory.swap.max'];
      const writes = cgroupWrites(res, cg.mode).filter((w) => !swapFiles.includes(w.file));
      const { skipped } = await applyCgroupWrites(cg, writes);
      for (const s of skipped) warnings.push(`the ${s} cgroup controller is not delegated: that limit is recorded but not applied`);
    }
    rec.hostConfig = merged.hostConfig;
    await this.deps.store.save(rec);
    this.emit(rec, 'update');
    return warnings;
  }

  // ---- stats -----------------------------------------------------------------------------

  /** Readings; ends when the client goes, the container stops, or after one (two for stream=false) samples. */
  stats(ref: string, opts: StatsOptions, signal: AbortSignal): AsyncIterable<StatsReading> {
    return this.sampler.stream(this.deps.store.find(ref), opts, signal);
  }
}
