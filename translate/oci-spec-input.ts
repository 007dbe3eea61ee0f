/**
 * What buildOciSpec (translate/oci-spec.ts) takes: the merged container config plus what the
 * caller found out on the host (resolved mounts, device facts, namespaces, kernel facts).
 */
import type { MergedContainerConfig } from './container-config.js';
import type { CgroupController, HardLimits, ResourceRequest } from './oci-limits.js';
import type { HostConfigBody } from '../openapi/containers.js';
import type { HostConfigSpec } from './container-spec.js';
import type { OciSpec } from './oci-types.js';

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
