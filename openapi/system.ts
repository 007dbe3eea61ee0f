/**
 * JSON Schemas for what Burrow serves on the system routes, written from the Engine API's
 * SystemVersion / SystemInfo definitions. Tests check replies against them.
 */
const str = { type: 'string' } as const;
const bool = { type: 'boolean' } as const;
const int = { type: 'integer' } as const;

export const systemVersionSchema = {
  $id: 'SystemVersion',
  type: 'object',
  required: ['Version', 'ApiVersion', 'MinAPIVersion', 'Os', 'Arch', 'KernelVersion', 'Components', 'Platform'],
  properties: {
    Platform: { type: 'object', required: ['Name'], properties: { Name: str } },
    Components: {
      type: 'array',
      items: { type: 'object', required: ['Name', 'Version'], properties: { Name: str, Version: str, Details: { type: ['object', 'null'] } } },
    },
    Version: str,
    ApiVersion: { type: 'string', pattern: '^1\\.\\d+$' },
    MinAPIVersion: { type: 'string', pattern: '^1\\.\\d+$' },
    GitCommit: str,
    GoVersion: str,
    Os: { const: 'linux' },
    Arch: str,
    KernelVersion: str,
    Experimental: bool,
    BuildTime: str,
  },
} as const;

export const systemInfoSchema = {
  $id: 'SystemInfo',
  type: 'object',
  required: [
    'ID', 'Containers', 'ContainersRunning', 'ContainersPaused', 'ContainersStopped', 'Images', 'Driver', 'DriverStatus',
    'DockerRootDir', 'MemoryLimit', 'SwapLimit', 'CpuCfsPeriod', 'CpuCfsQuota', 'CPUShares', 'CPUSet', 'PidsLimit',
    'OomKillDisable', 'CgroupDriver', 'CgroupVersion', 'KernelVersion', 'OperatingSystem', 'OSType', 'Architecture', 'NCPU',
    'MemTotal', 'Name', 'ServerVersion', 'Runtimes', 'DefaultRuntime', 'Swarm', 'SecurityOptions', 'RegistryConfig',
    'Plugins', 'LoggingDriver', 'SystemTime', 'Warnings',
  ],
  properties: {
    ID: str,
    Containers: int,
    ContainersRunning: int,
    ContainersPaused: int,
    ContainersStopped: int,
    Images: int,
    Driver: str,
    DriverStatus: { type: 'array', items: { type: 'array', items: str, minItems: 2, maxItems: 2 } },
    DockerRootDir: str,
    Plugins: { type: 'object', properties: { Volume: { type: 'array', items: str }, Network: { type: 'array', items: str }, Log: { type: 'array', items: str } } },
    MemoryLimit: bool,
    SwapLimit: bool,
    CpuCfsPeriod: bool,
    CpuCfsQuota: bool,
    CPUShares: bool,
    CPUSet: bool,
    PidsLimit: bool,
    OomKillDisable: bool,
    IPv4Forwarding: bool,
    Debug: bool,
    NFd: int,
    SystemTime: str,
    LoggingDriver: str,
    CgroupDriver: { enum: ['cgroupfs', 'systemd', 'none'] },
    CgroupVersion: { enum: ['1', '2'] },
    NEventsListener: int,
    KernelVersion: str,
    OperatingSystem: str,
    OSVersion: str,
    OSType: { const: 'linux' },
    Architecture: str,
    NCPU: { type: 'integer', minimum: 1 },
    MemTotal: { type: 'integer', minimum: 1 },
    IndexServerAddress: str,
    RegistryConfig: { type: 'object', required: ['IndexConfigs'], properties: { IndexConfigs: { type: 'object' } } },
    Name: str,
    Labels: { type: 'array', items: str },
    ExperimentalBuild: bool,
    ServerVersion: str,
    Runtimes: { type: 'object', additionalProperties: { type: 'object', required: ['path'], properties: { path: str } } },
    DefaultRuntime: str,
    Swarm: { type: 'object', required: ['LocalNodeState'], properties: { LocalNodeState: { const: 'inactive' }, NodeID: str, ControlAvailable: bool } },
    LiveRestoreEnabled: bool,
    InitBinary: str,
    SecurityOptions: { type: 'array', items: str },
    Warnings: { type: ['array', 'null'], items: str },
  },
} as const;

export const errorResponseSchema = {
  $id: 'ErrorResponse',
  type: 'object',
  required: ['message'],
  properties: { message: { type: 'string', minLength: 1 } },
} as const;
