import { MAX_API_VERSION, MIN_API_VERSION } from '../rootless/version.js';
import { EMPTY_REGISTRY_SETTINGS, registryConfigInfo, type RegistrySettings } from './registry-config.js';

/** The machine the engine runs on. */
export interface HostFacts {
  hostname: string;
  kernelVersion: string;
  operatingSystem: string;
  osVersion: string;
  /** uname -m, e.g. x86_64 (what /info shows). */
  architecture: string;
  /** GOARCH-style, e.g. amd64 (what /version shows). */
  goArch: string;
  ncpu: number;
  memTotal: number;
}

/** What the engine knows about itself and its host; everything /info and /version report comes from here. */
export interface EngineFacts extends HostFacts {
  engineVersion: string;
  engineId: string;
  dockerRootDir: string;
  storageDriver: string;
  driverStatus: [string, string][];
  backingFilesystem?: string;
  cgroupDriver: 'cgroupfs' | 'systemd' | 'none';
  cgroupVersion: '1' | '2';
  limits: {
    memory: boolean;
    swap: boolean;
    cpuCfsPeriod: boolean;
    cpuCfsQuota: boolean;
    cpuShares: boolean;
    cpuSet: boolean;
    pids: boolean;
    oomKillDisable: boolean;
  };
  /** OCI runtimes by name: where they are and what version they report. */
  runtimes: Record<string, { path: string; version: string }>;
  defaultRuntime: string;
  initBinary: string;
  seccompProfile?: string;
  warnings: string[];
  debug: boolean;
  /** From the config file: insecure registries and mirrors. */
  registry?: RegistrySettings;
}

export interface EngineCounts {
  containers: number;
  running: number;
  paused: number;
  stopped: number;
  images: number;
  eventListeners: number;
  fds: number;
}

export function securityOptions(facts: EngineFacts): string[] {
  const opts: string[] = [];
  if (facts.seccompProfile) opts.push(`name=seccomp,profile=${facts.seccompProfile}`);
  opts.push('name=rootless');
  if (facts.cgroupVersion === '2') opts.push('name=cgroupns');
  return opts;
}

/** GET /info in dockerd's shape. */
export function systemInfo(facts: EngineFacts, counts: EngineCounts, now: Date): Record<string, unknown> {
  const runtimes = Object.fromEntries(Object.entries(facts.runtimes).map(([name, r]) => [name, { path: r.path }]));
  return {
    ID: facts.engineId,
    Containers: counts.containers,
    ContainersRunning: counts.running,
    ContainersPaused: counts.paused,
    ContainersStopped: counts.stopped,
    Images: counts.images,
    Driver: facts.storageDriver,
    DriverStatus: facts.driverStatus,
    Plugins: {
      Volume: ['local'],
      Network: ['bridge', 'host', 'null'],
      Authorization: null,
      Log: ['json-file'],
    },
    MemoryLimit: facts.limits.memory,
    SwapLimit: facts.limits.swap,
    CpuCfsPeriod: facts.limits.cpuCfsPeriod,
    CpuCfsQuota: facts.limits.cpuCfsQuota,
    CPUShares: facts.limits.cpuShares,
    CPUSet: facts.limits.cpuSet,
    PidsLimit: facts.limits.pids,
    OomKillDisable: facts.limits.oomKillDisable,
    IPv4Forwarding: true,
    Debug: facts.debug,
    NFd: counts.fds,
    NGoroutines: 0,
    SystemTime: now.toISOString(),
    LoggingDriver: 'json-file',
    CgroupDriver: facts.cgroupDriver,
    CgroupVersion: facts.cgroupVersion,
    NEventsListener: counts.eventListeners,
    KernelVersion: facts.kernelVersion,
    OperatingSystem: facts.operatingSystem,
    OSVersion: facts.osVersion,
    OSType: 'linux',
    Architecture: facts.architecture,
    IndexServerAddress: 'https://index.docker.io/v1/',
    RegistryConfig: registryConfigInfo(facts.registry ?? EMPTY_REGISTRY_SETTINGS),
    NCPU: facts.ncpu,
    MemTotal: facts.memTotal,
    GenericResources: null,
    DockerRootDir: facts.dockerRootDir,
    HttpProxy: '',
    HttpsProxy: '',
    NoProxy: '',
    Name: facts.hostname,
    Labels: [],
    ExperimentalBuild: false,
    ServerVersion: facts.engineVersion,
    Runtimes: runtimes,
    DefaultRuntime: facts.defaultRuntime,
    Swarm: {
      NodeID: '',
      NodeAddr: '',
      LocalNodeState: 'inactive',
      ControlAvailable: false,
      Error: '',
      RemoteManagers: null,
    },
    LiveRestoreEnabled: true,
    Isolation: '',
    InitBinary: facts.initBinary,
    ContainerdCommit: { ID: '' },
    RuncCommit: { ID: '' },
    InitCommit: { ID: '' },
    SecurityOptions: securityOptions(facts),
    CDISpecDirs: [],
    Warnings: facts.warnings,
  };
}

/** GET /version in dockerd's shape. */
export function systemVersion(facts: EngineFacts): Record<string, unknown> {
  const details = { ApiVersion: MAX_API_VERSION, MinAPIVersion: MIN_API_VERSION, Os: 'linux', Arch: facts.goArch, KernelVersion: facts.kernelVersion };
  return {
    Platform: { Name: `Burrow ${facts.engineVersion} (rootless)` },
    Components: [
      { Name: 'Engine', Version: facts.engineVersion, Details: { ...details, GitCommit: '', GoVersion: '', Experimental: 'false', BuildTime: '' } },
      ...Object.entries(facts.runtimes).map(([name, r]) => ({ Name: name, Version: r.version, Details: { Path: r.path } })),
    ],
    Version: facts.engineVersion,
    ApiVersion: MAX_API_VERSION,
    MinAPIVersion: MIN_API_VERSION,
    GitCommit: '',
    GoVersion: `node ${process.versions.node}`,
    Os: 'linux',
    Arch: facts.goArch,
    KernelVersion: facts.kernelVersion,
    BuildTime: '',
  };
}

/** dockerd's /info Warnings for limits a kernel (here: a delegation) does not offer. */
export function limitWarnings(limits: EngineFacts['limits']): string[] {
  const w: string[] = [];
  if (!limits.memory) w.push('WARNING: No memory limit support');
  if (!limits.swap) w.push('WARNING: No swap limit support');
  if (!limits.cpuCfsQuota) w.push('WARNING: No cpu cfs quota support');
  if (!limits.cpuCfsPeriod) w.push('WARNING: No cpu cfs period support');
  if (!limits.cpuShares) w.push('WARNING: No cpu shares support');
  if (!limits.cpuSet) w.push('WARNING: No cpuset support');
  if (!limits.pids) w.push('WARNING: No pids limit support');
  return w;
}
