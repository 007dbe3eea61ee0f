/**
 * BuildKit for the docker CLI's default builder (buildx's `docker` driver): /grpc and /session
 * are bridged to a buildkitd Burrow runs on demand (daemon.ts), and images built for the `moby`
 * exporter land in Burrow's store (control-proxy.ts, land-image.ts).
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { BuildkitService } from './interface.js';
import { findExecutable } from '../doctor/paths.js';
import type { ImageStore } from '../images/store.js';
import { Buildkitd } from './daemon.js';
import { findBuildkitd, snapshotterFor } from './find.js';
import { LocalRegistry } from './local-registry.js';
import { BuildkitCache } from './cache.js';
import type { LoadArchive } from './land-image.js';
import { LANDING_PREFIX } from './landing-dirs.js';

const DEFAULT_IDLE_MS = 5 * 60_000;

export interface BuildkitOptions {
  dataRoot: string;
  runtimeDir: string;
  storageDriver: string;
  /** Shown to buildkitd as a mirror of every registry it names, so `FROM <local image>` finds it. */
  store: ImageStore;
  load: LoadArchive;
  /** Told the names a landed image was given (dockerd's moby exporter tags each: an image `tag` event). */
  tagged?: (id: string, names: readonly string[]) => void;
  logger: Logger;
  env: NodeJS.ProcessEnv;
}

export class EngineBuildkit implements BuildkitService {
  readonly available = true;
  /** buildkitd's build cache, for /system/df and /build/prune. */
  readonly cache: BuildkitCache;

  private constructor(
    private readonly daemon: Buildkitd,
    private readonly registry: LocalRegistry,
    private readonly into: { store: ImageStore; load: LoadArchive; tagged?: BuildkitOptions['tagged'] },
    private readonly logger: Logger,
  ) {
    this.cache = new BuildkitCache(daemon);
  }

  /** The snapshotter buildkitd's steps use (docker info shows it). */
  get snapshotter(): string {
    return this.daemon.snapshotter;
  }

  static async open(opts: BuildkitOptions): Promise<EngineBuildkit | undefined> {
    const binary = await findBuildkitd(opts.env);
    if (!binary) return undefined;
    // buildkitd's OCI worker runs steps with `run --keep`, which runc has and crun lacks: without
    // runc every RUN would fail, so BuildKit is not offered (Builder-Version 1).
    const runtime = await findExecutable('runc', opts.env);
    if (!runtime) {
      opts.logger.warn({ buildkitd: binary }, 'BuildKit is off: buildkitd needs runc, which is not on PATH');
      return undefined;
    }
    const idle = Number(opts.env.BURROW_BUILDKIT_IDLE_MS);
    const pasta = await findExecutable('pasta', opts.env);
    await removeLandings(join(opts.dataRoot, 'buildkit'));
    const registry = await LocalRegistry.start(opts.store, opts.logger, join(opts.runtimeDir, 'buildkit', 'registry-port'));
    const daemon = new Buildkitd({
      binary,
      runtime,
      snapshotter: snapshotterFor(opts.storageDriver, opts.env),
      stateDir: join(opts.dataRoot, 'buildkit'),
      runDir: join(opts.runtimeDir, 'buildkit'),
      idleMs: Number.isFinite(idle) && idle > 0 ? idle : DEFAULT_IDLE_MS,
      ...(pasta ? { pasta } : {}),
      mirror: registry.host,
      mirroredDomains: () => opts.store.records().flatMap((r) => r.refs.map((ref) => ref.domain)),
      logger: opts.logger,
    });
    await daemon.adoptLeftover();
    return new EngineBuildkit(daemon, registry, { store: opts.store, load: opts.load, tagged: opts.tagged }, opts.logger);
  }

  async serve(kind: 'grpc' | 'session', socket: Duplex, head: Buffer, rawHeaders: readonly string[], accept: () => void): Promise<void> {
    // The bridges (node:http2 and the landing code: ~1 MiB of heap and 5 MiB RSS in a daemon that
    // may never build with BuildKit) load on first use.
    const [{ bridgeSession, sessionMetadata }, { serveControl }, { landImage }] = await Promise.all([
      import('./session-bridge.js'),
      import('./control-proxy.js'),
      import('./land-image.js'),
    ]);
    const sock = await this.daemon.acquire();
    try {
      accept();
      if (kind === 'session') return await bridgeSession(socket, head, sock, sessionMetadata(rawHeaders));
      return await serveControl(socket, head, sock, {
        logger: this.logger,
        land: async (resp, names) => {
          const id = await landImage(this.daemon.contentDir, resp, names, this.into);
          this.logger.debug({ names, id }, 'landed a BuildKit image');
          if (id !== undefined) this.into.tagged?.(id, names);
          return id;
        },
      });
    } finally {
      this.daemon.release();
    }
  }

  async shutdown(): Promise<void> {
    await this.daemon.stop();
    this.registry.close();
  }
}

/** Pinned blobs of a landing a killed daemon left behind (land-image.ts). */
async function removeLandings(stateDir: string): Promise<void> {
  const names = await readdir(stateDir).catch(() => [] as string[]);
  for (const n of names) if (n.startsWith(LANDING_PREFIX)) await rm(join(stateDir, n), { recursive: true, force: true });
}
