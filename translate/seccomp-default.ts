/**
 * dockerd's default seccomp profile (moby profiles/seccomp/default.json) as data, plus the
 * conversion dockerd applies before handing it to the runtime: keep only the rules whose
 * capability/arch conditions hold for this container, and list the host's architectures.
 * The same converter accepts a user-supplied profile (`--security-opt seccomp=<json>`).
 */
import { invalidParameter } from './errors.js';
import type { OciSeccomp, OciSeccompArg, OciSeccompSyscall } from './oci-types.js';

/** A rule in Docker's profile format (the format `docker run --security-opt seccomp=` sends). */
export interface DockerSeccompRule {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: OciSeccompArg[];
  includes?: DockerSeccompFilter;
  excludes?: DockerSeccompFilter;
}

export interface DockerSeccompFilter {
  caps?: string[];
  arches?: string[];
  minKernel?: string;
}

export interface DockerSeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  archMap?: { architecture: string; subArchitectures: string[] | null }[];
  syscalls?: DockerSeccompRule[];
}

const ALWAYS_ALLOWED: string[] = [
  'accept', 'accept4', 'access', 'adjtimex', 'alarm', 'bind', 'brk', 'capget', 'capset', 'chdir', 'chmod',
  'chown', 'chown32', 'clock_adjtime', 'clock_adjtime64', 'clock_getres', 'clock_getres_time64',
  'clock_gettime', 'clock_gettime64', 'clock_nanosleep', 'clock_nanosleep_time64', 'close', 'close_range',
  'connect', 'copy_file_range', 'creat', 'dup', 'dup2', 'dup3', 'epoll_create', 'epoll_create1', 'epoll_ctl',
  'epoll_ctl_old', 'epoll_pwait', 'epoll_pwait2', 'epoll_wait', 'epoll_wait_old', 'eventfd', 'eventfd2',
  'execve', 'execveat', 'exit', 'exit_group', 'faccessat', 'faccessat2', 'fadvise64', 'fadvise64_64',
  'fallocate', 'fanotify_mark', 'fchdir', 'fchmod', 'fchmodat', 'fchown', 'fchown32', 'fchownat', 'fcntl',
  'fcntl64', 'fdatasync', 'fgetxattr', 'flistxattr', 'flock', 'fork', 'fremovexattr', 'fsetxattr', 'fstat',
  'fstat64', 'fstatat64', 'fstatfs', 'fstatfs64', 'fsync', 'ftruncate', 'ftruncate64', 'futex',
  'futex_time64', 'futex_waitv', 'futimesat', 'getcpu', 'getcwd', 'getdents', 'getdents64', 'getegid',
  'getegid32', 'geteuid', 'geteuid32', 'getgid', 'getgid32', 'getgroups', 'getgroups32', 'getitimer',
  'getpeername', 'getpgid', 'getpgrp', 'getpid', 'getppid', 'getpriority', 'getrandom', 'getresgid',
  'getresgid32', 'getresuid', 'getresuid32', 'getrlimit', 'get_robust_list', 'getrusage', 'getsid',
  'getsockname', 'getsockopt', 'get_thread_area', 'gettid', 'gettimeofday', 'getuid', 'getuid32', 'getxattr',
  'inotify_add_watch', 'inotify_init', 'inotify_init1', 'inotify_rm_watch', 'io_cancel', 'ioctl',
  'io_destroy', 'io_getevents', 'io_pgetevents', 'io_pgetevents_time64', 'ioprio_get', 'ioprio_set',
  'io_setup', 'io_submit', 'io_uring_enter', 'io_uring_register', 'io_uring_setup', 'ipc', 'kill',
  'landlock_add_rule', 'landlock_create_ruleset', 'landlock_restrict_self', 'lchown', 'lchown32',
  'lgetxattr', 'link', 'linkat', 'listen', 'listxattr', 'llistxattr', '_llseek', 'lremovexattr', 'lseek',
  'lsetxattr', 'lstat', 'lstat64', 'madvise', 'membarrier', 'memfd_create', 'memfd_secret', 'mincore',
  'mkdir', 'mkdirat', 'mknod', 'mknodat', 'mlock', 'mlock2', 'mlockall', 'mmap', 'mmap2', 'mprotect',
  'mq_getsetattr', 'mq_notify', 'mq_open', 'mq_timedreceive', 'mq_timedreceive_time64', 'mq_timedsend',
  'mq_timedsend_time64', 'mq_unlink', 'mremap', 'msgctl', 'msgget', 'msgrcv', 'msgsnd', 'msync', 'munlock',
  'munlockall', 'munmap', 'name_to_handle_at', 'nanosleep', 'newfstatat', '_newselect', 'open', 'openat',
  'openat2', 'pause', 'pidfd_open', 'pidfd_send_signal', 'pipe', 'pipe2', 'pkey_alloc', 'pkey_free',
  'pkey_mprotect', 'poll', 'ppoll', 'ppoll_time64', 'prctl', 'pread64', 'preadv', 'preadv2', 'prlimit64',
  'process_mrelease', 'pselect6', 'pselect6_time64', 'pwrite64', 'pwritev', 'pwritev2', 'read', 'readahead',
  'readlink', 'readlinkat', 'readv', 'recv', 'recvfrom', 'recvmmsg', 'recvmmsg_time64', 'recvmsg',
  'remap_file_pages', 'removexattr', 'rename', 'renameat', 'renameat2', 'restart_syscall', 'rmdir', 'rseq',
  'rt_sigaction', 'rt_sigpending', 'rt_sigprocmask', 'rt_sigqueueinfo', 'rt_sigreturn', 'rt_sigsuspend',
  'rt_sigtimedwait', 'rt_sigtimedwait_time64', 'rt_tgsigqueueinfo', 'sched_getaffinity', 'sched_getattr',
  'sched_getparam', 'sched_get_priority_max', 'sched_get_priority_min', 'sched_getscheduler',
  'sched_rr_get_interval', 'sched_rr_get_interval_time64', 'sched_setaffinity', 'sched_setattr',
  'sched_setparam', 'sched_setscheduler', 'sched_yield', 'seccomp', 'select', 'semctl', 'semget', 'semop',
  'semtimedop', 'semtimedop_time64', 'send', 'sendfile', 'sendfile64', 'sendmmsg', 'sendmsg', 'sendto',
  'setfsgid', 'setfsgid32', 'setfsuid', 'setfsuid32', 'setgid', 'setgid32', 'setgroups', 'setgroups32',
  'setitimer', 'setpgid', 'setpriority', 'setregid', 'setregid32', 'setresgid', 'setresgid32', 'setresuid',
  'setresuid32', 'setreuid', 'setreuid32', 'setrlimit', 'set_robust_list', 'setsid', 'setsockopt',
  'set_thread_area', 'set_tid_address', 'setuid', 'setuid32', 'setxattr', 'shmat', 'shmctl', 'shmdt',
  'shmget', 'shutdown', 'sigaltstack', 'signalfd', 'signalfd4', 'sigprocmask', 'sigreturn', 'socketcall',
  'socketpair', 'splice', 'stat', 'stat64', 'statfs', 'statfs64', 'statx', 'symlink', 'symlinkat', 'sync',
  'sync_file_range', 'syncfs', 'sysinfo', 'tee', 'tgkill', 'time', 'timer_create', 'timer_delete',
  'timer_getoverrun', 'timer_gettime', 'timer_gettime64', 'timer_settime', 'timer_settime64',
  'timerfd_create', 'timerfd_gettime', 'timerfd_gettime64', 'timerfd_settime', 'timerfd_settime64', 'times',
  'tkill', 'truncate', 'truncate64', 'ugetrlimit', 'umask', 'uname', 'unlink', 'unlinkat', 'utime',
  'utimensat', 'utimensat_time64', 'utimes', 'vfork', 'vmsplice', 'wait4', 'waitid', 'waitpid', 'write',
  'writev',
];

const ALLOW = 'SCMP_ACT_ALLOW';
const allowWithCap = (cap: string, names: string[]): DockerSeccompRule => ({ names, action: ALLOW, includes: { caps: [cap] } });
const personality = (value: number): DockerSeccompRule => ({
  names: ['personality'],
  action: ALLOW,
  args: [{ index: 0, value, op: 'SCMP_CMP_EQ' }],
});
/** CLONE_NEWNS|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET|NEWCGROUP: clone may not create namespaces without CAP_SYS_ADMIN. */
const CLONE_NS_FLAGS = 2114060288;
/** AF_VSOCK: sockets of this family are refused to every container. */
const AF_VSOCK = 40;

export const DOCKER_DEFAULT_SECCOMP: DockerSeccompProfile = {
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: 1,
  archMap: [
    { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
    { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
    { architecture: 'SCMP_ARCH_MIPS64', subArchitectures: ['SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64N32'] },
    { architecture: 'SCMP_ARCH_MIPS64N32', subArchitectures: ['SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64'] },
    { architecture: 'SCMP_ARCH_MIPSEL64', subArchitectures: ['SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64N32'] },
    { architecture: 'SCMP_ARCH_MIPSEL64N32', subArchitectures: ['SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64'] },
    { architecture: 'SCMP_ARCH_S390X', subArchitectures: ['SCMP_ARCH_S390'] },
    { architecture: 'SCMP_ARCH_RISCV64', subArchitectures: null },
  ],
  syscalls: [
    { names: ALWAYS_ALLOWED, action: ALLOW },
    { names: ['process_vm_readv', 'process_vm_writev', 'ptrace'], action: ALLOW, includes: { minKernel: '4.8' } },
    { names: ['socket'], action: ALLOW, args: [{ index: 0, value: AF_VSOCK, op: 'SCMP_CMP_NE' }] },
    personality(0),
    personality(8),
    personality(131072),
    personality(131080),
    personality(4294967295),
    { names: ['sync_file_range2', 'swapcontext'], action: ALLOW, includes: { arches: ['ppc64le'] } },
    {
      names: ['arm_fadvise64_64', 'arm_sync_file_range', 'sync_file_range2', 'breakpoint', 'cacheflush', 'set_tls'],
      action: ALLOW,
      includes: { arches: ['arm', 'arm64'] },
    },
    { names: ['arch_prctl'], action: ALLOW, includes: { arches: ['amd64', 'x32'] } },
    { names: ['modify_ldt'], action: ALLOW, includes: { arches: ['amd64', 'x32', 'x86'] } },
    { names: ['s390_pci_mmio_read', 's390_pci_mmio_write', 's390_runtime_instr'], action: ALLOW, includes: { arches: ['s390', 's390x'] } },
    { names: ['riscv_flush_icache'], action: ALLOW, includes: { arches: ['riscv64'] } },
    allowWithCap('CAP_DAC_READ_SEARCH', ['open_by_handle_at']),
    allowWithCap('CAP_SYS_ADMIN', [
      'bpf', 'clone', 'clone3', 'fanotify_init', 'fsconfig', 'fsmount', 'fsopen', 'fspick', 'lookup_dcookie',
      'mount', 'mount_setattr', 'move_mount', 'open_tree', 'perf_event_open', 'quotactl', 'quotactl_fd',
      'setdomainname', 'sethostname', 'setns', 'syslog', 'umount', 'umount2', 'unshare',
    ]),
    {
      names: ['clone'],
      action: ALLOW,
      args: [{ index: 0, value: CLONE_NS_FLAGS, op: 'SCMP_CMP_MASKED_EQ' }],
      excludes: { caps: ['CAP_SYS_ADMIN'], arches: ['s390', 's390x'] },
    },
    {
      // s390 passes the clone flags as the second argument.
      names: ['clone'],
      action: ALLOW,
      args: [{ index: 1, value: CLONE_NS_FLAGS, op: 'SCMP_CMP_MASKED_EQ' }],
      includes: { arches: ['s390', 's390x'] },
      excludes: { caps: ['CAP_SYS_ADMIN'] },
    },
    // ENOSYS, not EPERM, so libcs fall back to clone(2), whose flags can be filtered.
    { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38, excludes: { caps: ['CAP_SYS_ADMIN'] } },
    allowWithCap('CAP_SYS_BOOT', ['reboot']),
    allowWithCap('CAP_SYS_CHROOT', ['chroot']),
    allowWithCap('CAP_SYS_MODULE', ['delete_module', 'init_module', 'finit_module']),
    allowWithCap('CAP_SYS_PACCT', ['acct']),
    allowWithCap('CAP_SYS_PTRACE', ['kcmp', 'pidfd_getfd', 'process_madvise', 'process_vm_readv', 'process_vm_writev', 'ptrace']),
    allowWithCap('CAP_SYS_RAWIO', ['iopl', 'ioperm']),
    allowWithCap('CAP_SYS_TIME', ['settimeofday', 'stime', 'clock_settime', 'clock_settime64']),
    allowWithCap('CAP_SYS_TTY_CONFIG', ['vhangup']),
    allowWithCap('CAP_SYS_NICE', ['get_mempolicy', 'mbind', 'set_mempolicy', 'set_mempolicy_home_node']),
    allowWithCap('CAP_SYSLOG', ['syslog']),
    allowWithCap('CAP_BPF', ['bpf']),
    allowWithCap('CAP_PERFMON', ['perf_event_open']),
  ],
};

/** Host architecture in any common spelling (Go, Node, uname) → the Go name the profile's arch filters use. */
const GO_ARCH: Record<string, string> = {
  amd64: 'amd64', x64: 'amd64', x86_64: 'amd64',
  '386': '386', ia32: '386', i386: '386', i686: '386', x86: '386',
  arm64: 'arm64', aarch64: 'arm64',
  arm: 'arm', armv7l: 'arm', armv6l: 'arm',
  ppc64le: 'ppc64le', ppc64: 'ppc64',
  s390x: 's390x', s390: 's390',
  riscv64: 'riscv64',
  mips64: 'mips64', mips64le: 'mips64le', mips: 'mips', mipsle: 'mipsle', mipsel: 'mipsle',
  loong64: 'loong64', loongarch64: 'loong64',
};

/** Go arch → libseccomp native arch, used to pick the archMap entry. */
const NATIVE_SCMP_ARCH: Record<string, string> = {
  amd64: 'SCMP_ARCH_X86_64',
  '386': 'SCMP_ARCH_X86',
  arm64: 'SCMP_ARCH_AARCH64',
  arm: 'SCMP_ARCH_ARM',
  ppc64le: 'SCMP_ARCH_PPC64LE',
  ppc64: 'SCMP_ARCH_PPC64',
  s390x: 'SCMP_ARCH_S390X',
  s390: 'SCMP_ARCH_S390',
  riscv64: 'SCMP_ARCH_RISCV64',
  mips64: 'SCMP_ARCH_MIPS64',
  mips64le: 'SCMP_ARCH_MIPSEL64',
  mips: 'SCMP_ARCH_MIPS',
  mipsle: 'SCMP_ARCH_MIPSEL',
  loong64: 'SCMP_ARCH_LOONGARCH64',
};

export function goArch(arch: string): string {
  return GO_ARCH[arch] ?? arch;
}

/** moby compares kernel versions as major.minor; "6.18.44-foo" ≥ "4.8". */
function kernelAtLeast(kernel: string, min: string): boolean {
  const parse = (v: string): [number, number] => {
    const [maj = '0', min_ = '0'] = v.split(/[.-]/);
    return [Number.parseInt(maj, 10) || 0, Number.parseInt(min_, 10) || 0];
  };
  const [a, b] = parse(kernel);
  const [c, d] = parse(min);
  return a > c || (a === c && b >= d);
}

function ruleApplies(rule: DockerSeccompRule, caps: ReadonlySet<string>, arch: string, kernel: string | undefined): boolean {
  const inc = rule.includes ?? {};
  const exc = rule.excludes ?? {};
  if (inc.arches && inc.arches.length > 0 && !inc.arches.includes(arch)) return false;
  if (exc.arches && exc.arches.includes(arch)) return false;
  if (inc.caps && !inc.caps.every((c) => caps.has(c))) return false;
  if (exc.caps && exc.caps.some((c) => caps.has(c))) return false;
  // An unknown kernel is assumed new enough: rootless needs a recent kernel anyway.
  if (inc.minKernel && kernel !== undefined && !kernelAtLeast(kernel, inc.minKernel)) return false;
  return true;
}

function architectures(profile: DockerSeccompProfile, arch: string): string[] {
  if (profile.architectures && profile.architectures.length > 0) {
    if (profile.archMap && profile.archMap.length > 0) throw invalidParameter("both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or 'archMap'");
    return [...profile.architectures];
  }
  // Neither list: leave it to libseccomp, which then filters the native arch only (as dockerd).
  const native = NATIVE_SCMP_ARCH[arch];
  const entry = native ? profile.archMap?.find((m) => m.architecture === native) : undefined;
  return entry ? [entry.architecture, ...(entry.subArchitectures ?? [])] : [];
}

/**
 * Resolve a Docker-format profile for one container: `caps` is its bounding set (as dockerd
 * uses), `arch` the host architecture, `kernel` the running kernel release (optional).
 */
export function seccompFromDockerProfile(
  profile: DockerSeccompProfile,
  caps: readonly string[],
  arch: string,
  kernel?: string,
): OciSeccomp {
  const capSet = new Set(caps);
  const go = goArch(arch);
  const syscalls: OciSeccompSyscall[] = [];
  for (const rule of profile.syscalls ?? []) {
    if (!ruleApplies(rule, capSet, go, kernel)) continue;
    const out: OciSeccompSyscall = { names: [...rule.names], action: rule.action };
    if (rule.errnoRet !== undefined) out.errnoRet = rule.errnoRet;
    if (rule.args && rule.args.length > 0) out.args = rule.args.map((a) => ({ ...a }));
    syscalls.push(out);
  }
  const result: OciSeccomp = { defaultAction: profile.defaultAction, architectures: architectures(profile, go), syscalls };
  if (profile.defaultErrnoRet !== undefined) result.defaultErrnoRet = profile.defaultErrnoRet;
  return result;
}

/** dockerd's default profile for a container whose bounding set is `caps`, on host `arch`. */
export function defaultSeccompProfile(caps: readonly string[], arch: string, kernel?: string): OciSeccomp {
  return seccompFromDockerProfile(DOCKER_DEFAULT_SECCOMP, caps, arch, kernel);
}
