/**
 * The image engine's interfaces (pull, list, inspect…, and transfer: push, login, save/load,
 * import, search, distribution, prune), beside the engine (rootless/images/service.ts,
 * transfer.ts); api/services.ts re-exports them for the routes. List, history, delete and prune
 * answer domain values; translate/image-json.ts shapes dockerd's JSON for them.
 */
import type { Readable } from 'node:stream';
import type { GraphDriverView, ImageView } from '../../translate/image-json.js';
import type { JsonMessage } from '../../translate/pull-progress.js';
import type { RegistryCredentials } from '../../translate/registry-auth.js';

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

/** A repository `docker search` found; a registry's name is prefixed for any index but Docker Hub's. */
export interface ImageSearchResult {
  name: string;
  description: string;
  starCount: number;
  isOfficial: boolean;
  isAutomated: boolean;
}

/** An image as GET /images/json and /system/df list it. */
export interface ImageListEntry {
  id: string;
  /** The image it was made from (build steps, commits); absent for pulled and loaded images. */
  parent?: string;
  /** Familiar strings, sorted: "busybox:latest". */
  repoTags: string[];
  /** Familiar strings, sorted: "busybox@sha256:…". */
  repoDigests: string[];
  /** Seconds since the epoch; 0 when the config has no creation time. */
  created: number;
  size: number;
  labels: Record<string, string>;
  /** Bytes of its layers other listed images use too; only /system/df computes it. */
  sharedSize?: number;
  /** Containers created from it; only /system/df counts them. */
  containers?: number;
}

/** An image as GET /images/{name}/json shows it: its config, names and size, and where its layers are. */
export interface ImageDetails extends ImageView {
  graphDriver: GraphDriverView;
}

/** One row of an image's history, newest first. */
export interface ImageHistoryEntry {
  /** The image this row stands for; absent for rows of the chain no local image stands for. */
  id?: string;
  /** Seconds since the epoch; 0 when the history entry has no time. */
  created: number;
  createdBy: string;
  /** The tags of `id`; empty when it has none (or no id). */
  tags: string[];
  size: number;
  comment: string;
}

/** What a removal did, in order: a reference untagged, or an image (or layer) deleted. */
export type ImageDeletion = { untagged: string } | { deleted: string };

export interface ImagePruneReport {
  deletions: ImageDeletion[];
  spaceReclaimed: number;
}

/** A successful login: the OAuth refresh token a token server handed out ('' for basic auth). */
export interface LoginResult {
  identityToken: string;
}

/** One platform an image (or index) in a registry is for; optional fields only when the registry gave them. */
export interface DistributionPlatform {
  architecture: string;
  os: string;
  osVersion?: string;
  osFeatures?: string[];
  variant?: string;
}

/** What a registry holds under a reference: its manifest's descriptor and the platforms it serves. */
export interface DistributionInspect {
  descriptor: { mediaType: string; digest: string; size: number };
  platforms: DistributionPlatform[];
}

/** Image transfer beyond pull. */
export interface ImageTransferService {
  /** Errors before the first emit are HTTP errors; later ones go in the stream. */
  push(params: ImagePushParams, emit: (message: JsonMessage) => void, signal?: AbortSignal): Promise<void>;
  /** POST /auth: checks the credentials with the registry; throws unauthorized on bad ones. */
  login(creds: RegistryCredentials): Promise<LoginResult>;
  /** Validates every name and blob first, then returns the archive's bytes as a stream. */
  save(names: string[]): Promise<AsyncIterable<Buffer>>;
  /** The IDs of the images loaded. */
  load(body: Readable, quiet: boolean, emit: (message: JsonMessage) => void): Promise<string[]>;
  /** The new image's ID; a URL's download streams its progress through `emit` and stops when `signal` aborts. */
  importImage(params: ImageImportParams, emit: (message: JsonMessage) => void, signal?: AbortSignal): Promise<string>;
  search(params: ImageSearchParams): Promise<ImageSearchResult[]>;
  /** What the registry holds under a reference, without pulling it. */
  distribution(name: string, registryAuth?: string): Promise<DistributionInspect>;
  prune(filters?: string): Promise<ImagePruneReport>;
}

export interface ImageService extends ImageTransferService {
  /** Throws before the first emit for bad input or a missing manifest; afterwards errors belong in the stream. */
  pull(params: ImagePullParams, emit: (message: JsonMessage) => void, signal?: AbortSignal): Promise<void>;
  list(params: ImageListParams): Promise<ImageListEntry[]>;
  /** translate/image-json.ts shapes it for the request's API version. */
  inspect(name: string): Promise<ImageDetails>;
  history(name: string): Promise<ImageHistoryEntry[]>;
  tag(name: string, repo: string, tag: string | undefined): Promise<void>;
  remove(name: string, opts: { force: boolean; noprune: boolean }): Promise<ImageDeletion[]>;
}
