import type { ContainerService, ExecService } from '../rootless/containers/interface.js';
import type { ContainerResourceService, ContainerToolsService } from '../rootless/containers/tools-interface.js';
import type { ImageService } from '../rootless/images/interface.js';
import type { VolumeService } from '../rootless/volumes/interface.js';
import type { EventService } from '../rootless/events/interface.js';
import type { BuildService } from '../rootless/build/interface.js';
import type { BuildkitService } from '../rootless/buildkit/interface.js';
import type { SystemService } from '../rootless/system-interface.js';

// The engine's interfaces live beside the engine (rootless/*/interface.ts); routes import them
// from here. Only the aggregate below and the network service's (slirp/) stay in api/.
export type {
  ContainerAttachParams,
  ContainerDetails,
  ContainerLogParams,
  ContainerPruneResult,
  ContainerService,
  ContainerSizes,
  ContainerView,
  ExecService,
  ExecStartOptions,
  InteractiveStream,
  OutputStream,
  SessionInput,
  WaitCondition,
  WaitResult,
} from '../rootless/containers/interface.js';
export type { CommitParams, ContainerResourceService, ContainerToolsService, FilesystemChangeJson, PutArchiveOptions } from '../rootless/containers/tools-interface.js';
export type {
  ImageDeletion,
  ImageDetails,
  ImageHistoryEntry,
  ImageImportParams,
  ImageListEntry,
  ImageListParams,
  ImagePruneReport,
  ImagePullParams,
  ImagePushParams,
  ImageSearchParams,
  ImageSearchResult,
  ImageService,
  ImageTransferService,
} from '../rootless/images/interface.js';
export type { Volume, VolumeCreateRequest, VolumePruneResult, VolumeService, VolumeUsage } from '../rootless/volumes/interface.js';
export type { EngineEvent, EventQuery, EventService, EventType } from '../rootless/events/interface.js';
export type { BuildCacheRecord, BuildParams, BuildPruneReport, BuildService, RunHostConfig } from '../rootless/build/interface.js';
export type { BuildkitService } from '../rootless/buildkit/interface.js';
export { DISK_USAGE_KINDS, type DiskUsageKind, type DiskUsageReport, type SystemInfoReport, type SystemService } from '../rootless/system-interface.js';

/** How the network API finds containers; provided by the container code (connect/disconnect). */
export interface ContainerLookup {
  /** A container by id, id prefix or name; undefined answers 404 "No such container". */
  lookup(ref: string): Promise<{ id: string; name: string; running: boolean } | undefined>;
  /** Record in the container's config that it joins a network (applied at its next start when stopped). */
  connected?(containerId: string, network: { id: string; name: string }, endpoint: { aliases: string[]; ipv4?: string; ipv6?: string; links?: string[]; linkLocalIps?: string[] }): Promise<void>;
  disconnected?(containerId: string, network: { id: string; name: string }): Promise<void>;
  /** True while a (stopped) container's config still names the network, so prune keeps it. */
  references?(networkId: string): Promise<boolean>;
}

export interface NetworkService {
  list(filters?: string): Promise<Record<string, unknown>[]>;
  inspect(ref: string): Promise<Record<string, unknown>>;
  create(body: unknown): Promise<{ Id: string; Warning: string }>;
  remove(ref: string): Promise<void>;
  connect(ref: string, body: unknown): Promise<void>;
  disconnect(ref: string, body: unknown): Promise<void>;
  prune(filters?: string): Promise<{ NetworksDeleted: string[] }>;
}

export interface ApiServices {
  system: SystemService;
  images: ImageService;
  containers: ContainerService;
  volumes: VolumeService;
  networks: NetworkService;
  exec: ExecService;
  events: EventService;
  /** Absent in engines without it; its routes then answer 404 like any unknown path. */
  resources?: ContainerResourceService;
  /** archive/export/changes/commit; absent means 404 as for resources. */
  containerTools?: ContainerToolsService;
  /** POST /build; absent where no engine backs it (the route answers 501). */
  build?: BuildService;
  /** POST /grpc and /session (BuildKit); absent means Builder-Version 1 and 404 on both. */
  buildkit?: BuildkitService;
}
