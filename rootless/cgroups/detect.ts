import { access, readFile, readdir, realpath, stat } from 'node:fs/promises';
import { constants } from 'node:fs';
import { basename, join, posix } from 'node:path';

export const DEFAULT_CGROUP_ROOT = '/sys/fs/cgroup';

/** v2: one unified hierarchy; hybrid: v1 controller hierarchies plus a cgroup2 mount at <root>/unified; v1: v1 only. */
export type CgroupMode = 'v2' | 'hybrid' | 'v1';
export type CgroupDriver = 'cgroupfs' | 'none';

export const CGROUP_CONTROLLERS = ['memory', 'cpu', 'cpuacct', 'cpuset', 'pids', 'io', 'freezer', 'hugetlb'] as const;
export type CgroupController = (typeof CGROUP_CONTROLLERS)[number];
export type CgroupControllers = Record<CgroupController, boolean>;

/** What the user may do with cgroups, before looking at individual limit files. */
export interface CgroupDelegation {
  mode: CgroupMode;
  /** The cgroup filesystem root that was inspected (BURROW_CGROUP_ROOT or /sys/fs/cgroup). */
  root: string;
  /** 'cgroupfs' only when containers can be given cgroups: every required subtree is writable. */
  driver: CgroupDriver;
  /** Absolute cgroupsPath prefix for containers, e.g. '/burrow-test'; '' when driver is 'none'. */
  cgroupParent: string;
  /** Directories the user can create cgroups in (one per v1 hierarchy, plus the cgroup2 one). */
  delegated: string[];
  /** Directories that must be writable for the driver to work but are not. */
  missing: string[];
  controllers: CgroupControllers;
  /** Caveats a human should know (why something is off, what the runtime needs). */
  notes: string[];
}

/** The resource knobs GET /info advertises; each is true only if Burrow can really apply it. */
export interface CgroupFeatures {
  memoryLimit: boolean;
  swapLimit: boolean;
  cpuCfsPeriod: boolean;
  cpuCfsQuota: boolean;
  cpuShares: boolean;
  cpuSet: boolean;
  pidsLimit: boolean;
  oomKillDisable: boolean;
}

export interface CgroupFacts extends CgroupDelegation {
  features: CgroupFeatures;
}

export interface DetectCgroupsOptions {
  user: string;
  uid: number;
  /** Defaults to $BURROW_CGROUP_ROOT, then /sys/fs/cgroup. */
  root?: string;
  /** Contents of /proc/self/cgroup; injectable so tests can place the process anywhere. */
  selfCgroup?: string;
}

const NO_CONTROLLERS: CgroupControllers = {
  memory: false, cpu: false, cpuacct: false, cpuset: false, pids: false, io: false, freezer: false, hugetlb: false,
};

const NO_FEATURES: CgroupFeatures = {
  memoryLimit: false, swapLimit: false, cpuCfsPeriod: false, cpuCfsQuota: false,
  cpuShares: false, cpuSet: false, pidsLimit: false, oomKillDisable: false,
};

/** The kernel names blkio "io" on cgroup2; Docker's API calls it blkio everywhere. */
const V1_NAME: Record<CgroupController, string> = {
  memory: 'memory', cpu: 'cpu', cpuacct: 'cpuacct', cpuset: 'cpuset', pids: 'pids', io: 'blkio', freezer: 'freezer', hugetlb: 'hugetlb',
};

/** A v1 control file the user must be able to write for the controller to be worth anything. */
const V1_KNOB: Partial<Record<CgroupController, string>> = {
  memory: 'memory.limit_in_bytes',
  cpu: 'cpu.shares',
  cpuset: 'cpuset.cpus',
  pids: 'pids.max',
  freezer: 'freezer.state',
  // BFQ-only kernels have blkio.bfq.weight but no blkio.weight, and runtimes fail the start writing
  // the latter: like dockerd's sysinfo, weight support means this file.
  io: 'blkio.weight',
};

async function exists(path: string): Promise<boolean> {
  try {
    await access(path, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Write permission as `uid` would have it. access(2) answers for the calling process, so it is
 * exact when we are that user; otherwise (root inspecting someone else) ownership decides, which
 * is how an administrator delegates cgroups.
 */
async function canWrite(path: string, uid: number): Promise<boolean> {
  if (typeof process.getuid === 'function' && process.getuid() === uid) {
    try {
      await access(path, constants.W_OK);
      return true;
    } catch {
      return false;
    }
  }
  try {
    const st = await stat(path);
    return uid === 0 || (st.uid === uid && (st.mode & 0o200) !== 0) || (st.mode & 0o002) !== 0;
  } catch {
    return false;
  }
}

/** A cgroup directory the user can create children in and move its tasks into. */
async function isDelegatedDir(dir: string, uid: number): Promise<boolean> {
  return (await canWrite(dir, uid)) && (await canWrite(join(dir, 'cgroup.procs'), uid));
}

interface V1Hierarchy {
  path: string;
  /** Controllers bound to it, from the mount point name (e.g. "cpu,cpuacct"; "systemd" binds none). */
  names: string[];
}

interface Layout {
  mode: CgroupMode;
  v1: V1Hierarchy[];
  /** Mount point of the cgroup2 hierarchy, if any. */
  v2?: string;
}

async function v1Hierarchies(root: string): Promise<V1Hierarchy[]> {
  let entries: string[];
  try {
    entries = await readdir(root);
  } catch {
    return [];
  }
  const seen = new Set<string>();
  const found: V1Hierarchy[] = [];
  for (const name of entries.sort()) {
    const path = join(root, name);
    // Only v1 hierarchies have a "tasks" file; distros symlink "cpu" -> "cpu,cpuacct", so dedupe by target.
    if (!(await exists(join(path, 'tasks')))) continue;
    const real = await realpath(path).catch(() => path);
    if (seen.has(real)) continue;
    seen.add(real);
    found.push({ path: real, names: basename(real).split(',') });
  }
  return found;
}

/** Mode from the files under root, so a test can hand in a fake tree; undefined when nothing there looks like cgroups. */
async function layoutOf(root: string): Promise<Layout | undefined> {
  if (await exists(join(root, 'cgroup.controllers'))) return { mode: 'v2', v1: [], v2: root };
  const v1 = await v1Hierarchies(root);
  const unified = join(root, 'unified');
  const v2 = (await exists(join(unified, 'cgroup.controllers'))) ? unified : undefined;
  if (v1.length > 0) return { mode: v2 ? 'hybrid' : 'v1', v1, v2 };
  if (v2) return { mode: 'v2', v1: [], v2 };
  return undefined;
}

/** The process's cgroup2 path ("0::/a/b" line), '/' when it has none. */
function ownV2Path(selfCgroup: string): string {
  const line = selfCgroup.split('\n').find((l) => l.startsWith('0::'));
  return line ? line.slice(3).trim() || '/' : '/';
}

function isWithin(path: string, parent: string): boolean {
  return parent === '/' || path === parent || path.startsWith(`${parent}/`);
}

/**
 * cgroup2: the topmost writable ancestor of our own cgroup (systemd's user@UID.service is
 * delegated that way), else an administrator-made <root>/<user>. The latter only helps if the
 * engine runs inside it: moving a task needs write access to the common ancestor.
 */
async function detectV2(root: string, opts: DetectCgroupsOptions, selfCgroup: string): Promise<CgroupDelegation> {
  const own = ownV2Path(selfCgroup);
  let delegatedRel: string | undefined;
  for (let rel = own; rel !== '/'; rel = posix.dirname(rel)) {
    if (await isDelegatedDir(join(root, rel), opts.uid)) delegatedRel = rel;
    else if (delegatedRel) break;
  }
  const notes: string[] = [];
  const adminRel = `/${opts.user}`;
  if (!delegatedRel && (await isDelegatedDir(join(root, adminRel), opts.uid))) {
    delegatedRel = adminRel;
    if (!isWithin(own, adminRel)) {
      notes.push(`this process runs in ${own}, outside ${adminRel}: root must move the engine into ${join(root, adminRel)} once`);
    }
  }
  if (!delegatedRel) {
    return {
      mode: 'v2', root, driver: 'none', cgroupParent: '', delegated: [], missing: [join(root, adminRel)],
      controllers: { ...NO_CONTROLLERS }, notes,
    };
  }
  const dir = join(root, delegatedRel);
  const available = new Set(((await readText(join(dir, 'cgroup.controllers'))) ?? '').split(/\s+/).filter(Boolean));
  const controllers: CgroupControllers = {
    memory: available.has('memory'),
    cpu: available.has('cpu'),
    // cgroup2 accounts cpu usage (cpu.stat) in every cgroup, with or without the cpu controller.
    cpuacct: true,
    cpuset: available.has('cpuset'),
    pids: available.has('pids'),
    io: available.has('io'),
    // cgroup.freeze is a core file of every non-root cgroup2 group.
    freezer: true,
    hugetlb: available.has('hugetlb'),
  };
  return { mode: 'v2', root, driver: 'cgroupfs', cgroupParent: delegatedRel, delegated: [dir], missing: [], controllers, notes };
}

async function v1Controller(c: CgroupController, layout: Layout, user: string, uid: number): Promise<boolean> {
  const h = layout.v1.find((x) => x.names.includes(V1_NAME[c]));
  if (!h) return false;
  const dir = join(h.path, user);
  const knob = V1_KNOB[c];
  if (knob && !(await canWrite(join(dir, knob), uid))) return false;
  if (c === 'cpuset') {
    // An empty cpuset refuses tasks, so an unfilled delegation would make every container fail.
    const cpus = (await readText(join(dir, 'cpuset.cpus')))?.trim();
    const mems = (await readText(join(dir, 'cpuset.mems')))?.trim();
    return Boolean(cpus) && Boolean(mems);
  }
  return true;
}

/**
 * v1 (and the v1 half of hybrid): crun and runc create the container cgroup in every mounted
 * hierarchy and fail if any lacks a writable /<user>, so one gap disables the driver. In hybrid
 * mode crun also creates it under unified/, which therefore counts as required too.
 */
async function detectV1(root: string, layout: Layout, opts: DetectCgroupsOptions, selfCgroup: string): Promise<CgroupDelegation> {
  const required = layout.v1.map((h) => join(h.path, opts.user));
  if (layout.v2) required.push(join(layout.v2, opts.user));
  const writable = await Promise.all(required.map((d) => isDelegatedDir(d, opts.uid)));
  const delegated = required.filter((_, i) => writable[i]);
  const missing = required.filter((_, i) => !writable[i]);
  const notes: string[] = [];
  if (missing.length > 0) {
    const base = {
      mode: layout.mode, root, driver: 'none' as const, cgroupParent: '', delegated, missing,
      controllers: { ...NO_CONTROLLERS }, notes,
    };
    if (delegated.length > 0) notes.push(`partial delegation: the runtime fails unless /${opts.user} is writable in every hierarchy`);
    return base;
  }
  const controllers = { ...NO_CONTROLLERS };
  await Promise.all(
    CGROUP_CONTROLLERS.map(async (c) => {
      controllers[c] = await v1Controller(c, layout, opts.user, opts.uid);
    }),
  );
  if (layout.v2 && !controllers.hugetlb) {
    // hybrid: hugetlb lives in cgroup2, where containers only land if the engine itself is inside /<user>.
    const available = ((await readText(join(layout.v2, opts.user, 'cgroup.controllers'))) ?? '').split(/\s+/);
    controllers.hugetlb = available.includes('hugetlb') && isWithin(ownV2Path(selfCgroup), `/${opts.user}`);
  }
  return { mode: layout.mode, root, driver: 'cgroupfs', cgroupParent: `/${opts.user}`, delegated, missing, controllers, notes };
}

async function hasFile(d: CgroupDelegation, file: string): Promise<boolean> {
  const found = await Promise.all(d.delegated.map((dir) => exists(join(dir, file))));
  return found.includes(true);
}

/**
 * Which Docker resource options Burrow can honour, judged by the control files that exist in
 * the delegated subtree (swap accounting and CFS bandwidth are kernel build options).
 */
export async function detectCgroupFeatures(d: CgroupDelegation): Promise<CgroupFeatures> {
  if (d.driver === 'none') return { ...NO_FEATURES };
  const c = d.controllers;
  if (d.mode === 'v2') {
    const [swap, cpuMax, cpuWeight] = await Promise.all([hasFile(d, 'memory.swap.max'), hasFile(d, 'cpu.max'), hasFile(d, 'cpu.weight')]);
    return {
      memoryLimit: c.memory,
      swapLimit: c.memory && swap,
      cpuCfsPeriod: c.cpu && cpuMax,
      cpuCfsQuota: c.cpu && cpuMax,
      cpuShares: c.cpu && cpuWeight,
      cpuSet: c.cpuset,
      pidsLimit: c.pids,
      // cgroup2 has no per-cgroup switch for the OOM killer.
      oomKillDisable: false,
    };
  }
  const [swap, oomControl, period, quota, shares] = await Promise.all([
    hasFile(d, 'memory.memsw.limit_in_bytes'),
    hasFile(d, 'memory.oom_control'),
    hasFile(d, 'cpu.cfs_period_us'),
    hasFile(d, 'cpu.cfs_quota_us'),
    hasFile(d, 'cpu.shares'),
  ]);
  return {
    memoryLimit: c.memory,
    swapLimit: c.memory && swap,
    cpuCfsPeriod: c.cpu && period,
    cpuCfsQuota: c.cpu && quota,
    cpuShares: c.cpu && shares,
    cpuSet: c.cpuset,
    pidsLimit: c.pids,
    oomKillDisable: c.memory && oomControl,
  };
}

export function cgroupRootFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return env.BURROW_CGROUP_ROOT || DEFAULT_CGROUP_ROOT;
}

/**
 * How cgroups are mounted and which part of them the user owns. Never creates, moves or
 * changes anything: delegation is the administrator's job (scripts/setup-host.sh).
 */
export async function detectCgroups(opts: DetectCgroupsOptions): Promise<CgroupFacts> {
  const root = opts.root ?? cgroupRootFromEnv();
  const selfCgroup = opts.selfCgroup ?? (await readText('/proc/self/cgroup')) ?? '';
  const layout = await layoutOf(root);
  let delegation: CgroupDelegation;
  if (!layout) {
    // A root that hides the delegation (an empty dir) still runs on the real host's mode.
    const host = root === DEFAULT_CGROUP_ROOT ? undefined : await layoutOf(DEFAULT_CGROUP_ROOT);
    delegation = {
      mode: host?.mode ?? 'v1', root, driver: 'none', cgroupParent: '', delegated: [], missing: [],
      controllers: { ...NO_CONTROLLERS }, notes: [`no cgroup hierarchy found under ${root}`],
    };
  } else if (layout.mode === 'v2') {
    delegation = await detectV2(layout.v2 ?? root, opts, selfCgroup);
    delegation.root = root;
  } else {
    delegation = await detectV1(root, layout, opts, selfCgroup);
  }
  return { ...delegation, features: await detectCgroupFeatures(delegation) };
}
