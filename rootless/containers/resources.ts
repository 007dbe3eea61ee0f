/**
 * A running container's resources: stats from its cgroup (procfs when it has none), pause and
 * unpause through the runtime's freezer, live limit updates by writing control files, and top.
 * Works on the records ContainerStore holds; the lifecycle itself stays with the container service.
 */
import type { ContainerUpdateBody } from '../../openapi/containers.js';
import { readFile, readdir, readlink } from 'node:fs/promises';
import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { cgroupWrites } from '../../translate/cgroup-writes.js';
import {
  cpuacctStatNs,
  cpuFromV2,
  effectiveMemoryLimit,
  emptyStatsJson,
  parseBlkioV1,
  parseIoStatV2,
  parseKeyValues,
  parseLimit,
  parseNetDev,
  parseNumber,
  parsePercpu,
  statsJson,
  systemCpuNs,
  CLOCK_TICKS,
  type StatsSample,
} from '../../translate/container-stats.js';
import type { ContainerRecord } from '../../translate/container-record.js';
import { conflict, containerErrors, internal, invalidParameter } from '../../translate/errors.js';
import { containerEventAttributes } from '../../translate/events.js';
import { buildResources, type ResourceRequest } from '../../translate/oci-limits.js';
import { mergeUpdate, parseUpdateRequest } from '../../translate/resource-update.js';
import { applyCgroupWrites, containerCgroupDirs, readCgroupFile, type CgroupDirs } from '../cgroups/files.js';
import type { DoctorReport } from '../doctor/types.js';
import type { EventBus } from '../events/bus.js';
import { runTool, ToolError } from '../exec.js';
import { crashPoint } from '../debug-crash.js';
import type { ContainerGate } from './gate.js';
import { clearIntent, markIntent } from './intents.js';
import type { ContainerStore } from './store.js';
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

export interface StatsOptions {
  stream: boolean;
  oneShot: boolean;
}

export interface TopResult {
  Titles: string[];
  Processes: string[][];
}

const STATS_INTERVAL_MS = 1000;
const PAGE_SIZE = 4096;

async function readText(path: string): Promise<string> {
  return readFile(path, 'utf8').catch(() => '');
}

/** dockerd's parsePSOutput: the PID column by title, the last column keeps its spaces. */
export function parsePsOutput(output: string, pids: ReadonlySet<number>): TopResult {
  const lines = output.split('\n').filter((l) => l.trim() !== '');
  const titles = (lines[0] ?? '').trim().split(/\s+/);
  const pidIndex = titles.indexOf('PID');
  if (pidIndex < 0) throw internal("Couldn't find PID field in ps output");
  const processes: string[][] = [];
  for (const line of lines.slice(1)) {
    const fields = line.trim().split(/\s+/);
    const pid = Number(fields[pidIndex]);
    if (!pids.has(pid)) continue;
    const head = fields.slice(0, titles.length - 1);
    processes.push([...head, fields.slice(titles.length - 1).join(' ')]);
  }
  return { Titles: titles, Processes: processes };
}

export class ContainerResources {
  constructor(private readonly deps: ContainerResourcesDeps) {}

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

  /** Host pids of every process in the container: its cgroup's list, else the pid namespace of its init. */
  async pids(rec: ContainerRecord): Promise<number[]> {
    const cg = this.cgroupDirs(rec.id);
    const listed = await readCgroupFile(cg?.dirs.pids ?? cg?.dirs.memory ?? cg?.dirs.freezer, 'cgroup.procs');
    if (listed !== undefined) return listed.split('\n').filter(Boolean).map(Number);
    const ns = await readlink(`/proc/${rec.state.pid}/ns/pid`).catch(() => undefined);
    if (!ns) return rec.state.pid > 0 ? [rec.state.pid] : [];
    const out: number[] = [];
    for (const entry of await readdir('/proc').catch(() => [] as string[])) {
      if (!/^\d+$/.test(entry)) continue;
      // Other users' processes refuse the readlink: they are not ours anyway.
      if ((await readlink(`/proc/${entry}/ns/pid`).catch(() => undefined)) === ns) out.push(Number(entry));
    }
    return out;
  }

  async top(ref: string, psArgs: string | undefined): Promise<TopResult> {
    const rec = this.running(ref);
    const args = (psArgs?.trim() || '-ef').split(/\s+/);
    if (args.some((a) => a.includes('\0'))) throw invalidParameter('invalid ps_args');
    const pids = await this.pids(rec);
    // Like dockerd: narrow ps to our pids with -q, and retry without it for options (f) that refuse -q.
    let r = await runTool('ps', [...args, '-q', pids.join(',') || String(rec.state.pid)], { allowFailure: true });
    if (r.exitCode !== 0) r = await runTool('ps', args, { allowFailure: true });
    if (r.exitCode !== 0) throw internal(`Error running ps: ${r.stderr.trim() || `exit code ${r.exitCode}`}`);
    return parsePsOutput(r.stdout, new Set(pids));
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
    return this.deps.gate.must(ref, 'pause', (rec) => this.pauseLocked(rec));
  }

  private async pauseLocked(rec: ContainerRecord): Promise<void> {
    this.requireFreezer(rec);
    await this.runtime('pause', rec);
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

  async update(ref: string, body: ContainerUpdateBody | undefined): Promise<{ Warnings: string[] }> {
    const request = parseUpdateRequest(body);
    return this.deps.gate.must(ref, 'update', (rec) => this.updateLocked(rec, request));
  }

  private async updateLocked(rec: ContainerRecord, request: ReturnType<typeof parseUpdateRequest>): Promise<{ Warnings: string[] }> {
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
    return { Warnings: warnings };
  }

  // ---- stats -----------------------------------------------------------------------------

  private async hostCpu(): Promise<{ system: number; online: number }> {
    return { system: systemCpuNs(await readText('/proc/stat')), online: cpus().length || this.deps.ncpu };
  }

  private async networks(rec: ContainerRecord): Promise<StatsSample['networks']> {
    if (rec.hostConfig.NetworkMode === 'host') return undefined;
    // /proc/<pid>/net is the pid's network namespace: no setns needed.
    return parseNetDev(await readText(`/proc/${rec.state.pid}/net/dev`));
  }

  private async cgroupSample(rec: ContainerRecord, cg: CgroupDirs): Promise<Omit<StatsSample, 'read' | 'systemCpuUsage' | 'onlineCpus' | 'networks'>> {
    const d = cg.dirs;
    const r = (dir: string | undefined, file: string): Promise<string> => readCgroupFile(dir, file).then((t) => t ?? '');
    if (cg.mode === 'v2') {
      const [cpuStat, current, max, memStat, pidsCur, pidsMax, ioStat, peak] = await Promise.all([
        r(d.cpu, 'cpu.stat'), r(d.memory, 'memory.current'), r(d.memory, 'memory.max'), r(d.memory, 'memory.stat'),
        r(d.pids, 'pids.current'), r(d.pids, 'pids.max'), r(d.blkio, 'io.stat'), r(d.memory, 'memory.peak'),
      ]);
      const pidsLimit = parseLimit(pidsMax);
      return {
        cpu: cpuFromV2(cpuStat),
        memory: {
          usage: parseNumber(current),
          ...(peak ? { maxUsage: parseNumber(peak) } : {}),
          limit: effectiveMemoryLimit(parseLimit(max), this.deps.memTotal),
          stats: parseKeyValues(memStat),
        },
        pids: { current: parseNumber(pidsCur), ...(pidsLimit !== undefined ? { limit: pidsLimit } : {}) },
        blkio: parseIoStatV2(ioStat),
      };
    }
    const [usage, percpu, acctStat, cpuStat, memUsage, memMax, memLimit, failcnt, memStat, pidsCur, pidsMax, ioBytes, ioOps] = await Promise.all([
      r(d.cpuacct, 'cpuacct.usage'), r(d.cpuacct, 'cpuacct.usage_percpu'), r(d.cpuacct, 'cpuacct.stat'), r(d.cpu, 'cpu.stat'),
      r(d.memory, 'memory.usage_in_bytes'), r(d.memory, 'memory.max_usage_in_bytes'), r(d.memory, 'memory.limit_in_bytes'),
      r(d.memory, 'memory.failcnt'), r(d.memory, 'memory.stat'), r(d.pids, 'pids.current'), r(d.pids, 'pids.max'),
      r(d.blkio, 'blkio.throttle.io_service_bytes_recursive'), r(d.blkio, 'blkio.throttle.io_serviced_recursive'),
    ]);
    const acct = cpuacctStatNs(acctStat);
    const throttle = parseKeyValues(cpuStat);
    const pidsLimit = parseLimit(pidsMax);
    return {
      cpu: {
        total: parseNumber(usage),
        percpu: parsePercpu(percpu).slice(0, cpus().length || undefined),
        kernel: acct.kernel,
        user: acct.user,
        throttling: { periods: throttle.nr_periods ?? 0, throttledPeriods: throttle.nr_throttled ?? 0, throttledTime: throttle.throttled_time ?? 0 },
      },
      memory: {
        usage: parseNumber(memUsage),
        maxUsage: parseNumber(memMax),
        failcnt: parseNumber(failcnt),
        limit: effectiveMemoryLimit(parseLimit(memLimit), this.deps.memTotal),
        stats: parseKeyValues(memStat),
      },
      pids: { current: parseNumber(pidsCur), ...(pidsLimit !== undefined ? { limit: pidsLimit } : {}) },
      blkio: { serviceBytes: parseBlkioV1(ioBytes), serviced: parseBlkioV1(ioOps) },
    };
  }

  /** Without a cgroup of its own: CPU and RSS summed over the container's processes. */
  private async procSample(rec: ContainerRecord): Promise<Omit<StatsSample, 'read' | 'systemCpuUsage' | 'onlineCpus' | 'networks'>> {
    const pids = await this.pids(rec);
    let user = 0;
    let kernel = 0;
    let rss = 0;
    for (const pid of pids) {
      const stat = await readText(`/proc/${pid}/stat`);
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // Fields 14 and 15 (utime, stime) are the 12th and 13th after the command name.
      user += Number(f[11] ?? 0) * (1e9 / CLOCK_TICKS);
      kernel += Number(f[12] ?? 0) * (1e9 / CLOCK_TICKS);
      rss += Number((await readText(`/proc/${pid}/statm`)).split(' ')[1] ?? 0) * PAGE_SIZE;
    }
    return {
      cpu: { total: user + kernel, user, kernel, throttling: { periods: 0, throttledPeriods: 0, throttledTime: 0 } },
      memory: { usage: rss, limit: this.deps.memTotal, stats: {} },
      pids: { current: pids.length },
      blkio: { serviceBytes: [], serviced: [] },
    };
  }

  async sample(rec: ContainerRecord): Promise<StatsSample> {
    const cg = this.cgroupDirs(rec.id);
    const [part, host, networks] = await Promise.all([cg ? this.cgroupSample(rec, cg) : this.procSample(rec), this.hostCpu(), this.networks(rec)]);
    return { read: new Date(), ...part, systemCpuUsage: host.system, onlineCpus: host.online, ...(networks ? { networks } : {}) };
  }

  /** One JSON document per line; ends when the client goes, the container stops, or after one (two for stream=false) samples. */
  stats(ref: string, opts: StatsOptions, signal: AbortSignal): AsyncIterable<string> {
    const rec = this.deps.store.find(ref);
    const who = { id: rec.id, name: rec.name };
    const live = (): boolean => rec.state.status === 'running' && !rec.state.restarting && !signal.aborted;
    const self = this;
    const wait = (): Promise<boolean> => sleep(STATS_INTERVAL_MS, true, { signal }).catch(() => false);
    return (async function* () {
      if (!live()) {
        yield JSON.stringify(emptyStatsJson(who)) + '\n';
        return;
      }
      if (!opts.stream) {
        const first = await self.sample(rec);
        if (opts.oneShot) {
          yield JSON.stringify(statsJson(who, first)) + '\n';
          return;
        }
        // Two samples a second apart, so precpu_stats is filled and clients can compute CPU %.
        if (!(await wait())) return;
        yield JSON.stringify(live() ? statsJson(who, await self.sample(rec), first) : statsJson(who, first)) + '\n';
        return;
      }
      let prev: StatsSample | undefined;
      while (live()) {
        const cur = await self.sample(rec);
        yield JSON.stringify(statsJson(who, cur, prev)) + '\n';
        prev = cur;
        if (!(await wait())) return;
      }
    })();
  }
}
