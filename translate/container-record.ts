/** What the engine persists about one container; pure data shared by the store and the JSON shaping. */
import type { MergedContainerConfig } from './container-config.js';
import type { HostConfigSpec } from './container-spec.js';
import type { NetworkingConfigBody } from '../openapi/containers.js';
import type { HealthState } from './health.js';
import type { MountRequest } from './mount-request.js';

export type ContainerStatus = 'created' | 'running' | 'exited' | 'removing' | 'dead';

export interface ContainerState {
  status: ContainerStatus;
  pid: number;
  exitCode: number;
  oomKilled: boolean;
  error: string;
  /** ISO timestamps; "0001-01-01T00:00:00Z" (Go's zero time) until they happen. */
  startedAt: string;
  finishedAt: string;
  /** Exited and waiting out the restart policy's back-off (dockerd shows it as running+restarting). */
  restarting?: boolean;
  /** Frozen by `docker pause`; only meaningful while status is running. */
  paused?: boolean;
}

/**
 * HostConfig as the create request carried it (derived from its schema: translate/container-spec.ts),
 * with the defaults create fills in (Runtime, namespace modes); inspect echoes it back.
 */
export type HostConfigRecord = HostConfigSpec;

/** One mount of a container: the parsed request plus the volume it was given at create. */
export interface MountPoint {
  request: MountRequest;
  /** For volume mounts: the named or generated volume. */
  volume?: string;
  /** The image content was copied up once; later starts leave the volume alone. */
  copiedUp?: boolean;
}

/** NetworkSettings.Networks and .Ports while the container runs, as the network manager gave them. */
export interface RecordedNetworkSettings {
  Networks: Record<string, unknown>;
  Ports: Record<string, { HostIp: string; HostPort: string }[] | null>;
}

/** A network the container joins at its start (dockerd keeps these in NetworkSettings.Networks). */
export interface NetworkJoin {
  name: string;
  aliases?: string[];
  ipv4?: string;
  ipv6?: string;
  /** EndpointSettings.Links ("other:alias"): names only this container resolves on that network. */
  links?: string[];
  /** IPAMConfig.LinkLocalIPs: extra link-local addresses on the interface. */
  linkLocalIps?: string[];
}

export interface ContainerRecord {
  id: string;
  /** With the leading slash, as dockerd stores it. */
  name: string;
  created: string;
  /** The image as the request named it (Config.Image). */
  image: string;
  imageId: string;
  config: MergedContainerConfig;
  hostConfig: HostConfigRecord;
  networkingConfig?: NetworkingConfigBody | null;
  state: ContainerState;
  restartCount: number;
  /** Stopped with `docker stop` since its last start: unless-stopped leaves it down. */
  manuallyStopped?: boolean;
  /** Asked with `rm -v`: saved with the `removing` state, so a removal a crash cut short still takes the anonymous volumes. */
  removeVolumes?: boolean;
  /** Host paths, for inspect. */
  paths: { root: string; log: string; hosts: string; hostname: string; resolvConf: string };
  driver: string;
  /** Volumes, binds and tmpfs mounts from Binds/Mounts/Config.Volumes (absent in records older than volumes). */
  mounts?: MountPoint[];
  networkSettings?: RecordedNetworkSettings;
  /**
   * Set once `docker network connect/disconnect` changed the container's networks; absent, they follow
   * from NetworkMode and NetworkingConfig. The next start joins exactly these.
   */
  joinNetworks?: NetworkJoin[];
  /** State.Health: set at the first start of a container with a probe, kept across stops and daemon restarts as dockerd keeps it. */
  health?: HealthState;
}

export const ZERO_TIME = '0001-01-01T00:00:00Z';
