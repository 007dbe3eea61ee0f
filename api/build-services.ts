import type { Readable } from 'node:stream';
import type { JsonMessage } from '../translate/pull-progress.js';

/** POST /build as the classic builder takes it, query already parsed. */
export interface BuildParams {
  body: Readable;
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
  target?: string;
  platform?: string;
  /** The raw X-Registry-Config header. */
  registryConfig?: string;
}

export interface BuildPruneReport {
  CachesDeleted: string[];
  SpaceReclaimed: number;
}

export interface BuildService {
  /** Throws before the first emit for bad input; afterwards errors belong in the stream. */
  build(params: BuildParams, emit: (message: JsonMessage) => void): Promise<void>;
  prune(params: { all: boolean }): Promise<BuildPruneReport>;
}
