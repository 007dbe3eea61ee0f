/**
 * The kernel-limit parts of HostConfig (cgroup resources, ulimits, sysctls, oom score) as a
 * rootless engine can honour them: cgroup limits only with a delegated controller, rlimits no
 * higher than the server's own hard limits, sysctls only where a namespace owned by our user
 * namespace scopes them, and an oom score never below the daemon's.
 */
import { invalidParameter } from './errors.js';
import type { OciResources, OciRlimit } from './oci-types.js';
import type { HostConfigBody } from '../openapi/containers.js';

export type CgroupController = 'memory' | 'cpu' | 'cpuset' | 'pids' | 'blkio';

/** The cgroup limits of HostConfig (and of an update body), derived from the schema. */
export type ResourceRequest = Pick<
  HostConfigBody,
  | 'Memory' | 'MemorySwap' | 'MemoryReservation' | 'MemorySwappiness' | 'OomKillDisable' | 'NanoCpus' | 'CpuShares' | 'CpuPeriod'
  | 'CpuQuota' | 'CpuRealtimePeriod' | 'CpuRealtimeRuntime' | 'CpusetCpus' | 'CpusetMems' | 'PidsLimit' | 'BlkioWeight'
>;

const MIN_MEMORY = 6 * 1024 * 1024;
const CFS_PERIOD = 100_000;

/** dockerd's wording for limits the host cannot enforce (daemon verifyPlatformContainerResources). */
export const LIMIT_WARNINGS = {
  memory: 'Your kernel does not support memory limit capabilities or the cgroup is not mounted. Limitation discarded.',
  swap: 'Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.',
  reservation: 'Your kernel does not support memory soft limit capabilities or the cgroup is not mounted. Limitation discarded.',
  swappiness: 'Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. Memory swappiness discarded.',
  oomKillDisable: 'Your kernel does not support OomKillDisable. OomKillDisable discarded.',
  shares: 'Your kernel does not support CPU shares or the cgroup is not mounted. Shares discarded.',
  period: 'Your kernel does not support CPU CFS period or the cgroup is not mounted. Period discarded.',
  quota: 'Your kernel does not support CPU CFS quota or the cgroup is not mounted. Quota discarded.',
  cpuset: 'Your kernel does not support cpuset or the cgroup is not mounted. Cpuset discarded.',
  pids: 'Your kernel does not support PIDs limit capabilities or the cgroup is not mounted. PIDs limit discarded.',
  blkio: 'Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.',
  realtime: 'Your kernel does not support CPU real-time scheduler. Real-time settings discarded.',
} as const;

/**
 * Validate like dockerd, then keep each limit whose controller is delegated and warn for the rest.
 * Returns undefined resources when nothing is set, so the runtime touches no cgroup knobs.
 */
export function buildResources(
  r: ResourceRequest,
  delegated: Partial<Record<CgroupController, boolean>>,
  ncpu?: number,
): { resources?: OciResources; warnings: string[] } {
  const warnings: string[] = [];
  const memory = r.Memory ?? 0;
  let swap = r.MemorySwap ?? 0;
  if (memory !== 0 && memory < MIN_MEMORY) throw invalidParameter('Minimum memory limit allowed is 6MB');
  if (memory > 0 && swap > 0 && swap < memory) {
    throw invalidParameter('Minimum memoryswap limit should be larger than memory limit, see usage');
  }
  if (memory === 0 && swap > 0) throw invalidParameter('You should always set the Memory limit when using Memoryswap limit, see usage');
  if (r.MemorySwappiness != null && r.MemorySwappiness !== -1 && (r.MemorySwappiness < 0 || r.MemorySwappiness > 100)) {
    throw invalidParameter(`Invalid value: ${r.MemorySwappiness}, valid memory swappiness range is 0-100`);
  }
  const reservation = r.MemoryReservation ?? 0;
  if (reservation > 0 && reservation < MIN_MEMORY) throw invalidParameter('Minimum memory reservation allowed is 6MB');
  if (memory > 0 && reservation > 0 && memory < reservation) {
    throw invalidParameter('Minimum memory limit can not be less than memory reservation limit, see usage');
  }
  // The kernel refuses a negative weight; newer dockerd says so before the runtime is asked.
  if ((r.CpuShares ?? 0) < 0) throw invalidParameter(`invalid CPU shares (${r.CpuShares}): value must be a positive integer`);
  const nano = r.NanoCpus ?? 0;
  if (nano > 0 && (r.CpuPeriod ?? 0) > 0) throw invalidParameter('Conflicting options: Nano CPUs and CPU Period cannot both be set');
  if (nano > 0 && (r.CpuQuota ?? 0) > 0) throw invalidParameter('Conflicting options: Nano CPUs and CPU Quota cannot both be set');
  if (nano < 0 || (ncpu !== undefined && nano > ncpu * 1e9)) {
    const n = ncpu ?? 0;
    throw invalidParameter(`Range of CPUs is from 0.01 to ${n}.00, as there are only ${n} CPUs available`);
  }
  if ((r.CpuPeriod ?? 0) !== 0 && ((r.CpuPeriod ?? 0) < 1000 || (r.CpuPeriod ?? 0) > 1_000_000)) {
    throw invalidParameter('CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
  }
  if ((r.CpuQuota ?? 0) > 0 && (r.CpuQuota ?? 0) < 1000) throw invalidParameter('CPU cfs quota can not be less than 1ms (i.e. 1000)');
  checkCpuset(r.CpusetCpus, 'cpus', ncpu);
  // Memory nodes are only checked for form: how many a host has is not known here.
  checkCpuset(r.CpusetMems, 'mems', undefined);
  if ((r.BlkioWeight ?? 0) > 0 && ((r.BlkioWeight ?? 0) < 10 || (r.BlkioWeight ?? 0) > 1000)) {
    throw invalidParameter('Range of blkio weight is from 10 to 1000');
  }

  const res: OciResources = {};
  const mem: NonNullable<OciResources['memory']> = {};
  if (memory > 0) {
    if (delegated.memory) {
      mem.limit = memory;
      // dockerd doubles the limit for swap when the request leaves swap unset.
      if (swap === 0) swap = memory * 2;
      mem.swap = swap;
    } else warnings.push(LIMIT_WARNINGS.memory);
  }
  if ((r.MemoryReservation ?? 0) > 0) {
    if (delegated.memory) mem.reservation = r.MemoryReservation;
    else warnings.push(LIMIT_WARNINGS.reservation);
  }
  if (r.MemorySwappiness != null && r.MemorySwappiness !== -1) {
    if (delegated.memory) mem.swappiness = r.MemorySwappiness;
    else warnings.push(LIMIT_WARNINGS.swappiness);
  }
  if (r.OomKillDisable) {
    if (delegated.memory) mem.disableOOMKiller = true;
    else warnings.push(LIMIT_WARNINGS.oomKillDisable);
  }
  if (Object.keys(mem).length > 0) res.memory = mem;

  const cpu: NonNullable<OciResources['cpu']> = {};
  const wantCpu = (value: number | undefined, warning: string, set: () => void): void => {
    if (!value) return;
    if (delegated.cpu) set();
    else warnings.push(warning);
  };
  if (nano > 0) {
    // NanoCpus cannot be discarded quietly: dockerd refuses it outright without CFS.
    if (!delegated.cpu) throw invalidParameter('NanoCPUs can not be set, as your kernel does not support CPU CFS scheduler or the cgroup is not mounted');
    cpu.period = CFS_PERIOD;
    cpu.quota = Math.floor((nano * CFS_PERIOD) / 1e9);
  }
  wantCpu(r.CpuShares, LIMIT_WARNINGS.shares, () => (cpu.shares = r.CpuShares));
  wantCpu(r.CpuPeriod, LIMIT_WARNINGS.period, () => (cpu.period = r.CpuPeriod));
  wantCpu(r.CpuQuota, LIMIT_WARNINGS.quota, () => (cpu.quota = r.CpuQuota));
  if (r.CpuRealtimePeriod || r.CpuRealtimeRuntime) warnings.push(LIMIT_WARNINGS.realtime);
  if (r.CpusetCpus || r.CpusetMems) {
    if (delegated.cpuset) {
      if (r.CpusetCpus) cpu.cpus = r.CpusetCpus;
      if (r.CpusetMems) cpu.mems = r.CpusetMems;
    } else warnings.push(LIMIT_WARNINGS.cpuset);
  }
  if (Object.keys(cpu).length > 0) res.cpu = cpu;

  if (r.PidsLimit != null && r.PidsLimit > 0) {
    if (delegated.pids) res.pids = { limit: r.PidsLimit };
    else warnings.push(LIMIT_WARNINGS.pids);
  }
  if ((r.BlkioWeight ?? 0) > 0) {
    if (delegated.blkio) res.blockIO = { weight: r.BlkioWeight };
    else warnings.push(LIMIT_WARNINGS.blkio);
  }
  return Object.keys(res).length > 0 ? { resources: res, warnings } : { warnings };
}

/** pkg/parsers.ParseUintList: "0-2,4" → {0,1,2,4}; undefined when the text is not such a list. */
export function parseUintList(text: string): Set<number> | undefined {
  const out = new Set<number>();
  if (text === '') return out;
  const uint = (t: string): number | undefined => (/^\+?\d+$/.test(t) ? Number(t) : undefined);
  for (const part of text.split(',')) {
    const dash = part.indexOf('-');
    if (dash < 0) {
      const v = uint(part);
      if (v === undefined) return undefined;
      out.add(v);
      continue;
    }
    const lo = uint(part.slice(0, dash));
    const hi = uint(part.slice(dash + 1));
    if (lo === undefined || hi === undefined || hi < lo) return undefined;
    for (let i = lo; i <= hi && out.size <= 65_536; i++) out.add(i);
  }
  return out;
}

/**
 * dockerd's cpuset checks (sysInfo.IsCpusetCpusAvailable/IsCpusetMemsAvailable) with its words,
 * so a bad list is a 400 at create or update instead of a cgroup write error. Available CPUs
 * are 0..count-1 (count undefined: the form alone is checked).
 */
function checkCpuset(value: string | undefined, kind: 'cpus' | 'mems', count: number | undefined): void {
  if (!value) return;
  const wanted = parseUintList(value);
  if (!wanted) throw invalidParameter(`Invalid value ${value} for cpuset ${kind}: invalid format: ${value}`);
  if (count === undefined || count < 1) return;
  const available = count === 1 ? '0' : `0-${count - 1}`;
  if ([...wanted].some((n) => n >= count)) {
    const what = kind === 'cpus' ? 'CPUs are' : 'memory nodes are';
    throw invalidParameter(`Requested ${what} not available - requested ${value}, available: ${available}`);
  }
}

// ---- ulimits ----------------------------------------------------------------------------

/** One HostConfig.Ulimits entry as validated: a missing field is Go's zero value. */
export type Ulimit = NonNullable<HostConfigBody['Ulimits']>[number];

export const ULIMIT_NAMES = [
  'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio',
  'rttime', 'sigpending', 'stack',
] as const;
export type UlimitName = (typeof ULIMIT_NAMES)[number];

/** The server's own hard limits; raising past them needs CAP_SYS_RESOURCE in the init namespace. */
export type HardLimits = { nofile: number } & Partial<Record<UlimitName, number>>;

const isUlimitName = (n: string): n is UlimitName => (ULIMIT_NAMES as readonly string[]).includes(n);

export function buildRlimits(ulimits: readonly Ulimit[] | null | undefined, hard: HardLimits): { rlimits: OciRlimit[]; warnings: string[] } {
  const rlimits: OciRlimit[] = [];
  const warnings: string[] = [];
  for (const { Name: given = '', Soft: softAsked = 0, Hard: hardAsked = 0 } of ulimits ?? []) {
    const name = given.toLowerCase();
    if (!isUlimitName(name)) throw invalidParameter(`invalid ulimit type: ${given}`);
    if (softAsked !== -1 && hardAsked !== -1 && softAsked > hardAsked) {
      throw invalidParameter(`ulimit soft limit must be less than or equal to hard limit: ${softAsked} > ${hardAsked}`);
    }
    const max = hard[name];
    // -1 means unlimited; RLIM_INFINITY does not survive a JS number, so use the ceiling we have.
    const want = (v: number): number => (v === -1 ? (max ?? Number.MAX_SAFE_INTEGER) : v);
    let soft = want(softAsked);
    let hardV = want(hardAsked);
    if (max !== undefined && (hardV > max || soft > max)) {
      warnings.push(`ulimit ${name} lowered to ${max}: the rootless engine's own hard limit is ${max}`);
      hardV = Math.min(hardV, max);
      soft = Math.min(soft, max);
    }
    const type = `RLIMIT_${name.toUpperCase()}`;
    const existing = rlimits.findIndex((r) => r.type === type);
    const entry = { type, hard: hardV, soft };
    if (existing >= 0) rlimits[existing] = entry;
    else rlimits.push(entry);
  }
  return { rlimits, warnings };
}

// ---- sysctls ----------------------------------------------------------------------------

export interface SysctlScope {
  /** The container has its own network namespace. */
  privateNetwork: boolean;
  /** The container has its own IPC namespace. */
  privateIpc: boolean;
}

const IPC_SYSCTL = /^(kernel\.(shm[^.]*|msg[^.]*|sem)|fs\.mqueue\..+)$/;

/** Only sysctls scoped by a namespace we own can be set; anything else would need host root. */
export function validateSysctls(sysctls: Record<string, string> | null | undefined, scope: SysctlScope): Record<string, string> | undefined {
  if (!sysctls || Object.keys(sysctls).length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const [rawKey, value] of Object.entries(sysctls)) {
    const key = rawKey.replaceAll('/', '.');
    if (key.startsWith('net.')) {
      if (!scope.privateNetwork) throw invalidParameter(`sysctl "${rawKey}" is not allowed with --network=host`);
    } else if (IPC_SYSCTL.test(key)) {
      if (!scope.privateIpc) throw invalidParameter(`sysctl "${rawKey}" is not allowed in the host's IPC namespace`);
    } else {
      throw invalidParameter(
        `sysctl "${rawKey}" is not allowed: only namespaced sysctls (net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*) can be set`,
      );
    }
    out[key] = value;
  }
  return out;
}

// ---- oom score ----------------------------------------------------------------------------

/** An unprivileged process may raise its oom_score_adj but never lower it below what it inherited. */
export function oomScoreAdj(requested: number | undefined, daemon: number): { value: number; warnings: string[] } {
  const want = requested ?? 0;
  if (want < -1000 || want > 1000) throw invalidParameter(`Invalid value ${want}, range for oom score adj is [-1000, 1000]`);
  if (want >= daemon) return { value: want, warnings: [] };
  const warnings = want !== 0 ? [`OomScoreAdj ${want} raised to ${daemon}: a rootless engine cannot go below its own score`] : [];
  return { value: daemon, warnings };
}
