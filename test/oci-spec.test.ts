import { describe, expect, it } from 'vitest';
import { mergeContainerConfig } from '../translate/container-config.js';
import {
  buildOciSpec,
  DEFAULT_MASKED_PATHS,
  DEFAULT_READONLY_PATHS,
  replaceOrAppendEnv,
} from '../translate/oci-spec.js';
import { mergeTmpfsOptions } from '../translate/oci-mounts.js';
import type { OciSpecInput } from '../translate/oci-spec-input.js';
import { ALL_CAPABILITIES, containerCapabilities, DEFAULT_CAPABILITIES } from '../translate/capabilities.js';
import { LIMIT_WARNINGS } from '../translate/oci-limits.js';
import { defaultSeccompProfile, seccompFromDockerProfile } from '../translate/seccomp-default.js';
import type { OciMount, OciSpec } from '../translate/oci-types.js';
import { errorOf } from './harness/engine-errors.js';

const ID = 'abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789';
const passwd = 'root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n';
const group = 'root:x:0:\nwheel:x:10:alice\nvideo:x:44:\nalice:x:1000:\n';

function input(over: Partial<OciSpecInput> & { cfg?: Parameters<typeof mergeContainerConfig>[0] } = {}): OciSpecInput {
  const { cfg, ...rest } = over;
  return {
    containerId: ID,
    config: mergeContainerConfig({ Cmd: ['sh'], ...(cfg ?? {}) }, { Env: ['PATH=/usr/bin:/bin', 'IMG=1'] }),
    hostConfig: {},
    rootfs: '/data/containers/abc/rootfs',
    etcPasswd: passwd,
    etcGroup: group,
    namespaces: { network: { mode: 'private' } },
    hardLimits: { nofile: 20000 },
    daemonOomScoreAdj: 0,
    arch: 'x64',
    kernelVersion: '6.1.0',
    hostCapabilities: ALL_CAPABILITIES,
    ncpu: 64,
    seccompSupported: true,
    ...rest,
  };
}

const build = (over: Parameters<typeof input>[0] = {}): { spec: OciSpec; warnings: string[] } => buildOciSpec(input(over));
const mount = (spec: OciSpec, dest: string): OciMount | undefined => spec.mounts.find((m) => m.destination === dest);


describe('buildOciSpec: process', () => {
  it('args, cwd, user, terminal and env defaults', () => {
    const { spec, warnings } = build();
    expect(warnings).toEqual([]);
    expect(spec.ociVersion).toMatch(/^1\.\d+\.\d+$/);
    expect(spec.process.args).toEqual(['sh']);
    expect(spec.process.cwd).toBe('/');
    expect(spec.process.user).toEqual({ uid: 0, gid: 0 });
    expect(spec.process.terminal).toBe(false);
    // PATH from the image overrides the default, HOSTNAME is the short id.
    expect(spec.process.env).toEqual(['PATH=/usr/bin:/bin', 'HOSTNAME=abcdef012345', 'IMG=1']);
    expect(spec.process.oomScoreAdj).toBe(0);
    expect(spec.process.noNewPrivileges).toBeUndefined();
    expect(spec.process.rlimits).toBeUndefined();
  });

  it('default PATH when the image has none; TERM=xterm with a tty; bare keys unset', () => {
    const spec = buildOciSpec({
      ...input(),
      config: mergeContainerConfig({ Cmd: ['sh'], Tty: true, Env: ['HOSTNAME'] }, null),
    }).spec;
    expect(spec.process.env).toEqual(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm']);
    expect(spec.process.terminal).toBe(true);
  });

  it('consoleSize only with a tty', () => {
    expect(build({ cfg: { Tty: true }, hostConfig: { ConsoleSize: [24, 80] } }).spec.process.consoleSize).toEqual({ height: 24, width: 80 });
    expect(build({ hostConfig: { ConsoleSize: [24, 80] } }).spec.process.consoleSize).toBeUndefined();
  });

  it('working dir and user come from the merged config; GroupAdd is appended', () => {
    const { spec } = build({ cfg: { WorkingDir: '/work', User: 'alice' }, hostConfig: { GroupAdd: ['video', '10', '3000'] } });
    expect(spec.process.cwd).toBe('/work');
    expect(spec.process.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [10, 44, 3000] });
  });

  it('unknown user fails with dockerd wording', () => {
    expect(errorOf(() => build({ cfg: { User: 'bob' } })).message).toBe('unable to find user bob: no matching entries in passwd file');
  });

  it('ids outside the mapped range are refused', () => {
    expect(errorOf(() => build({ cfg: { User: '70000' }, maxMappedId: 65536 })).statusCode).toBe(400);
    expect(build({ cfg: { User: '65534' }, maxMappedId: 65536 }).spec.process.user.uid).toBe(65534);
  });

  it('hostname and domainname; none with a host UTS namespace', () => {
    const { spec } = build({ cfg: { Hostname: 'web', Domainname: 'example.org' } });
    expect(spec.hostname).toBe('web');
    expect(spec.domainname).toBe('example.org');
    expect(spec.process.env).toContain('HOSTNAME=web');
    const host = build({ cfg: { Hostname: 'web' }, namespaces: { network: { mode: 'host' }, uts: { mode: 'host' } } }).spec;
    expect(host.hostname).toBeUndefined();
    expect(host.linux.namespaces.map((n) => n.type)).not.toContain('uts');
  });

  it('Init wraps the command in catatonit mounted at /sbin/docker-init', () => {
    const { spec } = build({ hostConfig: { Init: true }, initPath: '/usr/bin/catatonit' });
    expect(spec.process.args).toEqual(['/sbin/docker-init', '--', 'sh']);
    expect(mount(spec, '/sbin/docker-init')).toEqual({
      destination: '/sbin/docker-init',
      type: 'bind',
      source: '/usr/bin/catatonit',
      options: ['bind', 'ro'],
    });
    expect(errorOf(() => build({ hostConfig: { Init: true } })).statusCode).toBe(400);
  });

  it('no-new-privileges in its accepted spellings', () => {
    for (const opt of ['no-new-privileges', 'no-new-privileges=true', 'no-new-privileges:true']) {
      expect(build({ hostConfig: { SecurityOpt: [opt] } }).spec.process.noNewPrivileges).toBe(true);
    }
    expect(build({ hostConfig: { SecurityOpt: ['no-new-privileges=false'] } }).spec.process.noNewPrivileges).toBeUndefined();
  });

  it('bad security options are 400 with dockerd wording; label/apparmor warn', () => {
    expect(errorOf(() => build({ hostConfig: { SecurityOpt: ['bogus'] } })).message).toBe('invalid --security-opt 1: "bogus"');
    expect(errorOf(() => build({ hostConfig: { SecurityOpt: ['foo=bar'] } })).message).toBe('invalid --security-opt 2: "foo=bar"');
    const { warnings } = build({ hostConfig: { SecurityOpt: ['label=type:svirt_t', 'label=level:s0', 'apparmor=docker-default'] } });
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/SELinux/);
    expect(warnings[1]).toMatch(/AppArmor/);
  });

  it('UsernsMode other than host is refused', () => {
    expect(errorOf(() => build({ hostConfig: { UsernsMode: 'keep-id' } })).statusCode).toBe(400);
  });
});

describe('buildOciSpec: capabilities', () => {
  it("dockerd's 14 default caps in bounding/effective/permitted, none inheritable", () => {
    const caps = build().spec.process.capabilities;
    expect(caps?.bounding).toEqual([...DEFAULT_CAPABILITIES]);
    expect(caps?.effective).toEqual([...DEFAULT_CAPABILITIES]);
    expect(caps?.permitted).toEqual([...DEFAULT_CAPABILITIES]);
    expect(caps?.inheritable).toBeUndefined();
    expect(DEFAULT_CAPABILITIES).toHaveLength(14);
  });

  it('CapAdd/CapDrop normalise names and apply over the defaults', () => {
    const caps = containerCapabilities({ capAdd: ['net_admin', 'CAP_SYS_PTRACE'], capDrop: ['mknod', 'Cap_Net_Raw'] });
    expect(caps).not.toContain('CAP_MKNOD');
    expect(caps).not.toContain('CAP_NET_RAW');
    expect(caps.slice(-2)).toEqual(['CAP_NET_ADMIN', 'CAP_SYS_PTRACE']);
  });

  it('ALL in CapDrop keeps only CapAdd; ALL in CapAdd gives all minus CapDrop', () => {
    expect(containerCapabilities({ capDrop: ['ALL'] })).toEqual([]);
    expect(containerCapabilities({ capDrop: ['all'], capAdd: ['chown'] })).toEqual(['CAP_CHOWN']);
    const all = containerCapabilities({ capAdd: ['ALL'], capDrop: ['SYS_ADMIN'] });
    expect(all).toHaveLength(ALL_CAPABILITIES.length - 1);
    expect(all).not.toContain('CAP_SYS_ADMIN');
  });

  it('unknown capability is a 400', () => {
    const e = errorOf(() => build({ hostConfig: { CapAdd: ['FLY'] } }));
    expect(e.statusCode).toBe(400);
    expect(e.message).toBe('invalid CapAdd: unknown capability: "CAP_FLY"');
  });

  it('privileged gets every capability the host knows', () => {
    expect(build({ hostConfig: { Privileged: true } }).spec.process.capabilities?.bounding).toEqual([...ALL_CAPABILITIES]);
    const limited = build({ hostConfig: { Privileged: true }, hostCapabilities: ['CAP_CHOWN', 'CAP_SYS_ADMIN'] }).spec;
    expect(limited.process.capabilities?.effective).toEqual(['CAP_CHOWN', 'CAP_SYS_ADMIN']);
  });
});

describe('buildOciSpec: root, namespaces, cgroups', () => {
  it('root path and readonly', () => {
    expect(build().spec.root).toEqual({ path: '/data/containers/abc/rootfs', readonly: false });
    expect(build({ hostConfig: { ReadonlyRootfs: true } }).spec.root.readonly).toBe(true);
  });

  it('private namespaces, never a user namespace, no cgroup ns by default', () => {
    const types = build().spec.linux.namespaces.map((n) => n.type).sort();
    expect(types).toEqual(['ipc', 'mount', 'network', 'pid', 'uts']);
    expect(build({ namespaces: { network: { mode: 'private' }, cgroup: true } }).spec.linux.namespaces).toContainEqual({ type: 'cgroup' });
  });

  it('network by path, host network and other host namespaces', () => {
    const byPath = build({ namespaces: { network: { mode: 'path', path: '/run/burrow/netns/c1' } } }).spec;
    expect(byPath.linux.namespaces).toContainEqual({ type: 'network', path: '/run/burrow/netns/c1' });
    const host = build({ namespaces: { network: { mode: 'host' }, pid: { mode: 'host' }, ipc: { mode: 'host' } } }).spec;
    expect(host.linux.namespaces.map((n) => n.type).sort()).toEqual(['mount', 'uts']);
  });

  it('cgroupsPath only with a delegated parent', () => {
    expect(build().spec.linux.cgroupsPath).toBeUndefined();
    expect(build({ cgroup: { parent: 'burrow-test/burrow', controllers: {} } }).spec.linux.cgroupsPath).toBe(`/burrow-test/burrow/${ID}`);
    expect(build({ cgroup: { parent: '/u/', controllers: {} } }).spec.linux.cgroupsPath).toBe(`/u/${ID}`);
  });
});

describe('buildOciSpec: mounts', () => {
  it("dockerd's default mounts in order, no cgroup-less surprises", () => {
    const { spec } = build();
    expect(spec.mounts.map((m) => m.destination)).toEqual(['/proc', '/dev', '/dev/pts', '/sys', '/sys/fs/cgroup', '/dev/mqueue', '/dev/shm']);
    expect(mount(spec, '/proc')).toEqual({ destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] });
    expect(mount(spec, '/dev')?.options).toEqual(['nosuid', 'strictatime', 'mode=755', 'size=65536k']);
    expect(mount(spec, '/dev/pts')?.options).toEqual(['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5']);
    expect(mount(spec, '/sys')).toEqual({ destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] });
    expect(mount(spec, '/sys/fs/cgroup')?.options).toContain('ro');
    expect(mount(spec, '/dev/shm')).toEqual({
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=67108864'],
    });
  });

  it('ShmSize sets the /dev/shm size; negative is a 400', () => {
    expect(mount(build({ hostConfig: { ShmSize: 1048576 } }).spec, '/dev/shm')?.options).toContain('size=1048576');
    expect(errorOf(() => build({ hostConfig: { ShmSize: -1 } })).message).toBe('SHM size can not be less than 0');
  });

  it('host network: /sys is an rbind of the host /sys and no cgroup mount', () => {
    const { spec } = build({ namespaces: { network: { mode: 'host' } } });
    expect(mount(spec, '/sys')).toEqual({ destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] });
    expect(mount(spec, '/sys/fs/cgroup')).toBeUndefined();
  });

  it('host pid namespace binds /proc; host ipc binds /dev/shm and /dev/mqueue; ipc none has no /dev/shm', () => {
    const host = build({ namespaces: { network: { mode: 'private' }, pid: { mode: 'host' }, ipc: { mode: 'host' } } }).spec;
    expect(mount(host, '/proc')?.type).toBe('bind');
    expect(mount(host, '/dev/shm')).toMatchObject({ type: 'bind', source: '/dev/shm' });
    expect(mount(host, '/dev/mqueue')).toBeUndefined();
    const withMq = build({ namespaces: { network: { mode: 'private' }, ipc: { mode: 'host' } }, hostMqueue: '/dev/mqueue' }).spec;
    expect(mount(withMq, '/dev/mqueue')).toMatchObject({ type: 'bind', source: '/dev/mqueue' });
    expect(mount(build({ namespaces: { network: { mode: 'private' }, ipc: { mode: 'none' } } }).spec, '/dev/shm')).toBeUndefined();
    const joined = build({ namespaces: { network: { mode: 'private' }, ipc: { mode: 'path', path: '/proc/42/ns/ipc', shmPath: '/c/other/shm' } } }).spec;
    expect(joined.linux.namespaces).toContainEqual({ type: 'ipc', path: '/proc/42/ns/ipc' });
    expect(mount(joined, '/dev/shm')).toMatchObject({ type: 'bind', source: '/c/other/shm' });
  });

  it('resolved bind and volume mounts: rbind, ro, propagation; sorted parents first', () => {
    const { spec } = build({
      mounts: [
        { type: 'bind', source: '/h/a/b', destination: '/a/b', readOnly: true },
        { type: 'volume', source: '/vol/data', destination: '/a' },
        { type: 'bind', source: '/h/x', destination: '/x', propagation: 'rslave', nonRecursive: true },
        { type: 'tmpfs', destination: '/run', options: ['size=1m', 'exec'] },
      ],
    });
    const user = spec.mounts.slice(7);
    expect(user.map((m) => m.destination)).toEqual(['/a', '/x', '/run', '/a/b']);
    expect(mount(spec, '/a/b')).toEqual({ destination: '/a/b', type: 'bind', source: '/h/a/b', options: ['rbind', 'ro', 'rprivate'] });
    expect(mount(spec, '/a')?.options).toEqual(['rbind', 'rprivate']);
    expect(mount(spec, '/x')?.options).toEqual(['bind', 'rslave']);
    expect(mount(spec, '/run')).toEqual({ destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'size=1m', 'exec'] });
  });

  it('HostConfig.Tmpfs with dockerd default flags', () => {
    const { spec } = build({ hostConfig: { Tmpfs: { '/tmp': 'size=64m,mode=1777', '/cache': '' } } });
    expect(mount(spec, '/tmp')).toEqual({
      destination: '/tmp',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['noexec', 'nosuid', 'nodev', 'rprivate', 'size=64m', 'mode=1777'],
    });
    expect(mount(spec, '/cache')?.options).toEqual(['noexec', 'nosuid', 'nodev', 'rprivate']);
  });

  it('mergeTmpfsOptions: later flags override opposites and same keys', () => {
    expect(mergeTmpfsOptions(['exec', 'size=1m', 'size=2m', 'dev'])).toEqual(['nosuid', 'exec', 'size=2m', 'dev']);
  });

  it('a user mount replaces a default one at the same place; a /dev mount drops the /dev defaults', () => {
    const shm = build({ mounts: [{ type: 'bind', source: '/h/shm', destination: '/dev/shm' }] }).spec;
    expect(shm.mounts.filter((m) => m.destination === '/dev/shm')).toEqual([
      { destination: '/dev/shm', type: 'bind', source: '/h/shm', options: ['rbind', 'rprivate'] },
    ]);
    const dev = build({ mounts: [{ type: 'bind', source: '/dev', destination: '/dev' }] }).spec;
    expect(dev.mounts.filter((m) => m.destination.startsWith('/dev'))).toHaveLength(1);
  });

  it('duplicate and relative mount points are 400', () => {
    expect(
      errorOf(() =>
        build({
          mounts: [
            { type: 'bind', source: '/a', destination: '/d' },
            { type: 'volume', source: '/b', destination: '/d' },
          ],
        }),
      ).message,
    ).toBe('Duplicate mount point: /d');
    expect(errorOf(() => build({ mounts: [{ type: 'bind', source: '/a', destination: 'rel' }] })).statusCode).toBe(400);
  });

  it('/etc/hosts, /etc/resolv.conf, /etc/hostname binds, read-only with a read-only rootfs', () => {
    const files = { hosts: '/c/hosts', resolvConf: '/c/resolv.conf', hostname: '/c/hostname' };
    const rw = build({ networkFiles: files }).spec;
    expect(mount(rw, '/etc/hosts')).toEqual({ destination: '/etc/hosts', type: 'bind', source: '/c/hosts', options: ['rbind', 'rprivate'] });
    expect(mount(rw, '/etc/resolv.conf')?.source).toBe('/c/resolv.conf');
    expect(mount(rw, '/etc/hostname')?.source).toBe('/c/hostname');
    const ro = build({ networkFiles: files, hostConfig: { ReadonlyRootfs: true } }).spec;
    expect(mount(ro, '/etc/hosts')?.options).toContain('ro');
  });

  it('read-only rootfs makes default mounts ro except proc, dev, pts, shm, mqueue', () => {
    const { spec } = build({ hostConfig: { ReadonlyRootfs: true } });
    for (const d of ['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue']) expect(mount(spec, d)?.options).not.toContain('ro');
    for (const d of ['/sys', '/sys/fs/cgroup']) expect(mount(spec, d)?.options).toContain('ro');
  });

  it('devices become binds of host nodes the user may open', () => {
    const { spec, warnings } = build({
      hostConfig: {
        Devices: [
          { PathOnHost: '/dev/fuse', PathInContainer: '', CgroupPermissions: 'rwm' },
          { PathOnHost: '/dev/dri/card0', PathInContainer: '/dev/card', CgroupPermissions: 'r' },
          { PathOnHost: '/dev/kvm' },
        ],
      },
      hostDevices: {
        '/dev/fuse': { exists: true, readable: true, writable: true },
        '/dev/dri/card0': { exists: true, readable: true, writable: true },
        '/dev/kvm': { exists: true, readable: true, writable: false },
      },
    });
    expect(mount(spec, '/dev/fuse')).toEqual({ destination: '/dev/fuse', type: 'bind', source: '/dev/fuse', options: ['rbind', 'nosuid', 'noexec'] });
    expect(mount(spec, '/dev/card')?.options).toContain('ro');
    expect(mount(spec, '/dev/kvm')?.options).toContain('ro');
    expect(warnings).toEqual(['device "/dev/kvm" is mapped read-only: the rootless engine\'s user cannot write to it']);
    expect(spec.linux.devices).toBeUndefined();
  });

  it('missing or inaccessible devices are 400', () => {
    const missing = errorOf(() => build({ hostConfig: { Devices: [{ PathOnHost: '/dev/nope' }] } }));
    expect(missing.message).toBe('error gathering device information while adding custom device "/dev/nope": no such file or directory');
    const closed = errorOf(() =>
      build({
        hostConfig: { Devices: [{ PathOnHost: '/dev/mem' }] },
        hostDevices: { '/dev/mem': { exists: true, readable: false, writable: false } },
      }),
    );
    expect(closed.statusCode).toBe(400);
  });
});

describe('buildOciSpec: masked and read-only paths, privileged', () => {
  it("dockerd's masked and read-only paths", () => {
    const { spec } = build();
    expect(spec.linux.maskedPaths).toEqual([
      '/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
      '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
    ]);
    expect(spec.linux.readonlyPaths).toEqual(['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']);
  });

  it('HostConfig.MaskedPaths/ReadonlyPaths override, [] clears', () => {
    const { spec } = build({ hostConfig: { MaskedPaths: [], ReadonlyPaths: ['/proc/sys'] } });
    expect(spec.linux.maskedPaths).toEqual([]);
    expect(spec.linux.readonlyPaths).toEqual(['/proc/sys']);
  });

  it('privileged: no masking, no seccomp, sysfs and cgroup writable, privileged devices bound', () => {
    const { spec } = build({ hostConfig: { Privileged: true }, privilegedDevices: ['/dev/fuse', '/dev/net/tun'] });
    expect(spec.linux.maskedPaths).toBeUndefined();
    expect(spec.linux.readonlyPaths).toBeUndefined();
    expect(spec.linux.seccomp).toBeUndefined();
    expect(mount(spec, '/sys')?.options).not.toContain('ro');
    expect(mount(spec, '/sys/fs/cgroup')?.options).not.toContain('ro');
    expect(mount(spec, '/dev/net/tun')).toMatchObject({ type: 'bind', source: '/dev/net/tun' });
    expect(spec.linux.namespaces.map((n) => n.type)).not.toContain('user');
    expect(DEFAULT_MASKED_PATHS).toHaveLength(11);
    expect(DEFAULT_READONLY_PATHS).toHaveLength(5);
  });
});

describe('buildOciSpec: limits', () => {
  it('ulimits become rlimits; nofile clamped to the server hard limit with a warning', () => {
    const { spec, warnings } = build({
      hostConfig: {
        Ulimits: [
          { Name: 'nofile', Soft: 1048576, Hard: 1048576 },
          { Name: 'nproc', Soft: 100, Hard: 200 },
        ],
      },
    });
    expect(spec.process.rlimits).toEqual([
      { type: 'RLIMIT_NOFILE', hard: 20000, soft: 20000 },
      { type: 'RLIMIT_NPROC', hard: 200, soft: 100 },
    ]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/nofile/);
  });

  it('ulimit -1 means the ceiling; bad names and soft > hard are 400', () => {
    expect(build({ hostConfig: { Ulimits: [{ Name: 'nofile', Soft: -1, Hard: -1 }] } }).spec.process.rlimits).toEqual([
      { type: 'RLIMIT_NOFILE', hard: 20000, soft: 20000 },
    ]);
    expect(errorOf(() => build({ hostConfig: { Ulimits: [{ Name: 'bogus', Soft: 1, Hard: 1 }] } })).message).toBe('invalid ulimit type: bogus');
    expect(errorOf(() => build({ hostConfig: { Ulimits: [{ Name: 'core', Soft: 2, Hard: 1 }] } })).message).toBe(
      'ulimit soft limit must be less than or equal to hard limit: 2 > 1',
    );
  });

  it('oomScoreAdj is never below the daemon\'s', () => {
    expect(build({ hostConfig: { OomScoreAdj: 500 }, daemonOomScoreAdj: 100 }).spec.process.oomScoreAdj).toBe(500);
    expect(build({ daemonOomScoreAdj: 100 }).spec.process.oomScoreAdj).toBe(100);
    const lowered = build({ hostConfig: { OomScoreAdj: -500 }, daemonOomScoreAdj: 0 });
    expect(lowered.spec.process.oomScoreAdj).toBe(0);
    expect(lowered.warnings).toHaveLength(1);
    expect(errorOf(() => build({ hostConfig: { OomScoreAdj: 1001 } })).message).toBe('Invalid value 1001, range for oom score adj is [-1000, 1000]');
  });

  it('namespaced sysctls pass; others are 400; net.* refused with the host network', () => {
    const ok = { 'net.ipv4.ip_forward': '1', 'kernel.shmmax': '1', 'kernel.msgmax': '1', 'kernel.sem': '1 2 3 4', 'fs.mqueue.msg_max': '5' };
    expect(build({ hostConfig: { Sysctls: ok } }).spec.linux.sysctl).toEqual(ok);
    expect(build().spec.linux.sysctl).toBeUndefined();
    expect(errorOf(() => build({ hostConfig: { Sysctls: { 'vm.swappiness': '1' } } })).statusCode).toBe(400);
    expect(errorOf(() => build({ hostConfig: { Sysctls: { 'kernel.pid_max': '1' } } })).statusCode).toBe(400);
    expect(errorOf(() => build({ hostConfig: { Sysctls: { 'net.core.somaxconn': '1' } }, namespaces: { network: { mode: 'host' } } })).message).toBe(
      'sysctl "net.core.somaxconn" is not allowed with --network=host',
    );
    expect(
      errorOf(() => build({ hostConfig: { Sysctls: { 'kernel.shmmax': '1' } }, namespaces: { network: { mode: 'private' }, ipc: { mode: 'host' } } }))
        .statusCode,
    ).toBe(400);
  });

  it('limits without delegation are discarded with dockerd warnings', () => {
    const { spec, warnings } = build({ hostConfig: { Memory: 64 * 1024 * 1024, PidsLimit: 10, CpuShares: 512, CpusetCpus: '0' } });
    expect(spec.linux.resources).toBeUndefined();
    expect(warnings).toEqual([LIMIT_WARNINGS.memory, LIMIT_WARNINGS.shares, LIMIT_WARNINGS.cpuset, LIMIT_WARNINGS.pids]);
    expect(warnings[0]).toBe('Your kernel does not support memory limit capabilities or the cgroup is not mounted. Limitation discarded.');
    expect(errorOf(() => build({ hostConfig: { NanoCpus: 1e9 } })).statusCode).toBe(400);
  });

  it('limits with delegated controllers go to linux.resources', () => {
    const { spec, warnings } = build({
      cgroup: { parent: '/burrow', controllers: { memory: true, cpu: true, pids: true, cpuset: true } },
      hostConfig: { Memory: 64 * 1024 * 1024, PidsLimit: 10, NanoCpus: 1.5e9, CpusetCpus: '0-1', MemoryReservation: 32 * 1024 * 1024 },
      ncpu: 2,
    });
    expect(warnings).toEqual([]);
    expect(spec.linux.resources).toEqual({
      memory: { limit: 67108864, swap: 134217728, reservation: 33554432 },
      cpu: { period: 100000, quota: 150000, cpus: '0-1' },
      pids: { limit: 10 },
    });
  });

  it('resource validation matches dockerd', () => {
    expect(errorOf(() => build({ hostConfig: { Memory: 1024 } })).message).toBe('Minimum memory limit allowed is 6MB');
    expect(errorOf(() => build({ hostConfig: { Memory: 64 << 20, MemorySwap: 32 << 20 } })).message).toBe(
      'Minimum memoryswap limit should be larger than memory limit, see usage',
    );
    expect(errorOf(() => build({ hostConfig: { NanoCpus: 1e9, CpuQuota: 50000 } })).message).toBe(
      'Conflicting options: Nano CPUs and CPU Quota cannot both be set',
    );
    expect(errorOf(() => build({ hostConfig: { NanoCpus: 3e9 }, ncpu: 2, cgroup: { parent: '/b', controllers: { cpu: true } } })).message).toBe(
      'Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available',
    );
  });

  it('a CgroupParent request is reported, not silently dropped', () => {
    expect(build({ hostConfig: { CgroupParent: '/mine' } }).warnings[0]).toMatch(/CgroupParent/);
  });
});

describe('seccomp', () => {
  it('default profile: EPERM default, x86 arches, allow-list, capability-conditional rules', () => {
    const sc = build().spec.linux.seccomp;
    expect(sc?.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(sc?.defaultErrnoRet).toBe(1);
    expect(sc?.architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    const names = (action: string): string[] => (sc?.syscalls ?? []).filter((s) => s.action === action && !s.args).flatMap((s) => s.names);
    const allowed = names('SCMP_ACT_ALLOW');
    expect(allowed).toContain('read');
    expect(allowed).toContain('arch_prctl');
    expect(allowed).toContain('chroot'); // CAP_SYS_CHROOT is a default cap
    expect(allowed).toContain('ptrace'); // minKernel 4.8
    expect(allowed).not.toContain('mount');
    expect(allowed).not.toContain('reboot');
    expect(allowed).not.toContain('s390_runtime_instr');
    // Without CAP_SYS_ADMIN clone is filtered by flags and clone3 returns ENOSYS.
    expect(sc?.syscalls).toContainEqual({ names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 2114060288, op: 'SCMP_CMP_MASKED_EQ' }] });
    expect(sc?.syscalls).toContainEqual({ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 });
  });

  it('follows the capability set', () => {
    const admin = defaultSeccompProfile([...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN'], 'amd64');
    const allowed = admin.syscalls.filter((s) => !s.args).flatMap((s) => s.names);
    expect(allowed).toContain('mount');
    expect(allowed).toContain('clone3');
    expect(admin.syscalls.some((s) => s.action === 'SCMP_ACT_ERRNO')).toBe(false);
    const noChroot = defaultSeccompProfile(['CAP_CHOWN'], 'x86_64').syscalls.flatMap((s) => s.names);
    expect(noChroot).not.toContain('chroot');
    const withCapAdd = build({ hostConfig: { CapAdd: ['SYS_PTRACE'] } }).spec.linux.seccomp?.syscalls.flatMap((s) => s.names);
    expect(withCapAdd).toContain('kcmp');
  });

  it('maps other host architectures', () => {
    const arm = defaultSeccompProfile([...DEFAULT_CAPABILITIES], 'arm64');
    expect(arm.architectures).toEqual(['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
    expect(arm.syscalls.flatMap((s) => s.names)).toContain('set_tls');
    expect(arm.syscalls.flatMap((s) => s.names)).not.toContain('arch_prctl');
    expect(defaultSeccompProfile([], 'riscv64').architectures).toEqual(['SCMP_ARCH_RISCV64']);
    const s390 = defaultSeccompProfile([], 's390x');
    expect(s390.syscalls.filter((s) => s.names.includes('clone'))[0]?.args?.[0]?.index).toBe(1);
  });

  it('an old kernel loses the minKernel rules', () => {
    const old = defaultSeccompProfile([...DEFAULT_CAPABILITIES], 'amd64', '4.4.0');
    expect(old.syscalls.flatMap((s) => s.names)).not.toContain('ptrace');
  });

  it('seccomp=unconfined drops it; a custom profile is converted; no seccomp support', () => {
    expect(build({ hostConfig: { SecurityOpt: ['seccomp=unconfined'] } }).spec.linux.seccomp).toBeUndefined();
    const custom = JSON.stringify({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }, { names: ['chroot'], action: 'SCMP_ACT_ERRNO', includes: { caps: ['CAP_SYS_ADMIN'] } }],
    });
    const sc = build({ hostConfig: { SecurityOpt: [`seccomp=${custom}`] } }).spec.linux.seccomp;
    expect(sc).toEqual({
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: [],
      syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
    });
    expect(errorOf(() => build({ hostConfig: { SecurityOpt: ['seccomp={bad'] } })).statusCode).toBe(400);
    expect(build({ seccompSupported: false }).spec.linux.seccomp).toBeUndefined();
    expect(errorOf(() => build({ seccompSupported: false, hostConfig: { SecurityOpt: [`seccomp=${custom}`] } })).statusCode).toBe(400);
    expect(seccompFromDockerProfile({ defaultAction: 'SCMP_ACT_LOG', architectures: ['SCMP_ARCH_X86_64'] }, [], 'amd64').architectures).toEqual([
      'SCMP_ARCH_X86_64',
    ]);
  });
});

describe('replaceOrAppendEnv', () => {
  it('replaces by key, appends new, removes bare keys', () => {
    expect(replaceOrAppendEnv(['A=1', 'B=2', 'C=3'], ['B=x', 'D=4', 'C'])).toEqual(['A=1', 'B=x', 'D=4']);
  });
});

describe('the kernel facts the spec is checked against and built with', () => {
  it('are read from the running kernel: its capabilities in number order, its CPUs, seccomp', async () => {
    const { readKernelFacts, capabilitiesUpTo, hardNofile } = await import('../rootless/kernel-facts.js');
    const { readFile } = await import('node:fs/promises');
    const { hostFacts } = await import('../rootless/host-facts.js');
    const host = await hostFacts();
    const facts = await readKernelFacts(host);
    expect(facts.kernelVersion).toBe(host.kernelVersion);
    expect(facts.ncpu).toBe(host.ncpu);
    expect(facts.ncpu).toBeGreaterThanOrEqual(1);
    expect(facts.hostCapabilities.length).toBeGreaterThan(DEFAULT_CAPABILITIES.length);
    expect(ALL_CAPABILITIES.slice(0, facts.hostCapabilities.length)).toEqual(facts.hostCapabilities);
    expect(typeof facts.seccompSupported).toBe('boolean');
    // The daemon's own limits, read once with the rest: this process's, here.
    const limits = await readFile('/proc/self/limits', 'utf8');
    expect(facts.hardLimits.nofile).toBe(hardNofile(limits));
    expect(String(facts.hardLimits.nofile)).toBe(/^Max open files\s+\S+\s+(\S+)/m.exec(limits)?.[1]);
    expect(facts.daemonOomScoreAdj).toBe(Number((await readFile('/proc/self/oom_score_adj', 'utf8')).trim()));
    expect(hardNofile('')).toBe(1048576);
    expect(capabilitiesUpTo(0)).toEqual(['CAP_CHOWN']);
    expect(capabilitiesUpTo(undefined)).toEqual(ALL_CAPABILITIES);
  });
});
