/**
 * ContainerCreate (merged Config + HostConfig) → OCI runtime config.json, matching what dockerd
 * generates (daemon/oci_linux.go over oci.DefaultLinuxSpec) but for a runtime started inside the
 * engine's long-lived user namespace: no "user" namespace in the spec (the container inherits the
 * daemon's multi-uid map), device nodes are bind mounts, and kernel limits are only requested
 * where an unprivileged user can have them.
 */
import { invalidParameter } from './errors.js';
import { containerCapabilities } from './capabilities.js';
import { processArgs, resolveAdditionalGroups, resolveUser } from './container-config.js';
import { buildResources, buildRlimits, oomScoreAdj, validateSysctls } from './oci-limits.js';
import { parseSecurityOpts } from './security-opts.js';
import { defaultSeccompProfile, seccompFromDockerProfile } from './seccomp-default.js';
import { specMounts } from './oci-mounts.js';
import type { IpcChoice, NamespaceChoice, OciSpecInput, OciSpecResult } from './oci-spec-input.js';
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
  spec.mounts = specMounts(input, { shmSize: shmSize || DEFAULT_SHM_SIZE, writableCgroups: sec.writableCgroups, extra: extraMounts }, warnings);

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
