/**
 * The OCI spec's mounts (translate/oci-spec.ts): dockerd's default ones (proc, dev, sysfs, cgroup,
 * mqueue, shm), adjusted for a runtime inside the engine's user namespace, then the user's binds,
 * volumes and tmpfs, the network files and the devices, which become binds of the host nodes.
 */
import { invalidParameter } from './errors.js';
import { parentsFirst } from './mounts.js';
import type { OciSpecInput, ResolvedMount } from './oci-spec-input.js';
import type { OciMount } from './oci-types.js';

/**
 * Every mount of the spec, in order: the defaults no user mount replaces, the user's (parents
 * first), then `extra` (the init binary). Device warnings are appended to `warnings`.
 */
export function specMounts(input: OciSpecInput, opts: { shmSize: number; writableCgroups: boolean; extra: OciMount[] }, warnings: string[]): OciMount[] {
  const hc = input.hostConfig;
  const user_: OciMount[] = [];
  for (const m of input.mounts ?? []) {
    assertAbsolute(m.destination, m.type);
    user_.push(userMount(m));
  }
  for (const [dest, data] of Object.entries(hc.Tmpfs ?? {})) {
    assertAbsolute(dest, 'tmpfs');
    const flags = data ? data.split(',') : [];
    user_.push({ destination: dest, type: 'tmpfs', source: 'tmpfs', options: mergeTmpfsOptions(['rprivate', ...flags]) });
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
  const defaults = defaultMounts(input, opts.shmSize, opts.writableCgroups).filter(
    (m) => !userDests.has(m.destination) && !(userDev && m.destination.startsWith('/dev/')),
  );
  if (hc.ReadonlyRootfs) {
    // dockerd also makes its own default mounts read-only, except the ones a process needs to write.
    const keepRw = new Set(['/proc', '/dev/pts', '/dev/shm', '/dev/mqueue', '/dev']);
    for (const m of defaults) {
      if (!keepRw.has(m.destination) && !(m.options ?? []).includes('ro')) m.options = [...(m.options ?? []), 'ro'];
    }
  }
  return [...defaults, ...sortedUser, ...opts.extra];
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
