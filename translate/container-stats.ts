/**
 * Raw cgroup and procfs numbers → dockerd's GET /containers/{id}/stats JSON. Parsers take file
 * contents (so tests need no host), the shaper takes one sample and the one before it.
 */

/** USER_HZ: cpuacct.stat and /proc/stat count in these ticks on every Linux dockerd supports. */
export const CLOCK_TICKS = 100;
const NS_PER_TICK = 1e9 / CLOCK_TICKS;

export interface BlkioEntry {
  major: number;
  minor: number;
  op: string;
  value: number;
}

export interface NetDevStats {
  rx_bytes: number;
  rx_packets: number;
  rx_errors: number;
  rx_dropped: number;
  tx_bytes: number;
  tx_packets: number;
  tx_errors: number;
  tx_dropped: number;
}

export interface CpuSample {
  /** Nanoseconds of CPU time the container's cgroup used. */
  total: number;
  percpu?: number[];
  kernel: number;
  user: number;
  throttling: { periods: number; throttledPeriods: number; throttledTime: number };
}

export interface StatsSample {
  read: Date;
  cpu: CpuSample;
  /** Host-wide CPU time in ns from /proc/stat, the denominator clients divide by. */
  systemCpuUsage: number;
  onlineCpus: number;
  memory: { usage: number; maxUsage?: number; failcnt?: number; limit: number; stats: Record<string, number> };
  pids: { current: number; limit?: number };
  blkio: { serviceBytes: BlkioEntry[]; serviced: BlkioEntry[] };
  /** Undefined when the container shares the host's network namespace. */
  networks?: Record<string, NetDevStats>;
}

export interface StatsIdentity {
  id: string;
  /** With the leading slash, as dockerd sends it. */
  name: string;
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

/** "key value" lines (memory.stat, cpu.stat, cpuacct.stat) as numbers; unparseable lines are skipped. */
export function parseKeyValues(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^-?\d+$/.test(v)) out[k] = Number(v);
  }
  return out;
}

/**
 * A cgroup limit file: v1 writes "unlimited" as a page-rounded 2^63, v2 as "max". Both, and
 * anything a JS number cannot hold exactly, come back undefined (no limit).
 */
export function parseLimit(text: string): number | undefined {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return undefined;
  const n = BigInt(t);
  return n >= BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(n);
}

export function parseNumber(text: string): number {
  const n = Number(text.trim().split(/\s+/)[0]);
  return Number.isFinite(n) ? n : 0;
}

/** cpuacct.usage_percpu: one number per possible CPU. */
export function parsePercpu(text: string): number[] {
  return text.trim().split(/\s+/).filter((x) => /^\d+$/.test(x)).map(Number);
}

/** v1 blkio.throttle.* files: "8:0 Read 4096" lines plus a "Total" line dockerd drops. */
export function parseBlkioV1(text: string): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+):(\d+)\s+(\S+)\s+(\d+)$/.exec(line.trim());
    if (m) out.push({ major: Number(m[1]), minor: Number(m[2]), op: m[3] ?? '', value: Number(m[4]) });
  }
  return out;
}

/** v2 io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 …", turned into dockerd's v2 entries (lower-case ops). */
export function parseIoStatV2(text: string): { serviceBytes: BlkioEntry[]; serviced: BlkioEntry[] } {
  const serviceBytes: BlkioEntry[] = [];
  const serviced: BlkioEntry[] = [];
  for (const line of text.split('\n')) {
    const [dev, ...kvs] = line.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(dev ?? '');
    if (!m) continue;
    const major = Number(m[1]);
    const minor = Number(m[2]);
    const kv = Object.fromEntries(kvs.map((p) => p.split('=')).map(([k, v]) => [k, Number(v)]));
    serviceBytes.push({ major, minor, op: 'read', value: kv.rbytes ?? 0 }, { major, minor, op: 'write', value: kv.wbytes ?? 0 });
    serviced.push({ major, minor, op: 'read', value: kv.rios ?? 0 }, { major, minor, op: 'write', value: kv.wios ?? 0 });
  }
  return { serviceBytes, serviced };
}

/** /proc/<pid>/net/dev of the container's init, loopback left out as dockerd only lists endpoints. */
export function parseNetDev(text: string): Record<string, NetDevStats> {
  const out: Record<string, NetDevStats> = {};
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    if (!name || name === 'lo' || f.length < 16) continue;
    out[name] = {
      rx_bytes: f[0] ?? 0, rx_packets: f[1] ?? 0, rx_errors: f[2] ?? 0, rx_dropped: f[3] ?? 0,
      tx_bytes: f[8] ?? 0, tx_packets: f[9] ?? 0, tx_errors: f[10] ?? 0, tx_dropped: f[11] ?? 0,
    };
  }
  return out;
}

/** dockerd's getSystemCPUUsage: the first 7 fields of /proc/stat's "cpu" line, in ns. */
export function systemCpuNs(procStat: string): number {
  const line = procStat.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return 0;
  const ticks = line.trim().split(/\s+/).slice(1, 8).reduce((n, v) => n + Number(v), 0);
  return ticks * NS_PER_TICK;
}

/** cpuacct.stat's user/system ticks in ns, as dockerd reports usage_in_usermode/kernelmode on v1. */
export function cpuacctStatNs(text: string): { user: number; kernel: number } {
  const kv = parseKeyValues(text);
  return { user: (kv.user ?? 0) * NS_PER_TICK, kernel: (kv.system ?? 0) * NS_PER_TICK };
}

/** v2 cpu.stat (µs) → the same CpuSample v1 gives. */
export function cpuFromV2(cpuStat: string): CpuSample {
  const kv = parseKeyValues(cpuStat);
  return {
    total: (kv.usage_usec ?? 0) * 1000,
    kernel: (kv.system_usec ?? 0) * 1000,
    user: (kv.user_usec ?? 0) * 1000,
    throttling: { periods: kv.nr_periods ?? 0, throttledPeriods: kv.nr_throttled ?? 0, throttledTime: (kv.throttled_usec ?? 0) * 1000 },
  };
}

/** The memory limit clients see: the cgroup's, or the host's memory when unlimited (or set above it). */
export function effectiveMemoryLimit(cgroupLimit: number | undefined, memTotal: number): number {
  return cgroupLimit === undefined || cgroupLimit > memTotal ? memTotal : cgroupLimit;
}

function cpuStatsJson(s: StatsSample | undefined): Record<string, unknown> {
  if (!s) {
    return { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } };
  }
  const c = s.cpu;
  return {
    cpu_usage: {
      total_usage: c.total,
      ...(c.percpu && c.percpu.length > 0 ? { percpu_usage: c.percpu } : {}),
      usage_in_kernelmode: c.kernel,
      usage_in_usermode: c.user,
    },
    system_cpu_usage: s.systemCpuUsage,
    online_cpus: s.onlineCpus,
    throttling_data: { periods: c.throttling.periods, throttled_periods: c.throttling.throttledPeriods, throttled_time: c.throttling.throttledTime },
  };
}

/** One stats object in dockerd's shape; `prev` fills precpu_stats (zeros without one). */
export function statsJson(who: StatsIdentity, s: StatsSample, prev?: StatsSample): Record<string, unknown> {
  const m = s.memory;
  return {
    read: s.read.toISOString(),
    preread: prev ? prev.read.toISOString() : ZERO_TIME,
    pids_stats: { current: s.pids.current, ...(s.pids.limit !== undefined ? { limit: s.pids.limit } : {}) },
    blkio_stats: {
      io_service_bytes_recursive: s.blkio.serviceBytes,
      io_serviced_recursive: s.blkio.serviced,
      io_queue_recursive: null,
      io_service_time_recursive: null,
      io_wait_time_recursive: null,
      io_merged_recursive: null,
      io_time_recursive: null,
      sectors_recursive: null,
    },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuStatsJson(s),
    precpu_stats: cpuStatsJson(prev),
    memory_stats: {
      usage: m.usage,
      ...(m.maxUsage !== undefined ? { max_usage: m.maxUsage } : {}),
      stats: m.stats,
      ...(m.failcnt !== undefined ? { failcnt: m.failcnt } : {}),
      limit: m.limit,
    },
    name: who.name,
    id: who.id,
    ...(s.networks && Object.keys(s.networks).length > 0 ? { networks: s.networks } : {}),
  };
}

/** One reading of `docker stats`: the container and, while it runs, its sample and the one before. */
export interface StatsReading extends StatsIdentity {
  /** Absent when the container is not running: dockerd then sends zeros. */
  sample?: StatsSample;
  /** The sample a second before, for precpu_stats; absent for the first. */
  previous?: StatsSample;
}

/** A reading as dockerd's stats document. */
export function statsReadingJson(r: StatsReading): Record<string, unknown> {
  const who = { id: r.id, name: r.name };
  return r.sample ? statsJson(who, r.sample, r.previous) : emptyStatsJson(who);
}

/** GET /containers/{id}/stats' body: one JSON document per line, as long as the readings last. */
export async function* statsLines(readings: AsyncIterable<StatsReading>): AsyncIterable<string> {
  for await (const r of readings) yield JSON.stringify(statsReadingJson(r)) + '\n';
}

/** What dockerd sends for a container that is not running: its identity and zeros. */
export function emptyStatsJson(who: StatsIdentity): Record<string, unknown> {
  return {
    read: ZERO_TIME,
    preread: ZERO_TIME,
    pids_stats: {},
    blkio_stats: {
      io_service_bytes_recursive: null, io_serviced_recursive: null, io_queue_recursive: null, io_service_time_recursive: null,
      io_wait_time_recursive: null, io_merged_recursive: null, io_time_recursive: null, sectors_recursive: null,
    },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuStatsJson(undefined),
    precpu_stats: cpuStatsJson(undefined),
    memory_stats: {},
    name: who.name,
    id: who.id,
  };
}

/** The CPU % `docker stats` shows, for tests and logs: dockerd clients compute exactly this. */
export function cpuPercent(cur: StatsSample, prev: StatsSample): number {
  const cpuDelta = cur.cpu.total - prev.cpu.total;
  const sysDelta = cur.systemCpuUsage - prev.systemCpuUsage;
  return sysDelta > 0 && cpuDelta > 0 ? (cpuDelta / sysDelta) * cur.onlineCpus * 100 : 0;
}
