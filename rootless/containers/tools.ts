/**
 * The container tools behind the API: archive (stat, get, put), export, changes and commit. Each
 * borrows the container's rootfs through RootfsLeases, so they work on stopped containers too.
 */
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { CommitParams, ContainerToolsService, FilesystemChangeJson, PutArchiveOptions } from '../../api/container-tools-service.js';
import type { ContainerRecord } from '../../translate/container-record.js';
import { forbidden, invalidParameter } from '../../translate/errors.js';
import type { ImageContainerConfig } from '../../translate/image-changes.js';
import { DEFAULT_TAG, isValidTag, parseNormalizedNamed, type ImageRef } from '../../translate/image-ref.js';
import { encodePathStat } from '../../translate/path-stat.js';
import type { ToolStream } from '../exec.js';
import type { ImageStore } from '../images/store.js';
import { drain, extractInto, resolveExtractionPoint, statOrNotFound, tarPath, tarRootfs } from './archive.js';
import { containerChanges } from './changes.js';
import { commitContainer } from './commit.js';
import { containerOwner } from './copy-owner.js';
import { rootfsPaths } from './rootfs.js';
import { RootfsLeases, type RootfsLease } from './rootfs-lease.js';
import type { ContainerStore } from './store.js';

export interface ContainerToolsDeps {
  store: ContainerStore;
  images: ImageStore;
  /** True while the lifecycle owns the container's mount (running or starting). */
  inUse: (id: string) => boolean;
  logger: Logger;
  /** Runs `work` with the container frozen where that is possible (commit's pause=true). */
  whileFrozen?: <T>(id: string, work: () => Promise<T>) => Promise<T>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

export class EngineContainerTools implements ContainerToolsService {
  readonly leases: RootfsLeases;

  constructor(private readonly deps: ContainerToolsDeps) {
    this.leases = new RootfsLeases({ images: deps.images, dir: (id) => deps.store.dir(id), inUse: deps.inUse });
  }

  private async borrow<T>(rec: ContainerRecord, work: (lease: RootfsLease) => Promise<T>): Promise<T> {
    const lease = await this.leases.acquire(rec);
    try {
      return await work(lease);
    } finally {
      await lease.release();
    }
  }

  /** The tar's output as the response body; the rootfs is given back however the stream ends. */
  private leasedStream(tar: ToolStream, lease: RootfsLease): Readable {
    let cleaned = false;
    const cleanup = (): void => {
      if (cleaned) return;
      cleaned = true;
      tar.kill();
      void lease.release().catch((err: unknown) => this.deps.logger.warn({ err }, 'releasing a container rootfs failed'));
    };
    const out = Readable.from(
      (async function* () {
        try {
          for await (const chunk of tar.stdout) yield chunk as Buffer;
          // A tar that failed half-way must not look like a complete archive: the stream errors.
          await tar.done;
        } finally {
          cleanup();
        }
      })(),
    );
    out.once('close', cleanup);
    return out;
  }

  async statPath(ref: string, path: string): Promise<string> {
    const rec = this.deps.store.find(ref);
    return this.borrow(rec, async (lease) => encodePathStat((await statOrNotFound(lease.root, path, ref)).stat));
  }

  async getArchive(ref: string, path: string): Promise<{ stat: string; content: Readable }> {
    const rec = this.deps.store.find(ref);
    const lease = await this.leases.acquire(rec);
    try {
      const found = await statOrNotFound(lease.root, path, ref);
      return { stat: encodePathStat(found.stat), content: this.leasedStream(tarPath(found), lease) };
    } catch (err) {
      await lease.release();
      throw err;
    }
  }

  async putArchive(ref: string, path: string, body: Readable, opts: PutArchiveOptions): Promise<void> {
    try {
      const rec = this.deps.store.find(ref);
      await this.borrow(rec, async (lease) => {
        const destHost = await resolveExtractionPoint(lease.root, path, ref);
        if (rec.hostConfig.ReadonlyRootfs === true) throw forbidden('container rootfs is marked read-only');
        const owner = opts.copyUIDGID ? await containerOwner(lease.root, rec.config.User) : undefined;
        await extractInto(body, {
          root: lease.root,
          tmpDir: join(this.deps.store.dir(rec.id), 'archive-tmp'),
          destHost,
          noOverwriteDirNonDir: opts.noOverwriteDirNonDir,
          ...(owner ? { owner } : {}),
        });
      });
    } finally {
      // A refused upload is still read to its end, so the client sees the reply and not a reset.
      await drain(body);
    }
  }

  async exportRootfs(ref: string): Promise<Readable> {
    const rec = this.deps.store.find(ref);
    const lease = await this.leases.acquire(rec);
    try {
      return this.leasedStream(await tarRootfs(lease.root), lease);
    } catch (err) {
      await lease.release();
      throw err;
    }
  }

  async changes(ref: string): Promise<FilesystemChangeJson[]> {
    const rec = this.deps.store.find(ref);
    const upper = rootfsPaths(this.deps.store.dir(rec.id)).upper;
    return containerChanges(upper, this.deps.images.layerDirs(rec.imageId));
  }

  async commit(params: CommitParams): Promise<{ Id: string }> {
    const rec = this.deps.store.find(params.container);
    let ref: ImageRef | undefined;
    if (params.repo) {
      const parsed = parseNormalizedNamed(params.repo);
      if (parsed.digest !== undefined) throw invalidParameter('refusing to create a tag with a digest reference');
      const tag = params.tag ? params.tag : (parsed.tag ?? DEFAULT_TAG);
      if (!isValidTag(tag)) throw invalidParameter('invalid tag format');
      ref = { domain: parsed.domain, path: parsed.path, tag };
    } else if (params.tag) {
      throw invalidParameter('tag is specified without a repository');
    }
    const config = isObject(params.config) ? (params.config as ImageContainerConfig) : undefined;
    const upper = rootfsPaths(this.deps.store.dir(rec.id)).upper;
    const commit = (): Promise<string> =>
      commitContainer(this.deps.images, rec, upper, {
        changes: params.changes,
        ...(ref ? { ref } : {}),
        ...(params.comment ? { comment: params.comment } : {}),
        ...(params.author ? { author: params.author } : {}),
        ...(config ? { config } : {}),
      });
    const id = params.pause && this.deps.whileFrozen ? await this.deps.whileFrozen(rec.id, commit) : await commit();
    return { Id: id };
  }
}
