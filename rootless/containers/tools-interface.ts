/**
 * What the archive/export/changes/commit and stats/pause/update/top routes need from the container
 * engine (rootless/containers/tools.ts, resources.ts), beside it; api/services.ts re-exports it.
 */
import type { Readable } from 'node:stream';
import type { ContainerUpdateBody } from '../../openapi/containers.js';
import type { StatsReading } from '../../translate/container-stats.js';
import type { TopResult } from './processes.js';

/** One path of a container's diff against its image (translate/container-changes-json.ts numbers the kind). */
export interface FilesystemChange {
  path: string;
  kind: 'modified' | 'added' | 'deleted';
}

export interface PutArchiveOptions {
  noOverwriteDirNonDir: boolean;
  copyUIDGID: boolean;
}

export interface CommitParams {
  container: string;
  repo?: string;
  tag?: string;
  comment?: string;
  author?: string;
  pause: boolean;
  changes: string[];
  /** The JSON body (a container config), undefined or null when none was sent. */
  config?: unknown;
}

export interface ContainerToolsService {
  /** The X-Docker-Container-Path-Stat header value; 404 for a missing path. */
  statPath(ref: string, path: string): Promise<string>;
  /** Checks everything before the first byte: errors here are ordinary HTTP errors. */
  getArchive(ref: string, path: string): Promise<{ stat: string; content: Readable }>;
  /** Consumes the whole body, also when it fails. */
  putArchive(ref: string, path: string, body: Readable, opts: PutArchiveOptions): Promise<void>;
  exportRootfs(ref: string): Promise<Readable>;
  /** In dockerd's order: a changed directory before what changed in it. */
  changes(ref: string): Promise<FilesystemChange[]>;
  /** The new image's ID. */
  commit(params: CommitParams): Promise<string>;
}

/** Stats, pause, update and top of one container (rootless/containers/resources.ts). */
export interface ContainerResourceService {
  /** Readings a second apart (one, or two for stream=false); translate/container-stats.ts writes dockerd's documents. */
  stats(ref: string, opts: { stream: boolean; oneShot: boolean }, signal: AbortSignal): AsyncIterable<StatsReading>;
  pause(ref: string): Promise<void>;
  unpause(ref: string): Promise<void>;
  /** What dockerd warns of (limits recorded but not applied). */
  update(ref: string, body: ContainerUpdateBody | undefined): Promise<string[]>;
  top(ref: string, psArgs: string | undefined): Promise<TopResult>;
}
