/**
 * The container tools behind the API: archive (stat, get, put), export, changes and commit. Each
 * borrows the container's rootfs through RootfsLeases, so they work on stopped containers too. The
 * archive calls see the container's volumes and binds too, as dockerd's do; export and changes do
 * not, as in dockerd. All file work on the container's trees runs in the in-root helper (in-root.ts).
 */
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { CommitParams, ContainerToolsService, FilesystemChange, PutArchiveOptions } from './tools-interface.js';
import type { ContainerRecord } from '../../translate/container-record.js';
import { invalidParameter } from '../../translate/errors.js';
import type { ImageContainerConfig } from '../../translate/image-changes.js';
import { DEFAULT_TAG, familiarString, isValidTag, parseNormalizedNamed, type ImageRef } from '../../translate/image-ref.js';
import { encodePathStat } from '../../translate/path-stat.js';
import type { ToolStream } from '../exec.js';
import type { ImageStore } from '../images/store.js';
import type { EngineVolumeService } from '../volumes/service.js';
import { drain, extractInto, statPath, tarPath, tarRootfs, type ArchiveRoot } from './archive.js';
import { containerChanges, listUpper } from './changes.js';
import { commitContainer } from './commit.js';
import { archiveMountSources } from './mount-plan.js';
import { rootfsPaths } from './rootfs.js';
import type { RootfsLease, RootfsLeases } from './rootfs-lease.js';
import type { EventBus } from '../events/bus.js';
import { tagEvent } from '../events/image-events.js';
import { containerEventAttributes } from '../../translate/events.js';
import type { ContainerGate } from './gate.js';
import type { ContainerStore } from './store.js';

export interface ContainerToolsDeps {
  store: ContainerStore;
  images: ImageStore;
  /** The rootfs borrows, shared with the lifecycle: a removal waits for them (remove.ts). */
  leases: RootfsLeases;
  logger: Logger;
  /** The volumes behind the containers' mount points, attached for the archive calls. */
  volumes: EngineVolumeService;
  /** Runs `work` with the container frozen where that is possible (commit's pause=true); called under the container's lock. */
  whileFrozen?: <T>(rec: ContainerRecord, work: () => Promise<T>) => Promise<T>;
  /** The containers' locks and state machine: a commit runs under its container's lock, a borrow is taken under it. */
  gate: ContainerGate;
  /** A commit's events: the new name's image `tag`, then the container's `commit`. */
  events?: EventBus;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

/** A rootfs borrowed for an archive call, with the volumes and binds the helper attaches. */
interface BorrowedRoot extends ArchiveRoot {
  release(): Promise<void>;
}

export class EngineContainerTools implements ContainerToolsService {
  private readonly leases: RootfsLeases;

  constructor(private readonly deps: ContainerToolsDeps) {
    this.leases = deps.leases;
  }

  /** The rootfs borrowed under the container's lock: no start, exit or removal is half-way while it is mounted. */
  private async borrow(ref: string): Promise<{ rec: ContainerRecord; lease: RootfsLease }> {
    return this.deps.gate.must(ref, 'archive', async (rec) => ({ rec, lease: await this.leases.acquire(rec) }));
  }

  /** The rootfs, and the volumes and binds the helper attaches in its own mount namespace. */
  private async archiveRoot(ref: string): Promise<BorrowedRoot & { rec: ContainerRecord }> {
    const { rec, lease } = await this.borrow(ref);
    try {
      const mounts = await archiveMountSources(rec.mounts ?? [], this.deps.volumes);
      return { rec, root: lease.root, mounts, release: () => lease.release() };
    } catch (err) {
      await lease.release();
      throw err;
    }
  }

  private async withArchiveRoot<T>(ref: string, work: (tree: ArchiveRoot, rec: ContainerRecord) => Promise<T>): Promise<T> {
    const borrowed = await this.archiveRoot(ref);
    try {
      return await work(borrowed, borrowed.rec);
    } finally {
      await borrowed.release();
    }
  }

  /**
   * The tar's output as the response body; the rootfs (and the view's mounts, once tar has let go of
   * them) is given back however the stream ends, and before a complete body ends, as dockerd closes
   * the archive before its handler returns.
   */
  private leasedStream(tar: ToolStream, lease: Pick<RootfsLease, 'release'>): Readable {
    let released: Promise<void> | undefined;
    const release = (): Promise<void> =>
      (released ??= (async () => {
        tar.kill();
        await tar.done.catch(() => undefined);
        await lease.release();
      })().catch((err: unknown) => this.deps.logger.warn({ err }, 'releasing a container rootfs failed')));
    const out = Readable.from(
      (async function* () {
        try {
          for await (const chunk of tar.stdout) yield chunk as Buffer;
          // A tar that failed half-way must not look like a complete archive: the stream errors.
          await tar.done;
        } finally {
          await release();
        }
      })(),
    );
    out.once('close', () => void release());
    return out;
  }

  async statPath(ref: string, path: string): Promise<string> {
    return this.withArchiveRoot(ref, async (tree) => encodePathStat(await statPath(tree, path, ref)));
  }

  async getArchive(ref: string, path: string): Promise<{ stat: string; content: Readable }> {
    const borrowed = await this.archiveRoot(ref);
    try {
      const found = await tarPath(borrowed, path, ref);
      return { stat: encodePathStat(found.stat), content: this.leasedStream(found.tar, borrowed) };
    } catch (err) {
      await borrowed.release();
      throw err;
    }
  }

  async putArchive(ref: string, path: string, body: Readable, opts: PutArchiveOptions): Promise<void> {
    try {
      await this.withArchiveRoot(ref, (tree, rec) =>
        extractInto(body, tree, {
          tmpDir: join(this.deps.store.dir(rec.id), 'archive-tmp'),
          path,
          container: ref,
          noOverwriteDirNonDir: opts.noOverwriteDirNonDir,
          ...(opts.copyUIDGID && rec.config.User ? { user: rec.config.User } : {}),
          // Into a volume or bind only when it is writable; into the rootfs only when that is.
          holders: (rec.mounts ?? []).map((p) => ({ destination: p.request.destination, readOnly: p.request.readOnly })),
          readonlyRootfs: rec.hostConfig.ReadonlyRootfs === true,
        }),
      );
    } finally {
      // A refused upload is still read to its end, so the client sees the reply and not a reset.
      await drain(body);
    }
  }

  async exportRootfs(ref: string): Promise<Readable> {
    const { lease } = await this.borrow(ref);
    try {
      return this.leasedStream(tarRootfs(lease.root), lease);
    } catch (err) {
      await lease.release();
      throw err;
    }
  }

  async changes(ref: string): Promise<FilesystemChange[]> {
    const rec = this.deps.store.find(ref);
    const upper = rootfsPaths(this.deps.store.dir(rec.id)).upper;
    return containerChanges(await listUpper(upper), this.deps.images.layerDirs(rec.imageId));
  }

  async commit(params: CommitParams): Promise<string> {
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
    // Under the container's lock for its whole length: no exit, start or removal changes the upper dir's owner meanwhile.
    const id = await this.deps.gate.must(params.container, 'commit', async (rec) => {
      const upper = rootfsPaths(this.deps.store.dir(rec.id)).upper;
      // As dockerd's CreateImageFromContainer: the new name's `tag` event, then the container's
      // `commit`, both before the container is thawed.
      const commit = async (): Promise<string> => {
        const imageId = await commitContainer(this.deps.images, rec, upper, {
          changes: params.changes,
          ...(ref ? { ref } : {}),
          ...(params.comment ? { comment: params.comment } : {}),
          ...(params.author ? { author: params.author } : {}),
          ...(config ? { config } : {}),
        });
        const imageRef = ref ? familiarString(ref) : '';
        if (ref && this.deps.events) tagEvent(this.deps.events, imageId, imageRef);
        this.deps.events?.emit('container', 'commit', rec.id, containerEventAttributes(rec, { comment: params.comment ?? '', imageID: imageId, imageRef }));
        return imageId;
      };
      return params.pause && this.deps.whileFrozen ? this.deps.whileFrozen(rec, commit) : commit();
    });
    return id;
  }
}
