/**
 * OCI resources → the control-file writes that apply them to a live cgroup, for cgroup v1 and v2,
 * with runc's value conversions. -1 means "no limit" in every field that has one, so an update can
 * lift a limit as well as set one.
 */
import type { OciResources } from './oci-types.js';

export type CgroupMode = 'v1' | 'v2';
/** The v1 hierarchy a file lives in (on v2 every file is in the one directory). */
export type WriteController = 'memory' | 'cpu' | 'cpuset' | 'pids' | 'blkio';

export interface CgroupWrite {
  controller: WriteController;
  file: string;
  value: string;
  /** Tried when `file` does not exist (v1 blkio.weight is blkio.bfq.weight on BFQ-only kernels). */
  alternative?: { file: string; value: string };
}

/** runc's ConvertCPUSharesToCgroupV2Value: shares [2, 262144] onto weight [1, 10000]. */
export function sharesToWeight(shares: number): number {
  if (shares <= 0) return 0;
  return Math.floor(1 + ((Math.max(2, Math.min(shares, 262144)) - 2) * 9999) / 262142);
}

/** runc's ConvertBlkIOToIOWeightValue: blkio weight [10, 1000] onto io.weight [1, 10000]. */
export function blkioToIoWeight(weight: number): number {
  if (weight <= 0) return 0;
  return Math.floor(1 + ((Math.max(10, Math.min(weight, 1000)) - 10) * 9999) / 990);
}

/** cpu.max: "<quota|max> <period>", or just the quota when the period stays. */
export function cpuMax(quota: number | undefined, period: number | undefined): string | undefined {
  if (quota === undefined && period === undefined) return undefined;
  const q = quota === undefined || quota < 0 ? 'max' : String(quota);
  return period && period > 0 ? `${q} ${period}` : q;
}

/**
 * cgroup2 keeps swap apart from memory while OCI (and Docker) give memory+swap: the swap file
 * gets the difference. Unlimited stays unlimited; a total equal to the limit means no swap.
 */
export function swapMaxV2(limit: number | undefined, total: number): string {
  if (total < 0) return 'max';
  if (limit === undefined || limit < 0) return String(total);
  return String(Math.max(0, total - limit));
}

const unlimited = (n: number, word: string): string => (n < 0 ? word : String(n));

function v1Writes(r: OciResources): CgroupWrite[] {
  const w: CgroupWrite[] = [];
  const m = r.memory;
  if (m?.limit !== undefined) w.push({ controller: 'memory', file: 'memory.limit_in_bytes', value: unlimited(m.limit, '-1') });
  if (m?.swap !== undefined) w.push({ controller: 'memory', file: 'memory.memsw.limit_in_bytes', value: unlimited(m.swap, '-1') });
  if (m?.reservation !== undefined) w.push({ controller: 'memory', file: 'memory.soft_limit_in_bytes', value: unlimited(m.reservation, '-1') });
  if (m?.swappiness !== undefined) w.push({ controller: 'memory', file: 'memory.swappiness', value: String(m.swappiness) });
  if (m?.disableOOMKiller !== undefined) w.push({ controller: 'memory', file: 'memory.oom_control', value: m.disableOOMKiller ? '1' : '0' });
  const c = r.cpu;
  if (c?.shares !== undefined) w.push({ controller: 'cpu', file: 'cpu.shares', value: String(c.shares) });
  // The period first: a quota is checked against the period in place.
  if (c?.period !== undefined) w.push({ controller: 'cpu', file: 'cpu.cfs_period_us', value: String(c.period) });
  if (c?.quota !== undefined) w.push({ controller: 'cpu', file: 'cpu.cfs_quota_us', value: unlimited(c.quota, '-1') });
  if (c?.cpus !== undefined) w.push({ controller: 'cpuset', file: 'cpuset.cpus', value: c.cpus });
  if (c?.mems !== undefined) w.push({ controller: 'cpuset', file: 'cpuset.mems', value: c.mems });
  if (r.pids) w.push({ controller: 'pids', file: 'pids.max', value: r.pids.limit > 0 ? String(r.pids.limit) : 'max' });
  const weight = r.blockIO?.weight;
  if (weight !== undefined) {
    w.push({ controller: 'blkio', file: 'blkio.weight', value: String(weight), alternative: { file: 'blkio.bfq.weight', value: String(weight) } });
  }
  return w;
}

function v2Writes(r: OciResources): CgroupWrite[] {
  const w: CgroupWrite[] = [];
  const m = r.memory;
  if (m?.limit !== undefined) w.push({ controller: 'memory', file: 'memory.max', value: unlimited(m.limit, 'max') });
  if (m?.swap !== undefined) w.push({ controller: 'memory', file: 'memory.swap.max', value: swapMaxV2(m.limit, m.swap) });
  if (m?.reservation !== undefined) w.push({ controller: 'memory', file: 'memory.low', value: unlimited(m.reservation, 'max') });
  const c = r.cpu;
  if (c?.shares !== undefined && c.shares > 0) w.push({ controller: 'cpu', file: 'cpu.weight', value: String(sharesToWeight(c.shares)) });
  const max = cpuMax(c?.quota, c?.period);
  if (max !== undefined) w.push({ controller: 'cpu', file: 'cpu.max', value: max });
  if (c?.cpus !== undefined) w.push({ controller: 'cpuset', file: 'cpuset.cpus', value: c.cpus });
  if (c?.mems !== undefined) w.push({ controller: 'cpuset', file: 'cpuset.mems', value: c.mems });
  if (r.pids) w.push({ controller: 'pids', file: 'pids.max', value: r.pids.limit > 0 ? String(r.pids.limit) : 'max' });
  const weight = r.blockIO?.weight;
  if (weight !== undefined && weight > 0) {
    w.push({ controller: 'blkio', file: 'io.bfq.weight', value: String(weight), alternative: { file: 'io.weight', value: String(blkioToIoWeight(weight)) } });
  }
  return w;
}

/** The writes, in an order the kernel accepts for most changes (the applier retries the rest once). */
export function cgroupWrites(r: OciResources, mode: CgroupMode): CgroupWrite[] {
  return mode === 'v2' ? v2Writes(r) : v1Writes(r);
}
