import type { ImageDeleteItem, ImageHistoryItem, ImageSummary } from '../translate/image-json.js';
import type { JsonMessage } from '../translate/pull-progress.js';

/** What the HTTP layer needs from the engine; routes only parse, call one of these and shape the reply. */
export interface SystemService {
  info(): Promise<Record<string, unknown>>;
  version(): Record<string, unknown>;
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

export interface ImageService {
  /** Throws before the first emit for bad input or a missing manifest; afterwards errors belong in the stream. */
  pull(params: ImagePullParams, emit: (message: JsonMessage) => void, signal?: AbortSignal): Promise<void>;
  list(params: ImageListParams): Promise<ImageSummary[]>;
  inspect(name: string): Promise<Record<string, unknown>>;
  history(name: string): Promise<ImageHistoryItem[]>;
  tag(name: string, repo: string, tag: string | undefined): Promise<void>;
  remove(name: string, opts: { force: boolean; noprune: boolean }): Promise<ImageDeleteItem[]>;
}

export interface ApiServices {
  system: SystemService;
  images: ImageService;
}
