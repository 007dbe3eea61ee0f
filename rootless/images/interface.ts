/**
 * The image engine's interfaces (pull, list, inspect…, and transfer: push, login, save/load,
 * import, search, distribution, prune), beside the engine (rootless/images/service.ts,
 * transfer.ts); api/services.ts re-exports them for the routes.
 */
import type { Readable } from 'node:stream';
import type { ImageDeleteItem, ImageHistoryItem, ImageSummary } from '../../translate/image-json.js';
import type { JsonMessage } from '../../translate/pull-progress.js';

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

export interface ImagePushParams {
  /** The {name} path part, possibly with a tag. */
  name: string;
  tag?: string;
  registryAuth?: string;
}

export interface ImageImportParams {
  /** "-": the tar is `body`; anything else is a URL dockerd downloads ("http://" assumed without a scheme). */
  fromSrc: string;
  body: Readable;
  repo?: string;
  tag?: string;
  /** Dockerfile lines (CMD, ENV, …) applied to the new image's config. */
  changes: string[];
  message?: string;
  platform?: string;
}

export interface ImageSearchParams {
  term: string;
  limit?: number;
  filters?: string;
}

export interface ImageSearchResult {
  name: string;
  description: string;
  star_count: number;
  is_official: boolean;
  is_automated: boolean;
}

export interface ImagePruneReport {
  ImagesDeleted: ImageDeleteItem[] | null;
  SpaceReclaimed: number;
}

/** Image transfer beyond pull. */
export interface ImageTransferService {
  /** Errors before the first emit are HTTP errors; later ones go in the stream. */
  push(params: ImagePushParams, emit: (message: JsonMessage) => void, signal?: AbortSignal): Promise<void>;
  /** POST /auth: resolves with dockerd's reply, throws unauthorized on bad credentials. */
  login(body: unknown): Promise<{ Status: string; IdentityToken: string }>;
  /** Validates every name and blob first, then returns the archive's bytes as a stream. */
  save(names: string[]): Promise<AsyncIterable<Buffer>>;
  load(body: Readable, quiet: boolean, emit: (message: JsonMessage) => void): Promise<void>;
  /** The new image's ID; a URL's download streams its progress through `emit` and stops when `signal` aborts. */
  importImage(params: ImageImportParams, emit: (message: JsonMessage) => void, signal?: AbortSignal): Promise<string>;
  search(params: ImageSearchParams): Promise<ImageSearchResult[]>;
  distribution(name: string, registryAuth?: string): Promise<Record<string, unknown>>;
  prune(filters?: string): Promise<ImagePruneReport>;
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
