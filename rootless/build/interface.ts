/**
 * The builder's interface (POST /build, build cache prune and usage), beside the engine
 * (rootless/build/service.ts; rootless/buildkit/cache.ts wraps it); api/services.ts re-exports it.
 */
import type { Readable } from 'node:stream';
import type { JsonMessage } from '../../translate/pull-progress.js';
import type { RunHostConfig } from './step-containers.js';

export type { RunHostConfig };

/** POST /build as the classic builder takes it, query already parsed. */
export interface BuildParams {
  /** The context tar; read and ignored (drained) when `remote` is given. */
  body: Readable;
  /** `remote=`: a git repository or an http(s) URL of a tar or a Dockerfile, fetched by the daemon. */
  remote?: string;
  dockerfile: string;
  /** Every `t`. */
  tags: string[];
  quiet: boolean;
  nocache: boolean;
  pull: boolean;
  rm: boolean;
  forcerm: boolean;
  buildArgs: Record<string, string | null>;
  labels: Record<string, string>;
  /** `cachefrom`: local images whose history steps may stand in for this build's. */
  cacheFrom: string[];
  target?: string;
  platform?: string;
  /** The raw X-Registry-Config header. */
  registryConfig?: string;
  /** For every RUN step's container. */
  runHostConfig: RunHostConfig;
  /** Aborted when the client disconnects: the build stops, nothing is tagged, its containers go. */
  signal?: AbortSignal;
}

/**
 * One build cache record (a classic builder's cached step image, or one of buildkitd's records);
 * translate/build-cache-json.ts writes it as /system/df's BuildCache entry.
 */
export interface BuildCacheRecord {
  id: string;
  /** The records this one was built on; [] for none. */
  parents: string[];
  /** BuildKit's record type: regular, source.local, exec.cachemount, internal, frontend… */
  type: string;
  description: string;
  inUse: boolean;
  /** Its data is also held elsewhere, so pruning it would not free it. */
  shared: boolean;
  size: number;
  /** RFC 3339 as recorded (a step image's config `created` keeps its precision). */
  createdAt: string;
  /** RFC 3339; null when never used since it was made. */
  lastUsedAt: string | null;
  usageCount: number;
}

export interface BuildPruneReport {
  /** The records removed. */
  deleted: string[];
  spaceReclaimed: number;
}

export interface BuildService {
  /** Throws before the first emit for bad input; afterwards errors belong in the stream. */
  build(params: BuildParams, emit: (message: JsonMessage) => void): Promise<void>;
  prune(params: { all: boolean }): Promise<BuildPruneReport>;
  /** The cache's records for /system/df; what prune would delete. */
  diskUsage(): Promise<BuildCacheRecord[]>;
}
