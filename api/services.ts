// The engine's interfaces live beside the engine (rootless/*/interface.ts, slirp/interface.ts) in
// domain types; routes import them from here and translate/*-json.ts shapes Docker's wire JSON.
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
export type { CommitParams, ContainerResourceService, ContainerToolsService, FilesystemChange, PutArchiveOptions } from '../rootless/containers/tools-interface.js';
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

export type { ConnectEndpoint, ContainerLookup, CreateNetworkSpec, NetworkConnectParams, NetworkEndpointView, NetworkService, NetworkView } from '../slirp/interface.js';
/** The engine's services, which the server and routes take. */
export type { EngineServices as ApiServices } from '../rootless/engine-services.js';
