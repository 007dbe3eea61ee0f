/**
 * The image store under <dataRoot>/images:
 *   blobs/sha256/<hex>        image configs (an image's ID is its config digest)
 *   layers/<chainhex>/        each layer, once (layer-store.ts)
 *   index.json                images and their tag/digest references, replaced atomically
 *   tmp/                      work in progress; anything here after a crash is garbage
 * Writes go to tmp/ and are renamed into place, and index.json is written last, so a crash at any
 * point leaves either the old state or the new one.
 *
 * Operations that rely on layers or images before the index references them hold leases
 * (leases.ts): a deletion never frees a leased layer or image; a layer it held back is freed when
 * the last lease on it ends and nothing references it.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { notFound } from '../../translate/errors.js';
import { parseNormalizedNamed, refString, type ImageRef } from '../../translate/image-ref.js';
import { writeFileAtomic } from '../fs-atomic.js';
import { hexOf } from './chain.js';
import { childrenOf, imagesWithChildren, lineageOf, parentOf, type StoreIndex } from './image-index.js';
import { lookupImage } from './image-lookup.js';
import { LayerStore, type LayerBlob, type LayerMeta } from './layer-store.js';
import { LeaseRegistry, type Lease } from './leases.js';
import { parseImageConfig, type ImageConfig } from '../../translate/image-config.js';

export type { LayerBlob, LayerMeta } from './layer-store.js';

export interface ImageRecord {
  id: string;
  config: ImageConfig;
  layers: string[];
  lastTagTime?: string;
  /** Parsed references pointing here, tags and digests. */
  refs: ImageRef[];
  /** The parent image's ID, when it is still stored. */
  parent?: string;
}

export class ImageStore {
  private index: StoreIndex = { version: 1, images: {}, refs: {} };
  private readonly configs = new Map<string, ImageConfig>();
  private readonly layers: LayerStore;
  private writing: Promise<void> = Promise.resolve();
  /** In-flight leases; ending one frees the unreferenced layers it held. */
  readonly leases = new LeaseRegistry((layers) => this.freeUnreferenced(layers));
  /** Layers a deletion released while a lease held them: freed when the lease ends. */
  private readonly heldBack = new Set<string>();

  private constructor(readonly root: string) {
    this.layers = new LayerStore(root);
  }

  static async open(root: string): Promise<ImageStore> {
    const store = new ImageStore(root);
    await store.load();
    return store;
  }

  private get indexPath(): string {
    return join(this.root, 'index.json');
  }

  private async load(): Promise<void> {
    await rm(join(this.root, 'tmp'), { recursive: true, force: true });
    await Promise.all(['blobs/sha256', 'layers', 'tmp'].map((d) => mkdir(join(this.root, d), { recursive: true, mode: 0o700 })));
    const text = await readFile(this.indexPath, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (text !== undefined) this.index = JSON.parse(text) as StoreIndex;
    for (const id of Object.keys(this.index.images)) {
      try {
        this.configs.set(id, parseImageConfig(await readFile(this.blobPath(id))));
      } catch {
        // An image whose config is gone cannot be used; forget it rather than fail every listing.
        delete this.index.images[id];
      }
    }
    for (const [ref, id] of Object.entries(this.index.refs)) if (!this.index.images[id]) delete this.index.refs[ref];
    await this.loadLayers();
    for (const entry of Object.values(this.index.images)) if (entry.parent !== undefined && !this.index.images[entry.parent]) delete entry.parent;
    // Configs written by a pull that died before recording its image.
    for (const hex of await readdir(join(this.root, 'blobs', 'sha256'))) {
      if (!this.index.images[`sha256:${hex}`]) await rm(join(this.root, 'blobs', 'sha256', hex), { force: true });
    }
  }

  /** Reads layer metadata and removes layers no image uses (left by a pull that was killed). */
  private async loadLayers(): Promise<void> {
    await this.layers.load(new Set(Object.values(this.index.images).flatMap((i) => i.layers.map(hexOf))));
    for (const [id, img] of Object.entries(this.index.images)) {
      if (img.layers.some((l) => !this.layers.has(l))) this.dropImage(id);
    }
  }

  private dropImage(id: string): void {
    delete this.index.images[id];
    this.configs.delete(id);
    for (const [ref, target] of Object.entries(this.index.refs)) if (target === id) delete this.index.refs[ref];
  }

  private async persist(): Promise<void> {
    const data = JSON.stringify(this.index);
    // Serialised so an older snapshot never lands after a newer one.
    const next = this.writing.then(() => writeFileAtomic(this.indexPath, data));
    this.writing = next.catch(() => undefined);
    await next;
  }

  blobPath(digest: string): string {
    return join(this.root, 'blobs', 'sha256', hexOf(digest));
  }

  layerPath(chainId: string): string {
    return this.layers.path(chainId);
  }

  /** A fresh private directory under tmp/ for a download or an unpack in progress. */
  async tempDir(prefix: string): Promise<string> {
    return mkdtemp(join(this.root, 'tmp', `${prefix}-`));
  }

  hasLayer(chainId: string): boolean {
    return this.layers.has(chainId);
  }

  layer(chainId: string): LayerMeta | undefined {
    return this.layers.get(chainId);
  }

  /** Move an unpacked layer (a dir holding diff/) into place; a concurrent identical layer wins harmlessly. */
  commitLayer(staged: string, meta: LayerMeta): Promise<void> {
    return this.layers.commit(staged, meta);
  }

  /** Where a layer's blob lives (existing or to be written), by blob digest. */
  layerBlobPath(chainId: string, digest: string): string {
    return this.layers.blobPath(chainId, digest);
  }

  /** The layer's kept blob and its file, if any. */
  layerBlob(chainId: string): (LayerBlob & { path: string }) | undefined {
    return this.layers.blob(chainId);
  }

  /** Replace a layer's blob with `file` (moved in); the old blob file goes once the metadata points elsewhere. */
  setLayerBlob(chainId: string, file: string, blob: Omit<LayerBlob, 'sources'>): Promise<void> {
    return this.layers.setBlob(chainId, file, blob);
  }

  /** Remember that a repository holds the layer's blob (after a pull from it or a push to it). */
  addBlobSource(chainId: string, repository: string): Promise<void> {
    return this.layers.addBlobSource(chainId, repository);
  }

  async putConfig(id: string, bytes: Buffer): Promise<void> {
    if (!existsSync(this.blobPath(id))) await writeFileAtomic(this.blobPath(id), bytes, 0o644);
    this.configs.set(id, parseImageConfig(bytes));
  }

  has(id: string): boolean {
    return this.index.images[id] !== undefined;
  }

  refTarget(ref: ImageRef): string | undefined {
    return this.index.refs[refString(ref)];
  }

  /**
   * Record an image (its config and layers must be stored) and point references at it, in one index
   * write. `parent` links it to the image it was made from (kept when a later add names none).
   * Returns the image each reference pointed at before.
   */
  async addImage(id: string, layers: string[], refs: ImageRef[], now = new Date(), parent?: string): Promise<(string | undefined)[]> {
    const entry = this.index.images[id] ?? { layers, added: now.toISOString() };
    entry.layers = layers;
    if (parent !== undefined && parent !== id && this.index.images[parent]) entry.parent = parent;
    if (refs.some((r) => r.tag !== undefined)) entry.lastTagTime = now.toISOString();
    this.index.images[id] = entry;
    const before = refs.map((r) => this.index.refs[refString(r)]);
    for (const r of refs) this.index.refs[refString(r)] = id;
    await this.persist();
    return before;
  }

  async tag(id: string, ref: ImageRef, now = new Date()): Promise<void> {
    const entry = this.index.images[id];
    if (!entry) throw notFound(`No such image: ${id}`);
    entry.lastTagTime = now.toISOString();
    this.index.refs[refString(ref)] = id;
    await this.persist();
  }

  async untag(ref: ImageRef): Promise<void> {
    delete this.index.refs[refString(ref)];
    await this.persist();
  }

  /**
   * Forget an image and return the layers no other image uses, top first; their dirs are removed.
   * Layers a lease holds are kept (and not returned) until it ends. Callers check imageLeased first:
   * a leased image is never deleted here.
   */
  async deleteImage(id: string): Promise<string[]> {
    const entry = this.index.images[id];
    if (!entry || this.imageLeased(id)) return [];
    this.dropImage(id);
    await this.persist();
    const stillUsed = this.usedLayers();
    const released: string[] = [];
    for (const l of [...entry.layers].reverse()) {
      if (stillUsed.has(l) || !this.layers.has(l)) continue;
      // A pull, build, commit, load or import relies on it: kept until its lease ends.
      if (this.leases.layerLeased(l)) this.heldBack.add(l);
      else released.push(l);
    }
    await Promise.all(released.map((l) => this.removeLayer(l)));
    return released;
  }

  private usedLayers(): Set<string> {
    return new Set(Object.values(this.index.images).flatMap((i) => i.layers));
  }

  private removeLayer(chainId: string): Promise<void> {
    this.heldBack.delete(chainId);
    return this.layers.remove(chainId);
  }

  /**
   * After a lease ended: frees, of the layers it held and those deletions held back, each one no
   * image references and no other lease holds (a failed pull's layers, an rmi'd image's layers).
   */
  private async freeUnreferenced(candidates: readonly string[]): Promise<void> {
    const used = this.usedLayers();
    const doomed = [...new Set([...candidates, ...this.heldBack])].filter((l) => this.layers.has(l) && !used.has(l) && !this.leases.layerLeased(l));
    for (const l of this.heldBack) if (!this.layers.has(l) || used.has(l)) this.heldBack.delete(l);
    await Promise.all(doomed.map((l) => this.removeLayer(l)));
  }

  /** A new lease; release it in a finally. */
  lease(): Lease {
    return this.leases.take();
  }

  /** Holds a stored image and its layers under `lease`; throws not-found when it is gone. */
  leaseImage(lease: Lease, id: string): void {
    const entry = this.index.images[id];
    if (!entry) throw notFound(`No such image: ${id}`);
    lease.image(id);
    lease.layers(entry.layers);
  }

  /** Whether an operation in flight holds the image. */
  imageLeased(id: string): boolean {
    return this.leases.imageLeased(id);
  }

  /**
   * Delete an image and, with `prune`, then its parent, grandparent, … for as long as each has no
   * references, no other children and `keep` (containers using it) says no: dockerd's rmi without
   * noprune. Returns the deleted IDs in dockerd's order (each image, then the layers it released)
   * and the bytes those layers held.
   */
  async deleteWithParents(id: string, prune: boolean, keep: (id: string) => boolean): Promise<{ deleted: string[]; reclaimed: number }> {
    const deleted: string[] = [];
    let reclaimed = 0;
    const seen = new Set<string>();
    let next: string | undefined = id;
    while (next !== undefined && !seen.has(next) && this.has(next)) {
      seen.add(next);
      const current: string = next;
      // A leased image stays, like one a container uses (the lease's holder may still build on it).
      if (this.imageLeased(current)) break;
      if (current !== id && (this.referenced(current) || this.children(current).length > 0 || keep(current))) break;
      const parent = prune ? this.parent(current) : undefined;
      const sizes = new Map(this.index.images[current].layers.map((l) => [l, this.layers.size(l)]));
      deleted.push(current);
      for (const layer of await this.deleteImage(current)) {
        deleted.push(layer);
        reclaimed += sizes.get(layer) ?? 0;
      }
      next = parent;
    }
    return { deleted, reclaimed };
  }

  /** The image `id` was made from, if it is still stored. */
  parent(id: string): string | undefined {
    return parentOf(this.index, id);
  }

  /** Images made from `id` (dockerd's dependent child images). */
  children(id: string): string[] {
    return childrenOf(this.index, id);
  }

  /** Every image that has at least one child: the intermediate images a plain listing hides. */
  withChildren(): Set<string> {
    return imagesWithChildren(this.index);
  }

  /** The chain from `id` up through its parents (`id` first). */
  lineage(id: string): string[] {
    return lineageOf(this.index, id);
  }

  private referenced(id: string): boolean {
    return Object.values(this.index.refs).includes(id);
  }

  ids(): string[] {
    return Object.keys(this.index.images);
  }

  count(): number {
    return this.ids().length;
  }

  record(id: string): ImageRecord {
    const entry = this.index.images[id];
    const config = this.configs.get(id);
    if (!entry || !config) throw notFound(`No such image: ${id}`);
    const refs: ImageRef[] = [];
    for (const [ref, target] of Object.entries(this.index.refs)) if (target === id) refs.push(parseNormalizedNamed(ref));
    const parent = this.parent(id);
    return { id, config, layers: entry.layers, lastTagTime: entry.lastTagTime, refs, ...(parent !== undefined ? { parent } : {}) };
  }

  records(): ImageRecord[] {
    return this.ids().map((id) => this.record(id));
  }

  /** The image's config; throws not-found. */
  config(imageId: string): ImageConfig {
    return this.record(this.resolve(imageId)).config;
  }

  /** Lower dirs for an overlay mount, top layer first. */
  layerDirs(imageId: string): string[] {
    const rec = this.record(this.resolve(imageId));
    return [...rec.layers].reverse().map((l) => join(this.layerPath(l), 'diff'));
  }

  /** Sum of the image's layer sizes. */
  size(id: string): number {
    return (this.index.images[id]?.layers ?? []).reduce((n, l) => n + this.layers.size(l), 0);
  }

  /** The image a name means: full ID, reference (tag, digest) or unique ID prefix, in dockerd's order. */
  resolve(name: string): string {
    const found = this.lookup(name);
    if (found === undefined) throw notFound(`No such image: ${name}`);
    return found.id;
  }

  /** Like resolve, also telling whether the name was a reference (which rmi untags) rather than an ID. */
  lookup(name: string): { id: string; ref?: ImageRef } | undefined {
    return lookupImage(this.index, name);
  }
}
