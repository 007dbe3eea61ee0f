/**
 * `docker stats`: samples of a container's CPU, memory, pids and block I/O from its cgroup (v1 or
 * v2; summed over its processes from procfs when it has none) and its network namespace's
 * counters, streamed as readings one second apart (translate/container-stats.ts writes dockerd's JSON).
 */
import { readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  cpuacctStatNs,
  cpuFromV2,
  effectiveMemoryLimit,
  parseBlkioV1,
  parseIoStatV2,
  parseKeyValues,
  parseLimit,
  parseNetDev,
  parseNumber,
  parsePercpu,
  systemCpuNs,
  CLOCK_TICKS,
  type StatsReading,
  type StatsSample,
} from '../../translate/container-stats.js';
import type { ContainerRecord } from '../../translate/container-record.js';
import { readCgroupFile, type CgroupDirs } from '../cgroups/files.js';

export interface StatsOptions {
  stream: boolean;
  oneShot: boolean;
}

export interface StatsSamplerDeps {
  /** The container's cgroup directories; undefined when nothing is delegated. */
  cgroupDirs: (id: string) => CgroupDirs | undefined;
  /** Host pids of the container's processes (processes.ts), for the procfs fallback. */
  pids: (rec: ContainerRecord) => Promise<number[]>;
  memTotal: number;
  ncpu: number;
}

const STATS_INTERVAL_MS = 1000;
const PAGE_SIZE = 4096;

async function readText(path: string): Promise<string> {
  return readFile(path, 'utf8').catch(() => '');
}

export class StatsSampler {
  constructor(private readonly deps: StatsSamplerDeps) {}

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
    const pids = await this.deps.pids(rec);
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
    const cg = this.deps.cgroupDirs(rec.id);
    const [part, host, networks] = await Promise.all([cg ? this.cgroupSample(rec, cg) : this.procSample(rec), this.hostCpu(), this.networks(rec)]);
    return { read: new Date(), ...part, systemCpuUsage: host.system, onlineCpus: host.online, ...(networks ? { networks } : {}) };
  }

  /** Readings; ends when the client goes, the container stops, or after one (two for stream=false) samples. */
  stream(rec: ContainerRecord, opts: StatsOptions, signal: AbortSignal): AsyncIterable<StatsReading> {
    const who = { id: rec.id, name: rec.name };
    const live = (): boolean => rec.state.status === 'running' && !rec.state.restarting && !signal.aborted;
    const self = this;
    const wait = (): Promise<boolean> => sleep(STATS_INTERVAL_MS, true, { signal }).catch(() => false);
    return (async function* () {
      if (!live()) {
        yield who;
        return;
      }
      if (!opts.stream) {
        const first = await self.sample(rec);
        if (opts.oneShot) {
          yield { ...who, sample: first };
          return;
        }
        // Two samples a second apart, so precpu_stats is filled and clients can compute CPU %.
        if (!(await wait())) return;
        yield live() ? { ...who, sample: await self.sample(rec), previous: first } : { ...who, sample: first };
        return;
      }
      let prev: StatsSample | undefined;
      while (live()) {
        const cur = await self.sample(rec);
        yield { ...who, sample: cur, ...(prev ? { previous: prev } : {}) };
        prev = cur;
        if (!(await wait())) return;
      }
    })();
  }
}
