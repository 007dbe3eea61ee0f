import type { Readable } from 'node:stream';
import type { ImageDeleteItem } from '../translate/image-json.js';
import type { JsonMessage } from '../translate/pull-progress.js';

/** Image transfer beyond pull: push, login, save/load, import, search, distribution, prune. */
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

export interface ImageTransferService {
  /** Errors before the first emit are HTTP errors; later ones go in the stream. */
  push(params: ImagePushParams, emit: (message: JsonMessage) => void, signal?: AbortSignal): Promise<void>;
  /** POST /auth: resolves with dockerd's reply, throws unauthorized on bad credentials. */
  login(body: unknown): Promise<{ Status: string; IdentityToken: string }>;
  /** Validates every name and blob first, then returns the archive's bytes as a stream. */
  save(names: string[]): Promise<AsyncIterable<Buffer>>;
  load(body: Readable, quiet: boolean, emit: (message: JsonMessage) => void): Promise<void>;
  /** Returns the new image ID. */
  /** The new image's ID; a URL's download streams its progress through `emit` and stops when `signal` aborts. */
  importImage(params: ImageImportParams, emit: (message: JsonMessage) => void, signal?: AbortSignal): Promise<string>;
  search(params: ImageSearchParams): Promise<ImageSearchResult[]>;
  distribution(name: string, registryAuth?: string): Promise<Record<string, unknown>>;
  prune(filters?: string): Promise<ImagePruneReport>;
}
