import type { ContainerUpdateBody } from '../openapi/containers.js';
import type { ImageDeleteItem, ImageHistoryItem, ImageSummary } from '../translate/image-json.js';
import type { JsonMessage } from '../translate/pull-progress.js';
import type { ImageTransferService } from './image-services.js';
import type { VolumeJson } from '../translate/volume-json.js';
import type { BuildService } from './build-services.js';
import type { BuildkitService } from './buildkit-services.js';
import type { ContainerToolsService } from './container-tools-service.js';
import type { ContainerService, ExecService } from '../rootless/containers/interface.js';

// The container engine's interfaces live beside the engine; routes import them from here as before.
export type {
  ContainerAttachParams,
  ContainerLogParams,
  ContainerService,
  ExecService,
  ExecStartOptions,
  InteractiveStream,
  OutputStream,
  SessionInput,
  WaitCondition,
  WaitResult,
} from '../rootless/containers/interface.js';

/** What the HTTP layer needs from the engine; routes only parse, call one of these and shape the reply. */
export interface SystemService {
  info(): Promise<Record<string, unknown>>;
  version(): Record<string, unknown>;
  /** GET /system/df: the sections asked for are filled, the others null. */
  diskUsage(kinds: ReadonlySet<DiskUsageKind>): Promise<DiskUsageReport>;
}

export const DISK_USAGE_KINDS = ['container', 'image', 'volume', 'build-cache'] as const;
export type DiskUsageKind = (typeof DISK_USAGE_KINDS)[number];

/** One build cache record as /system/df reports it (BuildKit's shape; here a cached step image). */
export interface BuildCacheRecord {
  ID: string;
  Parents: string[] | null;
  Type: string;
  Description: string;
  InUse: boolean;
  Shared: boolean;
  Size: number;
  CreatedAt: string;
  LastUsedAt: string | null;
  UsageCount: number;
}

export interface DiskUsageReport {
  LayersSize: number;
  Images: ImageSummary[] | null;
  Containers: Record<string, unknown>[] | null;
  Volumes: VolumeJson[] | null;
  BuildCache: BuildCacheRecord[] | null;
}

export interface ImagePullParams {
  fromImage: string;
  tag?: string;
  platform?: string;
  /** The raw X-Registry-Auth header; undecodable means anonymous. */
  registryAuth?: string;
}

export interface ImageListParams {
  all: boolean;
  digests: boolean;
  /** The raw `filters` JSON. */
  filters?: string;
}

export interface ImageService extends ImageTransferService {
  /** Throws before the first emit for bad input or a missing manifest; afterwards errors belong in the stream. */
  pull(params: ImagePullParams, emit: (message: JsonMessage) => void, signal?: AbortSignal): Promise<void>;
  list(params: ImageListParams): Promise<ImageSummary[]>;
  /** Shaped for the request's API version (the newest served when none is given). */
  inspect(name: string, apiVersion?: string): Promise<Record<string, unknown>>;
  history(name: string): Promise<ImageHistoryItem[]>;
  tag(name: string, repo: string, tag: string | undefined): Promise<void>;
  remove(name: string, opts: { force: boolean; noprune: boolean }): Promise<ImageDeleteItem[]>;
}

export interface EventQuery {
  since?: string;
  until?: string;
  /** The raw `filters` JSON. */
  filters?: string;
  /** Top-level status/id/from, which API < 1.52 carries. */
  legacyFields: boolean;
}

export interface EventService {
  /** Validates at once (throws); the stream yields one JSON line per event until `until` or the signal. */
  stream(query: EventQuery, signal: AbortSignal): AsyncIterable<string>;
}

export interface VolumeCreateParams {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string>;
  Labels?: Record<string, string>;
}

export interface VolumeService {
  /** Same name twice returns the existing volume, as dockerd does. */
  create(params: VolumeCreateParams): Promise<VolumeJson>;
  list(filters?: string): Promise<{ Volumes: VolumeJson[]; Warnings: string[] }>;
  inspect(name: string): Promise<VolumeJson>;
  remove(name: string, opts: { force: boolean }): Promise<void>;
  /** `allByDefault`: clients older than API 1.42 prune named volumes too. */
  prune(filters: string | undefined, opts: { allByDefault: boolean }): Promise<{ VolumesDeleted: string[]; SpaceReclaimed: number }>;
  /** Every volume with UsageData, for /system/df. */
  diskUsage(): Promise<VolumeJson[]>;
}

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

/** Stats, pause, update and top of one container (rootless/containers/resources.ts). */
export interface ContainerResourceService {
  /** One JSON document per line, ending with a newline. */
  stats(ref: string, opts: { stream: boolean; oneShot: boolean }, signal: AbortSignal): AsyncIterable<string>;
  pause(ref: string): Promise<void>;
  unpause(ref: string): Promise<void>;
  update(ref: string, body: ContainerUpdateBody | undefined): Promise<{ Warnings: string[] }>;
  top(ref: string, psArgs: string | undefined): Promise<{ Titles: string[]; Processes: string[][] }>;
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
