/** The build API behind POST /build and /build/prune: validation, the cache, and the wiring of a Build to images and containers. */
import type { BuildCacheRecord, BuildParams, BuildPruneReport, BuildService } from './interface.js';
import type { ImageService } from '../images/interface.js';
import type { ContainerService } from '../containers/interface.js';
import { decodeRegistryConfig } from '../../translate/build-registry-config.js';
import { invalidParameter } from '../../translate/errors.js';
import { familiarString, parseNormalizedNamed, withDefaultTag, type ImageRef } from '../../translate/image-ref.js';
import { formatPlatform, parsePlatform, type Platform } from '../../translate/platform.js';
import type { JsonMessage } from '../../translate/pull-progress.js';
import type { RegistryCredentials } from '../../translate/registry-auth.js';
import type { ImageStore } from '../images/store.js';
import type * as Builder from './builder.js';
import { BuildCache } from './cache.js';
import { cacheRecords } from './cache-usage.js';
import { ServiceStepContainers } from './step-containers.js';

export interface BuildServiceDeps {
  store: ImageStore;
  images: ImageService;
  containers: ContainerService;
  /** <dataRoot>/containers */
  containersRoot: string;
  storageDriver: string;
  host: Platform;
  cacheFile: string;
  /** Images containers use: build prune keeps them. */
  usedImages(): Promise<Set<string>>;
  /** Told each name a finished build gave its image (dockerd's builder tags through TagImage: a `tag` event each). */
  tagged?: (id: string, ref: string) => void;
}

function tagRef(t: string): ImageRef {
  let ref: ImageRef;
  try {
    ref = withDefaultTag(parseNormalizedNamed(t));
  } catch {
    throw invalidParameter(`invalid reference format: repository name (${t}) must be lowercase`);
  }
  if (ref.digest !== undefined) throw invalidParameter(`invalid tag ${t}: refusing to create a tag with a digest reference`);
  return ref;
}

/** Credentials back into the X-Registry-Auth form the image service takes. */
function authHeader(creds: RegistryCredentials): string {
  const json = {
    ...(creds.username !== undefined ? { username: creds.username } : {}),
    ...(creds.password !== undefined ? { password: creds.password } : {}),
    ...(creds.identityToken !== undefined ? { identitytoken: creds.identityToken } : {}),
    ...(creds.registryToken !== undefined ? { registrytoken: creds.registryToken } : {}),
    ...(creds.serverAddress !== undefined ? { serveraddress: creds.serverAddress } : {}),
  };
  return Buffer.from(JSON.stringify(json)).toString('base64url');
}

/** The builder and the Dockerfile machinery load on the first build: most daemons never build. */
let builder: Promise<typeof Builder> | undefined;
const loadBuilder = (): Promise<typeof Builder> => (builder ??= import('./builder.js'));

export class EngineBuildService implements BuildService {
  private constructor(
    private readonly deps: BuildServiceDeps,
    private readonly cache: BuildCache,
  ) {}

  static async open(deps: BuildServiceDeps): Promise<EngineBuildService> {
    return new EngineBuildService(deps, await BuildCache.open(deps.cacheFile));
  }

  async build(params: BuildParams, emit: (m: JsonMessage) => void): Promise<void> {
    const tags = params.tags.filter((t) => t !== '').map(tagRef);
    const platform = params.platform ? parsePlatform(params.platform) : undefined;
    const images = this.deps.images;
    const { runBuild, BuildStepError } = await loadBuilder();
    try {
      const id = await runBuild(
        {
          store: this.deps.store,
          cache: this.cache,
          storageDriver: this.deps.storageDriver,
          host: this.deps.host,
          containers: new ServiceStepContainers(this.deps.containers, this.deps.containersRoot),
          pull: (req, out) =>
            images.pull(
              {
                fromImage: familiarString(req.ref),
                ...(req.platform ? { platform: formatPlatform(req.platform) } : {}),
                ...(req.creds ? { registryAuth: authHeader(req.creds) } : {}),
              },
              out,
            ),
        },
        {
          body: params.body,
          ...(params.remote ? { remote: params.remote } : {}),
          dockerfile: params.dockerfile,
          tags,
          quiet: params.quiet,
          nocache: params.nocache,
          pull: params.pull,
          rm: params.rm,
          forcerm: params.forcerm,
          buildArgs: params.buildArgs,
          labels: params.labels,
          cacheFrom: params.cacheFrom,
          ...(params.target ? { target: params.target } : {}),
          ...(platform ? { platform } : {}),
          registryCreds: decodeRegistryConfig(params.registryConfig),
          runHostConfig: params.runHostConfig,
          ...(params.signal ? { signal: params.signal } : {}),
        },
        emit,
      );
      for (const t of tags) this.deps.tagged?.(id, familiarString(t));
    } catch (err) {
      // dockerd's jsonmessage carries the exit code, which the CLI exits with.
      if (err instanceof BuildStepError) {
        emit({ errorDetail: { code: err.code, message: err.message }, error: err.message } as JsonMessage);
        return;
      }
      throw err;
    }
  }

  async diskUsage(): Promise<BuildCacheRecord[]> {
    return cacheRecords(this.cache.images(), this.deps.store, await this.deps.usedImages());
  }

  /** Forgets the cache and deletes the untagged step images no container uses. */
  async prune(_params: { all: boolean }): Promise<BuildPruneReport> {
    const store = this.deps.store;
    const used = await this.deps.usedImages();
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const id of this.cache.images()) {
      // A step image a build in flight holds (its lease) stays with the cache entry.
      if (!store.has(id) || used.has(id) || store.imageLeased(id) || store.record(id).refs.length > 0) continue;
      const sizes = new Map(store.record(id).layers.map((l) => [l, store.layer(l)?.size ?? 0]));
      for (const layer of await store.deleteImage(id)) reclaimed += sizes.get(layer) ?? 0;
      deleted.push(id);
    }
    const gone = new Set(deleted);
    await this.cache.forget((id) => gone.has(id) || !store.has(id));
    return { deleted, spaceReclaimed: reclaimed };
  }
}
