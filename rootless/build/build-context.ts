/**
 * What the classic builder's steps share: the build's request and dependencies, and the one Build
 * (builder.ts) as the steps see it: its output, its work directory and lease, and the step commit
 * that consults the cache. run-step.ts and copy-step.ts take this instead of the whole Build.
 */
import type { BuildParams } from './interface.js';
import type { ImageRef } from '../../translate/image-ref.js';
import type { Platform } from '../../translate/platform.js';
import type { JsonMessage } from '../../translate/pull-progress.js';
import type { RegistryCredentials } from '../../translate/registry-auth.js';
import type { Lease } from '../images/leases.js';
import type { Emit, PullRequest } from '../images/pull.js';
import type { ImageStore } from '../images/store.js';
import type { BuildCache } from './cache.js';
import type { StepContainers } from './step-containers.js';
import type { BuildImage, StepChange } from './step-image.js';

/** The API's build parameters with tags, platform and registry credentials parsed. */
export interface BuildRequest extends Omit<BuildParams, 'tags' | 'platform' | 'registryConfig'> {
  tags: ImageRef[];
  platform?: Platform;
  /** Registry host ("docker.io", "127.0.0.1:5000") → credentials, from X-Registry-Config. */
  registryCreds: Map<string, RegistryCredentials>;
}

export interface BuilderDeps {
  store: ImageStore;
  pull(req: PullRequest, emit: Emit): Promise<void>;
  containers: StepContainers;
  cache: BuildCache;
  storageDriver: string;
  host: Platform;
}

export interface StepContext {
  readonly deps: BuilderDeps;
  readonly req: BuildRequest;
  /** The build's private directory (removed when it ends). */
  readonly workDir: string;
  /** Holds every image and layer the build uses until it ends. */
  readonly lease: Lease;
  /** The Dockerfile's escape character. */
  readonly escape: string;
  /** Where the context was unpacked. */
  readonly contextDir: string;
  /** A line of the build's output (a `stream` message), silent for a quiet build. */
  out(text: string): void;
  /** Any message of the build's output, silent for a quiet build. */
  show(m: JsonMessage): void;
  /** Commits a step, or reuses the cached result of an identical one; `produce` makes the change when it is not cached. */
  commit(parent: BuildImage, change: StepChange, produce?: () => Promise<StepChange>): Promise<BuildImage>;
  /** COPY --from: an earlier stage by name or index, else an image. */
  fromImage(from: string, stageIndex: number): Promise<BuildImage>;
}

/** An image ID as the build output shows it. */
export const short = (id: string): string => id.replace(/^sha256:/, '').slice(0, 12);
