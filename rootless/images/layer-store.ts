/**
 * The layers half of the image store, under <dataRoot>/images/layers/<chainhex>/:
 *   diff/          the layer unpacked once, in kernel-overlay whiteout format
 *   layer.json     its LayerMeta
 *   blob-<hex>     the layer as a registry blob (compressed as pulled, or the tar an import/load
 *                  brought), kept for push and save
 * Which layers are in use is the image index's business (store.ts); this file keeps their
 * directories and metadata consistent: a layer is moved into place whole, and removed by renaming
 * it out of the way first.
 */
import { existsSync } from 'node:fs';
import { readFile, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { notFound } from '../../translate/errors.js';
import { writeFileAtomic } from '../fs-atomic.js';
import { hexOf } from './chain.js';

/** A layer's registry form. */
export interface LayerBlob {
  digest: string;
  size: number;
  mediaType: string;
  /** Repositories ("domain/path") known to hold this blob: candidates for a cross-repository mount. */
  sources: string[];
}

export interface LayerMeta {
  chainId: string;
  diffId: string;
  /** Bytes of the unpacked content, as dockerd counts it (regular files and links, hard links once). */
  size: number;
  /** Absent for layers stored before blobs were kept. */
  blob?: LayerBlob;
}

let removals = 0;

export class LayerStore {
  private readonly meta = new Map<string, LayerMeta>();
  private writing: Promise<void> = Promise.resolve();
  /** Layer directories being removed, so a re-made layer waits for the old one to be gone. */
  private readonly removing = new Map<string, Promise<void>>();

  /** `root` is the image store's root: layers/ and tmp/ live under it. */
  constructor(private readonly root: string) {}

  /** Reads layer metadata, removing the directories of layers not in `used` (chain hexes) or unreadable. */
  async load(used: ReadonlySet<string>): Promise<void> {
    for (const name of await readdir(join(this.root, 'layers'))) {
      const dir = join(this.root, 'layers', name);
      if (!used.has(name)) {
        await rm(dir, { recursive: true, force: true });
        continue;
      }
      try {
        const meta = JSON.parse(await readFile(join(dir, 'layer.json'), 'utf8')) as LayerMeta;
        this.meta.set(meta.chainId, meta);
      } catch {
        await rm(dir, { recursive: true, force: true });
      }
    }
  }

  path(chainId: string): string {
    return join(this.root, 'layers', hexOf(chainId));
  }

  has(chainId: string): boolean {
    return this.meta.has(chainId);
  }

  get(chainId: string): LayerMeta | undefined {
    return this.meta.get(chainId);
  }

  size(chainId: string): number {
    return this.meta.get(chainId)?.size ?? 0;
  }

  /** Move an unpacked layer (a dir holding diff/) into place; a concurrent identical layer wins harmlessly. */
  async commit(staged: string, meta: LayerMeta): Promise<void> {
    const target = this.path(meta.chainId);
    await this.removing.get(meta.chainId);
    await writeFileAtomic(join(staged, 'layer.json'), JSON.stringify(meta));
    if (!existsSync(target)) {
      try {
        await rename(staged, target);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      }
    }
    await rm(staged, { recursive: true, force: true });
    this.meta.set(meta.chainId, meta);
  }

  /** Where a layer's blob lives (existing or to be written), by blob digest. */
  blobPath(chainId: string, digest: string): string {
    return join(this.path(chainId), `blob-${hexOf(digest)}`);
  }

  /** The layer's kept blob and its file, if any. */
  blob(chainId: string): (LayerBlob & { path: string }) | undefined {
    const blob = this.meta.get(chainId)?.blob;
    return blob ? { ...blob, path: this.blobPath(chainId, blob.digest) } : undefined;
  }

  /** Replace a layer's blob with `file` (moved in); the old blob file goes once the metadata points elsewhere. */
  async setBlob(chainId: string, file: string, blob: Omit<LayerBlob, 'sources'>): Promise<void> {
    const meta = this.meta.get(chainId);
    if (!meta) throw notFound(`layer ${chainId} is not stored`);
    const old = meta.blob;
    if (old?.digest === blob.digest) return;
    await rename(file, this.blobPath(chainId, blob.digest));
    await this.writeMeta({ ...meta, blob: { ...blob, sources: [] } });
    if (old) await rm(this.blobPath(chainId, old.digest), { force: true });
  }

  /** Remember that a repository holds the layer's blob (after a pull from it or a push to it). */
  async addBlobSource(chainId: string, repository: string): Promise<void> {
    const meta = this.meta.get(chainId);
    if (!meta?.blob || meta.blob.sources.includes(repository)) return;
    await this.writeMeta({ ...meta, blob: { ...meta.blob, sources: [...meta.blob.sources, repository].slice(-8) } });
  }

  private async writeMeta(meta: LayerMeta): Promise<void> {
    this.meta.set(meta.chainId, meta);
    // Serialised so an older snapshot never lands after a newer one.
    const next = this.writing.then(() => writeFileAtomic(join(this.path(meta.chainId), 'layer.json'), JSON.stringify(this.meta.get(meta.chainId))));
    this.writing = next.catch(() => undefined);
    await next;
  }

  /** Forgets the layer at once (synchronously), then removes its directory. */
  remove(chainId: string): Promise<void> {
    this.meta.delete(chainId);
    // Rename first so a crash mid-delete never leaves a half-deleted layer under its real name.
    const doomed = join(this.root, 'tmp', `deleted-${hexOf(chainId)}-${Date.now()}-${removals++}`);
    const work = rename(this.path(chainId), doomed)
      .catch(() => undefined)
      .then(() => rm(doomed, { recursive: true, force: true }))
      .finally(() => {
        if (this.removing.get(chainId) === work) this.removing.delete(chainId);
      });
    this.removing.set(chainId, work);
    return work;
  }
}
