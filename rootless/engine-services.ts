/**
 * The engine's services as one object, each behind its interface beside its code and in domain
 * types: rootless/engine.ts builds it, the HTTP server takes it (api/services.ts calls it ApiServices).
 */
import type { ContainerService, ExecService } from './containers/interface.js';
import type { ContainerResourceService, ContainerToolsService } from './containers/tools-interface.js';
import type { ImageService } from './images/interface.js';
import type { VolumeService } from './volumes/interface.js';
import type { EventService } from './events/interface.js';
import type { BuildService } from './build/interface.js';
import type { BuildkitService } from './buildkit/interface.js';
import type { SystemService } from './system-interface.js';
import type { NetworkService } from '../slirp/interface.js';

export interface EngineServices {
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
