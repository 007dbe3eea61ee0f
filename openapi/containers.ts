/**
 * Container request bodies (ContainerCreate = ContainerConfig + HostConfig + NetworkingConfig,
 * ContainerUpdate = Resources + RestartPolicy, commit's ContainerConfig) and the container
 * replies, written from the Engine API definitions. Field types follow the Go structs dockerd
 * decodes into, since those decide what a request may carry.
 */
import { endpointsConfigSchema } from './networks.js';
import type { Validated } from './validated.js';
import { bool, consoleSize, emptyObjectMap, int, listOf, str, strList, strMap, strSlice, struct, uint } from './types.js';

const healthConfig = struct({ Test: strList, Interval: int, Timeout: int, Retries: int, StartPeriod: int, StartInterval: int });

export const containerConfigProperties = {
  Hostname: str,
  Domainname: str,
  User: str,
  AttachStdin: bool,
  AttachStdout: bool,
  AttachStderr: bool,
  ExposedPorts: emptyObjectMap,
  Tty: bool,
  OpenStdin: bool,
  StdinOnce: bool,
  Env: strList,
  Cmd: strSlice,
  Healthcheck: healthConfig,
  ArgsEscaped: bool,
  Image: str,
  Volumes: emptyObjectMap,
  WorkingDir: str,
  Entrypoint: strSlice,
  NetworkDisabled: bool,
  MacAddress: str,
  OnBuild: strList,
  Labels: strMap,
  StopSignal: str,
  StopTimeout: int,
  Shell: strSlice,
} as const;

const throttleDevice = struct({ Path: str, Rate: uint });

/** container.Resources: shared by HostConfig and the update body. */
export const resourcesProperties = {
  CpuShares: int,
  Memory: int,
  CgroupParent: str,
  BlkioWeight: uint,
  BlkioWeightDevice: listOf(struct({ Path: str, Weight: uint })),
  BlkioDeviceReadBps: listOf(throttleDevice),
  BlkioDeviceWriteBps: listOf(throttleDevice),
  BlkioDeviceReadIOps: listOf(throttleDevice),
  BlkioDeviceWriteIOps: listOf(throttleDevice),
  CpuPeriod: int,
  CpuQuota: int,
  CpuRealtimePeriod: int,
  CpuRealtimeRuntime: int,
  CpusetCpus: str,
  CpusetMems: str,
  Devices: listOf(struct({ PathOnHost: str, PathInContainer: str, CgroupPermissions: str })),
  DeviceCgroupRules: strList,
  DeviceRequests: listOf(struct({ Driver: str, Count: int, DeviceIDs: strList, Capabilities: listOf(strList), Options: strMap })),
  KernelMemory: int,
  KernelMemoryTCP: int,
  MemoryReservation: int,
  MemorySwap: int,
  MemorySwappiness: int,
  NanoCpus: int,
  OomKillDisable: bool,
  Init: bool,
  PidsLimit: int,
  Ulimits: listOf(struct({ Name: str, Soft: int, Hard: int })),
  CpuCount: int,
  CpuPercent: int,
  IOMaximumIOps: uint,
  IOMaximumBandwidth: uint,
} as const;

const restartPolicy = struct({ Name: str, MaximumRetryCount: int });

const mount = struct({
  Type: str,
  Source: str,
  Target: str,
  ReadOnly: bool,
  Consistency: str,
  BindOptions: struct({ Propagation: str, NonRecursive: bool, CreateMountpoint: bool, ReadOnlyNonRecursive: bool, ReadOnlyForceRecursive: bool }),
  VolumeOptions: struct({ NoCopy: bool, Labels: strMap, DriverConfig: struct({ Name: str, Options: strMap }), Subpath: str }),
  ImageOptions: struct({ Subpath: str }),
  TmpfsOptions: struct({ SizeBytes: int, Mode: uint, Options: listOf(strList) }),
});

export const hostConfigSchema = struct({
  ...resourcesProperties,
  Binds: strList,
  ContainerIDFile: str,
  LogConfig: struct({ Type: str, Config: strMap }),
  NetworkMode: str,
  PortBindings: { type: ['object', 'null'], additionalProperties: listOf(struct({ HostIp: str, HostPort: str })) },
  RestartPolicy: restartPolicy,
  AutoRemove: bool,
  VolumeDriver: str,
  VolumesFrom: strList,
  Mounts: listOf(mount),
  ConsoleSize: consoleSize,
  Annotations: strMap,
  CapAdd: strSlice,
  CapDrop: strSlice,
  CgroupnsMode: str,
  Dns: strList,
  DnsOptions: strList,
  DnsSearch: strList,
  ExtraHosts: strList,
  GroupAdd: strList,
  IpcMode: str,
  Cgroup: str,
  Links: strList,
  OomScoreAdj: int,
  PidMode: str,
  Privileged: bool,
  PublishAllPorts: bool,
  ReadonlyRootfs: bool,
  SecurityOpt: strList,
  StorageOpt: strMap,
  Tmpfs: strMap,
  UTSMode: str,
  UsernsMode: str,
  ShmSize: int,
  Sysctls: strMap,
  Runtime: str,
  Isolation: str,
  MaskedPaths: strList,
  ReadonlyPaths: strList,
});

export const containerCreateRequestSchema = {
  $id: 'ContainerCreateRequest',
  ...struct({
    ...containerConfigProperties,
    HostConfig: hostConfigSchema,
    NetworkingConfig: struct({ EndpointsConfig: endpointsConfigSchema }),
  }),
} as const;

/** POST /commit's body is a plain ContainerConfig. */
export const containerConfigSchema = { $id: 'ContainerConfig', ...struct(containerConfigProperties) } as const;

export const containerUpdateRequestSchema = {
  $id: 'ContainerUpdateRequest',
  ...struct({ ...resourcesProperties, RestartPolicy: restartPolicy }),
} as const;

/** The bodies as api/validate.ts hands them on (openapi/validated.ts): the one type routes and services share. */
export type ContainerCreateBody = Validated<typeof containerCreateRequestSchema>;
export type ContainerConfigBody = Validated<typeof containerConfigSchema>;
export type HostConfigBody = Validated<typeof hostConfigSchema>;
export type HealthConfigBody = Validated<typeof healthConfig>;
export type MountBody = Validated<typeof mount>;
export type NetworkingConfigBody = NonNullable<ContainerCreateBody['NetworkingConfig']>;
export type ContainerUpdateBody = Validated<typeof containerUpdateRequestSchema>;

// ---- replies --------------------------------------------------------------------------------

const rstr = { type: 'string' } as const;
const rint = { type: 'integer' } as const;
const rbool = { type: 'boolean' } as const;
const id64 = { type: 'string', pattern: '^[0-9a-f]{64}$' } as const;
const isoTime = { type: 'string', pattern: '^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?(Z|[+-]\\d\\d:\\d\\d)$' } as const;
const nullableStrList = { type: ['array', 'null'], items: rstr } as const;
const stateStatus = { enum: ['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead'] } as const;

const mountPoint = {
  type: 'object',
  required: ['Type', 'Destination', 'RW'],
  properties: { Type: rstr, Name: rstr, Source: rstr, Destination: rstr, Driver: rstr, Mode: rstr, RW: rbool, Propagation: rstr },
} as const;

export const containerCreateResponseSchema = {
  $id: 'ContainerCreateResponse',
  type: 'object',
  required: ['Id', 'Warnings'],
  properties: { Id: id64, Warnings: { type: 'array', items: rstr } },
} as const;

export const containerInspectSchema = {
  $id: 'ContainerInspectResponse',
  type: 'object',
  required: ['Id', 'Created', 'Path', 'Args', 'State', 'Image', 'Name', 'RestartCount', 'Driver', 'HostConfig', 'Config', 'NetworkSettings', 'Mounts'],
  properties: {
    Id: id64,
    Created: isoTime,
    Path: rstr,
    Args: { type: 'array', items: rstr },
    State: {
      type: 'object',
      required: ['Status', 'Running', 'Paused', 'Restarting', 'OOMKilled', 'Dead', 'Pid', 'ExitCode', 'Error', 'StartedAt', 'FinishedAt'],
      properties: {
        Status: stateStatus,
        Running: rbool,
        Paused: rbool,
        Restarting: rbool,
        OOMKilled: rbool,
        Dead: rbool,
        Pid: rint,
        ExitCode: rint,
        Error: rstr,
        StartedAt: isoTime,
        FinishedAt: isoTime,
      },
    },
    Image: { type: 'string', pattern: '^sha256:[0-9a-f]{64}$' },
    ResolvConfPath: rstr,
    HostnamePath: rstr,
    HostsPath: rstr,
    LogPath: rstr,
    Name: { type: 'string', pattern: '^/' },
    RestartCount: rint,
    Driver: rstr,
    Platform: rstr,
    ExecIDs: nullableStrList,
    HostConfig: {
      type: 'object',
      required: ['NetworkMode', 'RestartPolicy', 'LogConfig'],
      properties: {
        NetworkMode: rstr,
        RestartPolicy: { type: 'object', required: ['Name'], properties: { Name: rstr, MaximumRetryCount: rint } },
        LogConfig: { type: 'object', required: ['Type'], properties: { Type: rstr } },
        Binds: nullableStrList,
        AutoRemove: rbool,
        Memory: rint,
      },
    },
    GraphDriver: { type: 'object', required: ['Name'], properties: { Name: rstr } },
    Mounts: { type: 'array', items: mountPoint },
    Config: {
      type: 'object',
      required: ['Hostname', 'Image', 'Env', 'Labels'],
      properties: {
        Hostname: { type: 'string', minLength: 1 },
        Domainname: rstr,
        User: rstr,
        Tty: rbool,
        OpenStdin: rbool,
        Env: { type: 'array', items: rstr },
        Cmd: nullableStrList,
        Entrypoint: nullableStrList,
        Image: rstr,
        WorkingDir: rstr,
        Labels: { type: 'object', additionalProperties: rstr },
      },
    },
    NetworkSettings: {
      type: 'object',
      required: ['Ports', 'Networks'],
      properties: {
        Ports: { type: ['object', 'null'] },
        Networks: {
          type: 'object',
          additionalProperties: { type: 'object', properties: { NetworkID: rstr, EndpointID: rstr, Gateway: rstr, IPAddress: rstr, IPPrefixLen: rint, MacAddress: rstr } },
        },
      },
    },
  },
} as const;

export const containerSummarySchema = {
  $id: 'ContainerSummary',
  type: 'object',
  required: ['Id', 'Names', 'Image', 'ImageID', 'Command', 'Created', 'Ports', 'Labels', 'State', 'Status', 'HostConfig', 'NetworkSettings', 'Mounts'],
  properties: {
    Id: id64,
    Names: { type: 'array', items: { type: 'string', pattern: '^/' }, minItems: 1 },
    Image: rstr,
    ImageID: { type: 'string', pattern: '^sha256:[0-9a-f]{64}$' },
    Command: rstr,
    Created: rint,
    Ports: {
      type: 'array',
      items: { type: 'object', required: ['PrivatePort', 'Type'], properties: { IP: rstr, PrivatePort: rint, PublicPort: rint, Type: { enum: ['tcp', 'udp', 'sctp'] } } },
    },
    Labels: { type: 'object', additionalProperties: rstr },
    State: stateStatus,
    Status: rstr,
    HostConfig: { type: 'object', required: ['NetworkMode'], properties: { NetworkMode: rstr } },
    NetworkSettings: { type: 'object', required: ['Networks'], properties: { Networks: { type: 'object' } } },
    Mounts: { type: 'array', items: mountPoint },
  },
} as const;
