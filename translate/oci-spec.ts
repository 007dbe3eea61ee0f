/**
 * ContainerCreate (merged Config + HostConfig) → OCI runtime config.json, matching what dockerd
 * generates (daemon/oci_linux.go over oci.DefaultLinuxSpec) but for a runtime started inside the
 * engine's long-lived user namespace: no "user" namespace in the spec (the container inherits the
 * daemon's multi-uid map), device nodes are bind mounts, and kernel limits are only requested
 * where an unprivileged user can have them.
 */
import { invalidParameter } from './errors.js';
import { containerCapabilities } from './capabilities.js';
import { processArgs, resolveAdditionalGroups, resolveUser, type MergedContainerConfig } from './container-config.js';
import {
  buildResources,
  buildRlimits,
  oomScoreAdj,
  validateSysctls,
  type CgroupController,
  type HardLimits,
  type ResourceRequest,
} from './oci-limits.js';
import type { HostConfigBody } from '../openapi/containers.js';
import type { HostConfigSpec } from './container-spec.js';
import { parentsFirst } from './mounts.js';
import { parseSecurityOpts } from './security-opts.js';
import { defaultSeccompProfile, seccompFromDockerProfile } from './seccomp-default.js';
import type { OciMount, OciNamespace, OciSpec } from './oci-types.js';

export const DEFAULT_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;
/** Where dockerd puts its init; kept so `ps` inside looks the same as under Docker. */
export const INIT_PATH_IN_CONTAINER = '/sbin/docker-init';

export const DEFAULT_MASKED_PATHS: readonly string[] = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

export const DEFAULT_READONLY_PATHS: readonly string[] = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** One HostConfig.Devices entry as validated (any field may be missing, as in Go's zero value). */
export type DeviceMapping = NonNullable<HostConfigBody['Devices']>[number];

/** The HostConfig fields this translation reads (HostConfig in the swagger, derived from its schema). */
export type HostConfigInput = ResourceRequest &
  Pick<
    HostConfigSpec,
    | 'Privileged' | 'CapAdd' | 'CapDrop' | 'ReadonlyRootfs' | 'Tmpfs' | 'ShmSize' | 'Ulimits' | 'SecurityOpt' | 'Sysctls' | 'GroupAdd'
    | 'Init' | 'Devices' | 'OomScoreAdj' | 'CgroupParent' | 'ConsoleSize' | 'MaskedPaths' | 'ReadonlyPaths' | 'UsernsMode'
  >;

/** How a namespace is set up; "host" shares the engine's own (the user namespace's) one. */
export type NamespaceChoice = { mode: 'private' } | { mode: 'host' } | { mode: 'path'; path: string };
/** Joining another container's IPC namespace should also share its /dev/shm (`shmPath`), as dockerd does. */
export type IpcChoice = { mode: 'private' } | { mode: 'host' } | { mode: 'none' } | { mode: 'path'; path: string; shmPath?: string };

/** A mount the caller has already resolved (binds, named volumes, HostConfig.Mounts tmpfs). */
export interface ResolvedMount {
  type: 'bind' | 'volume' | 'tmpfs';
  /** Host path for bind/volume; ignored for tmpfs. */
  source?: string;
  destination: string;
  readOnly?: boolean;
  /** rprivate unless given (dockerd's default propagation). */
  propagation?: 'private' | 'rprivate' | 'shared' | 'rshared' | 'slave' | 'rslave';
  /** Bind without recursion (BindOptions.NonRecursive). */
  nonRecursive?: boolean;
  /** Extra mount options, e.g. tmpfs "size=…", "mode=…". */
  options?: string[];
}

/** What the caller found out about a host device node (or directory of them). */
export interface HostDeviceFacts {
  exists: boolean;
  /** What the (symlink-resolved) path is; a directory of nodes is bound whole. */
  kind?: 'device' | 'directory' | 'other';
  readable: boolean;
  writable: boolean;
}

export interface OciSpecInput {
  containerId: string;
  config: MergedContainerConfig;
  hostConfig: HostConfigInput;
  /** Absolute path of the mounted rootfs. */
  rootfs: string;
  /** The image's /etc/passwd and /etc/group contents ("" when missing). */
  etcPasswd: string;
  etcGroup: string;
  mounts?: ResolvedMount[];
  /** Host files bound over /etc/hosts, /etc/resolv.conf, /etc/hostname. */
  networkFiles?: { hosts?: string; resolvConf?: string; hostname?: string };
  namespaces: {
    network: NamespaceChoice;
    pid?: NamespaceChoice;
    ipc?: IpcChoice;
    uts?: NamespaceChoice;
    /** A private cgroup namespace; off by default (cgroup v1 host). */
    cgroup?: boolean;
  };
  /** Present only when a delegated cgroup subtree exists. */
  cgroup?: { parent: string; controllers: Partial<Record<CgroupController, boolean>> };
  /** Host path of catatonit, for HostConfig.Init. */
  initPath?: string;
  /** Facts per host device path named in HostConfig.Devices (and privilegedDevices). */
  hostDevices?: Record<string, HostDeviceFacts>;
  /** Host device nodes to expose under --privileged (the caller lists the ones it may open). */
  privilegedDevices?: string[];
  /** The host's mqueue mount (usually /dev/mqueue), if mounted; bound in with a host IPC namespace. */
  hostMqueue?: string;
  hardLimits: HardLimits;
  daemonOomScoreAdj: number;
  /** Host architecture (Node, Go or uname spelling). */
  arch: string;
  // The running kernel's facts (rootless/kernel-facts.ts): required, so that the compiler proves
  // every caller supplies them; an optional fact nobody produced once left --cpus unchecked.
  kernelVersion: string;
  /** Capabilities the running kernel knows; bounds --privileged. */
  hostCapabilities: readonly string[];
  /** CPUs this engine may use: bounds --cpus and --cpuset-cpus. */
  ncpu: number;
  /** False when the kernel lacks seccomp. */
  seccompSupported: boolean;
  /** Highest uid/gid the engine's user namespace maps (65536 with a default subuid range). */
  maxMappedId?: number;
}

export interface OciSpecResult {
  spec: OciSpec;
  warnings: string[];
}

type Env = string[];

/** dockerd's ReplaceOrAppendEnvValues: overrides win by key, a bare "KEY" unsets. */
export function replaceOrAppendEnv(defaults: Env, overrides: Env): Env {
  const out = [...defaults];
  const index = (key: string): number => out.findIndex((kv) => kv.split('=', 1)[0] === key);
  const unset: string[] = [];
  for (const kv of overrides) {
    const eq = kv.indexOf('=');
    const key = eq < 0 ? kv : kv.slice(0, eq);
    if (eq < 0) {
      unset.push(key);
      continue;
    }
    const i = index(key);
    if (i >= 0) out[i] = kv;
    else out.push(kv);
  }
  return out.filter((kv) => !unset.includes(kv.split('=', 1)[0] ?? ''));
}

/** dockerd's tmpfs default flags, then the user's, later flags overriding earlier conflicting ones. */
export function mergeTmpfsOptions(userOptions: string[]): string[] {
  const opposite: Record<string, string> = {
    exec: 'noexec', noexec: 'exec', suid: 'nosuid', nosuid: 'suid', dev: 'nodev', nodev: 'dev',
    ro: 'rw', rw: 'ro', atime: 'noatime', noatime: 'atime', diratime: 'nodiratime', nodiratime: 'diratime',
  };
  const out: string[] = [];
  for (const opt of ['noexec', 'nosuid', 'nodev', ...userOptions]) {
    if (opt === '') continue;
    const eq = opt.indexOf('=');
    if (eq >= 0) {
      const key = opt.slice(0, eq + 1);
      const i = out.findIndex((o) => o.startsWith(key));
      if (i >= 0) out.splice(i, 1);
    } else {
      const opp = opposite[opt];
      for (const drop of [opt, opp]) {
        const i = out.indexOf(drop ?? '');
        if (i >= 0) out.splice(i, 1);
      }
    }
    out.push(opt);
  }
  return out;
}

function userMount(m: ResolvedMount): OciMount {
  if (m.type === 'tmpfs') {
    return { destination: m.destination, type: 'tmpfs', source: 'tmpfs', options: mergeTmpfsOptions(m.options ?? []) };
  }
  if (!m.source) throw invalidParameter(`mount at ${m.destination} has no source`);
  const options = [m.nonRecursive ? 'bind' : 'rbind'];
  if (m.readOnly) options.push('ro');
  options.push(m.propagation ?? 'rprivate', ...(m.options ?? []));
  return { destination: m.destination, type: 'bind', source: m.source, options };
}

function assertAbsolute(dest: string, what: string): void {
  if (!dest.startsWith('/')) throw invalidParameter(`invalid mount config for type "${what}": invalid mount path: '${dest}' mount path must be absolute`);
}

function namespaceList(input: OciSpecInput): OciNamespace[] {
  const ns: OciNamespace[] = [{ type: 'mount' }];
  const add = (type: OciNamespace['type'], choice: NamespaceChoice | IpcChoice | undefined): void => {
    const c = choice ?? { mode: 'private' };
    if (c.mode === 'host') return;
    ns.push(c.mode === 'path' ? { type, path: c.path } : { type });
  };
  add('network', input.namespaces.network);
  add('uts', input.namespaces.uts);
  add('pid', input.namespaces.pid);
  add('ipc', input.namespaces.ipc);
  if (input.namespaces.cgroup) ns.push({ type: 'cgroup' });
  return ns;
}

/** Device nodes cannot be created in a user namespace, so --device becomes a bind of the host node. */
function deviceMounts(input: OciSpecInput, warnings: string[]): OciMount[] {
  const out: OciMount[] = [];
  for (const d of input.hostConfig.Devices ?? []) {
    const host = d.PathOnHost ?? '';
    const dest = d.PathInContainer || host;
    const perms = d.CgroupPermissions || 'rwm';
    if (!/^[rwm]+$/.test(perms)) throw invalidParameter(`invalid device mode: ${perms}`);
    const facts = input.hostDevices?.[host];
    if (!facts || !facts.exists) {
      throw invalidParameter(`error gathering device information while adding custom device "${host}": no such file or directory`);
    }
    if (facts.kind === 'other') throw invalidParameter(`error gathering device information while adding custom device "${host}": not a device node`);
    // dockerd's words with the errno the user would get opening it: binding it would give nothing usable.
    if (!facts.readable && !facts.writable) {
      throw invalidParameter(`error gathering device information while adding custom device "${host}": permission denied (the user running this rootless engine cannot open it)`);
    }
    const options = ['rbind', 'nosuid', 'noexec'];
    const wantWrite = perms.includes('w');
    if (!wantWrite || !facts.writable) {
      if (wantWrite) warnings.push(`device "${host}" is mapped read-only: the rootless engine's user cannot write to it`);
      options.push('ro');
    }
    out.push({ destination: dest, type: 'bind', source: host, options });
  }
  if (input.hostConfig.Privileged) {
    const taken = new Set(out.map((m) => m.destination));
    for (const host of input.privilegedDevices ?? []) {
      if (taken.has(host)) continue;
      out.push({ destination: host, type: 'bind', source: host, options: ['rbind', 'nosuid', 'noexec'] });
    }
  }
  return out;
}

function defaultMounts(input: OciSpecInput, shmSize: number, writableCgroups: boolean): OciMount[] {
  const privileged = input.hostConfig.Privileged === true;
  const pidHost = input.namespaces.pid?.mode === 'host';
  const ipc = input.namespaces.ipc ?? { mode: 'private' };
  const netHost = input.namespaces.network.mode === 'host';
  const mounts: OciMount[] = [];

  // proc can only be mounted by the owner of the pid namespace; the host's one is not ours.
  mounts.push(
    pidHost
      ? { destination: '/proc', type: 'bind', source: '/proc', options: ['rbind', 'nosuid', 'noexec', 'nodev'] }
      : { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
  );
  mounts.push({ destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] });
  mounts.push({
    destination: '/dev/pts',
    type: 'devpts',
    source: 'devpts',
    options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
  });
  const sysRo = privileged ? [] : ['ro'];
  // sysfs needs a network namespace owned by our user namespace; otherwise bind the host's.
  mounts.push(
    netHost
      ? { destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', ...sysRo] }
      : { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', ...sysRo] },
  );
  if (!netHost) {
    const cgRo = privileged || writableCgroups ? [] : ['ro'];
    mounts.push({ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', ...cgRo] });
  }
  // mqueue can only be mounted by the owner of the IPC namespace; with the host's one, bind the
  // host's mount if there is one (mq_open works without it, only listing queues needs it).
  if (ipc.mode !== 'host') {
    mounts.push({ destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] });
  } else if (input.hostMqueue) {
    mounts.push({ destination: '/dev/mqueue', type: 'bind', source: input.hostMqueue, options: ['rbind', 'nosuid', 'noexec', 'nodev'] });
  }
  if (ipc.mode === 'host') {
    mounts.push({ destination: '/dev/shm', type: 'bind', source: '/dev/shm', options: ['rbind', 'nosuid', 'noexec', 'nodev'] });
  } else if (ipc.mode === 'path' && ipc.shmPath) {
    mounts.push({ destination: '/dev/shm', type: 'bind', source: ipc.shmPath, options: ['rbind', 'nosuid', 'noexec', 'nodev'] });
  } else if (ipc.mode !== 'none') {
    mounts.push({
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${shmSize}`],
    });
  }
  return mounts;
}

export function buildOciSpec(input: OciSpecInput): OciSpecResult {
  const hc = input.hostConfig;
  const cfg = input.config;
  const warnings: string[] = [];
  const privileged = hc.Privileged === true;

  if (hc.UsernsMode && hc.UsernsMode !== 'host') {
    throw invalidParameter(`user namespace mode "${hc.UsernsMode}" is not supported by this rootless engine`);
  }

  const sec = parseSecurityOpts(hc.SecurityOpt);
  warnings.push(...sec.warnings);

  // ---- process --------------------------------------------------------------------------
  let args = processArgs(cfg);
  if (args.length === 0) throw invalidParameter('no command specified');
  const user = resolveUser(cfg.User, input.etcPasswd, input.etcGroup);
  const extraGids = resolveAdditionalGroups(hc.GroupAdd ?? [], input.etcGroup);
  const additionalGids = [...user.additionalGids];
  for (const g of extraGids) if (!additionalGids.includes(g)) additionalGids.push(g);
  const maxId = input.maxMappedId;
  if (maxId !== undefined) {
    for (const id of [user.uid, user.gid, ...additionalGids]) {
      if (id > maxId) throw invalidParameter(`uid/gid ${id} is outside the range this rootless engine can map (0-${maxId})`);
    }
  }

  const utsHost = input.namespaces.uts?.mode === 'host';
  const hostname = utsHost ? '' : cfg.Hostname || input.containerId.slice(0, 12);
  const baseEnv = [DEFAULT_PATH_ENV, `HOSTNAME=${hostname}`];
  if (cfg.Tty) baseEnv.push('TERM=xterm');
  const env = replaceOrAppendEnv(baseEnv, cfg.Env ?? []);

  const extraMounts: OciMount[] = [];
  if (hc.Init) {
    if (!input.initPath) throw invalidParameter('--init was requested but this engine has no init binary (catatonit) configured');
    args = [INIT_PATH_IN_CONTAINER, '--', ...args];
    extraMounts.push({ destination: INIT_PATH_IN_CONTAINER, type: 'bind', source: input.initPath, options: ['bind', 'ro'] });
  }

  const caps = containerCapabilities({
    privileged,
    capAdd: hc.CapAdd,
    capDrop: hc.CapDrop,
    hostCaps: input.hostCapabilities,
  });
  const rl = buildRlimits(hc.Ulimits, input.hardLimits);
  warnings.push(...rl.warnings);
  const oom = oomScoreAdj(hc.OomScoreAdj, input.daemonOomScoreAdj);
  warnings.push(...oom.warnings);

  const shmSize = hc.ShmSize ?? 0;
  if (shmSize < 0) throw invalidParameter('SHM size can not be less than 0');

  const spec: OciSpec = {
    ociVersion: '1.0.2',
    process: {
      terminal: cfg.Tty === true,
      user: { uid: user.uid, gid: user.gid, ...(additionalGids.length > 0 ? { additionalGids } : {}) },
      args,
      env,
      cwd: cfg.WorkingDir || '/',
      capabilities: { bounding: [...caps], effective: [...caps], permitted: [...caps] },
      oomScoreAdj: oom.value,
    },
    root: { path: input.rootfs, readonly: hc.ReadonlyRootfs === true },
    mounts: [],
    linux: { namespaces: namespaceList(input) },
  };
  if (cfg.Tty && hc.ConsoleSize && hc.ConsoleSize.length === 2 && (hc.ConsoleSize[0] ?? 0) > 0) {
    spec.process.consoleSize = { height: hc.ConsoleSize[0] ?? 0, width: hc.ConsoleSize[1] ?? 0 };
  }
  if (rl.rlimits.length > 0) spec.process.rlimits = rl.rlimits;
  if (sec.noNewPrivileges) spec.process.noNewPrivileges = true;
  if (hostname) spec.hostname = hostname;
  if (cfg.Domainname && !utsHost) spec.domainname = cfg.Domainname;

  // ---- mounts ---------------------------------------------------------------------------
  const user_: OciMount[] = [];
  for (const m of input.mounts ?? []) {
    assertAbsolute(m.destination, m.type);
    user_.push(userMount(m));
  }
  for (const [dest, data] of Object.entries(hc.Tmpfs ?? {})) {
    assertAbsolute(dest, 'tmpfs');
    const opts = data ? data.split(',') : [];
    user_.push({ destination: dest, type: 'tmpfs', source: 'tmpfs', options: mergeTmpfsOptions(['rprivate', ...opts]) });
  }
  const nf = input.networkFiles ?? {};
  const filesWritable = hc.ReadonlyRootfs !== true;
  for (const [dest, source] of [
    ['/etc/resolv.conf', nf.resolvConf],
    ['/etc/hostname', nf.hostname],
    ['/etc/hosts', nf.hosts],
  ] as const) {
    if (!source || user_.some((m) => m.destination === dest)) continue;
    user_.push({ destination: dest, type: 'bind', source, options: ['rbind', 'rprivate', ...(filesWritable ? [] : ['ro'])] });
  }
  user_.push(...deviceMounts(input, warnings));
  const seen = new Map<string, number>();
  user_.forEach((m, i) => {
    if (seen.has(m.destination)) throw invalidParameter(`Duplicate mount point: ${m.destination}`);
    seen.set(m.destination, i);
  });
  // Parents before children, as dockerd sorts them, so a child mount is not hidden.
  const sortedUser = parentsFirst(user_);

  const userDests = new Set(sortedUser.map((m) => m.destination));
  const userDev = userDests.has('/dev');
  const defaults = defaultMounts(input, shmSize || DEFAULT_SHM_SIZE, sec.writableCgroups).filter(
    (m) => !userDests.has(m.destination) && !(userDev && m.destination.startsWith('/dev/')),
  );
  if (hc.ReadonlyRootfs) {
    // dockerd also makes its own default mounts read-only, except the ones a process needs to write.
    const keepRw = new Set(['/proc', '/dev/pts', '/dev/shm', '/dev/mqueue', '/dev']);
    for (const m of defaults) {
      if (!keepRw.has(m.destination) && !(m.options ?? []).includes('ro')) m.options = [...(m.options ?? []), 'ro'];
    }
  }
  spec.mounts = [...defaults, ...sortedUser, ...extraMounts];

  // ---- linux ----------------------------------------------------------------------------
  if (!privileged) {
    spec.linux.maskedPaths = [...(hc.MaskedPaths ?? DEFAULT_MASKED_PATHS)];
    spec.linux.readonlyPaths = [...(hc.ReadonlyPaths ?? DEFAULT_READONLY_PATHS)];
  }
  const ipcMode = (input.namespaces.ipc ?? { mode: 'private' }).mode;
  const sysctl = validateSysctls(hc.Sysctls, {
    privateNetwork: input.namespaces.network.mode !== 'host',
    privateIpc: ipcMode !== 'host',
  });
  if (sysctl) spec.linux.sysctl = sysctl;

  if (input.cgroup) {
    const parent = input.cgroup.parent.startsWith('/') ? input.cgroup.parent : '/' + input.cgroup.parent;
    spec.linux.cgroupsPath = `${parent.replace(/\/+$/, '')}/${input.containerId}`;
  }
  if (hc.CgroupParent) warnings.push(`CgroupParent "${hc.CgroupParent}" is ignored: this rootless engine places containers in its delegated cgroup`);
  const res = buildResources(hc, input.cgroup?.controllers ?? {}, input.ncpu);
  warnings.push(...res.warnings);
  if (res.resources) spec.linux.resources = res.resources;

  // ---- seccomp --------------------------------------------------------------------------
  if (!privileged && sec.seccomp.kind !== 'unconfined') {
    const supported = input.seccompSupported;
    if (sec.seccomp.kind === 'custom') {
      if (!supported) throw invalidParameter('seccomp is not enabled in your kernel, cannot run a custom seccomp profile');
      spec.linux.seccomp = seccompFromDockerProfile(sec.seccomp.profile, caps, input.arch, input.kernelVersion);
    } else if (supported) {
      spec.linux.seccomp = defaultSeccompProfile(caps, input.arch, input.kernelVersion);
    }
  }
  return { spec, warnings };
}
