/** The image operations behind the API: each call resolves names against the store and answers domain values. */
import type { Readable } from 'node:stream';
import type {
  DistributionInspect,
  ImageDeletion,
  ImageDetails,
  ImageHistoryEntry,
  ImageImportParams,
  ImageListEntry,
  ImageListParams,
  ImagePruneReport,
  ImagePullParams,
  ImagePushParams,
  ImageSearchParams,
  ImageSearchResult,
  ImageService,
  ImageTransferService,
  LoginResult,
} from './interface.js';
import { conflict, invalidParameter, notFound } from '../../translate/errors.js';
import { labelMatches, parseFilters } from '../../translate/filters.js';
import { familiarMatch, familiarString, isDigest, isValidTag, parseNormalizedNamed, DEFAULT_TAG, refName, type ImageRef } from '../../translate/image-ref.js';
import {
  createdSeconds,
  imageHistory,
  imageLabels,
  imageListEntry,
  type ImageView,
} from '../../translate/image-json.js';
import { parsePlatform } from '../../translate/platform.js';
import type { JsonMessage } from '../../translate/pull-progress.js';
import { decodeRegistryAuth, type RegistryCredentials } from '../../translate/registry-auth.js';
import type { Puller } from './pull.js';
import type { ImageRecord, ImageStore } from './store.js';
import { hexOf } from './chain.js';

type PullParams = ImagePullParams;
type ImageListOptions = ImageListParams;
type ImageDeleteOptions = { force: boolean; noprune: boolean };

const LIST_FILTERS = ['dangling', 'label', 'reference', 'before', 'since', 'until'] as const;

/** fromImage + tag as dockerd combines them: a tag that is a digest makes a canonical reference. */
export function pullReference(fromImage: string, tag: string | undefined): ImageRef {
  const ref = parseNormalizedNamed(fromImage);
  if (tag === undefined || tag === '') return ref;
  const base: ImageRef = { domain: ref.domain, path: ref.path };
  if (isDigest(tag)) return { ...base, digest: tag };
  if (!isValidTag(tag)) throw invalidParameter(`invalid tag format`);
  return { ...base, tag };
}

/** The containers created from an image; they keep it (and its layers) alive. */
export type ImageUsers = (imageId: string) => { id: string; running: boolean }[];

export class EngineImageService implements ImageService {
  private users: ImageUsers = () => [];

  constructor(
    private readonly store: ImageStore,
    private readonly puller: Puller,
    private readonly driverName: string,
    private readonly transfer: ImageTransferService,
  ) {}

  /** Set once the container service exists (it is built after the images). */
  setImageUsers(users: ImageUsers): void {
    this.users = users;
  }

  push(params: ImagePushParams, emit: (m: JsonMessage) => void, signal?: AbortSignal): Promise<void> {
    return this.transfer.push(params, emit, signal);
  }

  login(creds: RegistryCredentials): Promise<LoginResult> {
    return this.transfer.login(creds);
  }

  save(names: string[]): Promise<AsyncIterable<Buffer>> {
    return this.transfer.save(names);
  }

  load(body: Readable, quiet: boolean, emit: (m: JsonMessage) => void): Promise<string[]> {
    return this.transfer.load(body, quiet, emit);
  }

  importImage(params: ImageImportParams, emit: (m: JsonMessage) => void, signal?: AbortSignal): Promise<string> {
    return this.transfer.importImage(params, emit, signal);
  }

  search(params: ImageSearchParams): Promise<ImageSearchResult[]> {
    return this.transfer.search(params);
  }

  distribution(name: string, registryAuth?: string): Promise<DistributionInspect> {
    return this.transfer.distribution(name, registryAuth);
  }

  prune(filters?: string): Promise<ImagePruneReport> {
    return this.transfer.prune(filters);
  }

  /** Validates before any output so bad input is a plain 400, then streams progress through emit. */
  async pull(params: PullParams, emit: (m: JsonMessage) => void, signal?: AbortSignal): Promise<void> {
    const ref = pullReference(params.fromImage, params.tag);
    const platform = params.platform ? parsePlatform(params.platform) : undefined;
    const creds = decodeRegistryAuth(params.registryAuth);
    await this.puller.pull({ ref, ...(platform ? { platform } : {}), ...(creds ? { creds } : {}) }, emit, signal);
  }

  private view(rec: ImageRecord): ImageView {
    const tags = rec.refs.filter((r) => r.tag !== undefined && r.digest === undefined);
    const digests = rec.refs.filter((r) => r.digest !== undefined && r.tag === undefined);
    return {
      id: rec.id,
      config: rec.config,
      repoTags: tags.map(familiarString).sort(),
      repoDigests: digests.map(familiarString).sort(),
      size: this.store.size(rec.id),
      ...(rec.lastTagTime ? { lastTagTime: rec.lastTagTime } : {}),
      ...(rec.parent !== undefined ? { parent: rec.parent } : {}),
    };
  }

  async list(opts: ImageListOptions): Promise<ImageListEntry[]> {
    const filters = parseFilters(opts.filters, LIST_FILTERS);
    const dangling = filters.get('dangling');
    if (dangling && dangling.some((d) => !['true', 'false', '1', '0'].includes(d))) throw invalidParameter(`invalid filter 'dangling=${dangling.join(',')}'`);
    const createdOf = (name: string): number => createdSeconds(this.store.record(this.store.resolve(name)).config);
    const before = filters.get('before')?.map(createdOf);
    const since = filters.get('since')?.map(createdOf);
    const patterns = filters.get('reference');
    const danglingOnly = dangling !== undefined && dangling.length > 0 ? dangling[0] === 'true' || dangling[0] === '1' : undefined;
    const parents = this.store.withChildren();
    const out: ImageListEntry[] = [];
    for (const rec of this.store.records()) {
      const view = this.view(rec);
      const created = createdSeconds(rec.config);
      // As dockerd lists: an image with neither tags nor digests is an intermediate (hidden unless
      // all=1) when other images were made from it, and dangling otherwise; dangling=true takes only
      // images without children or tags, dangling=false none of the unreferenced ones.
      const unreferenced = rec.refs.length === 0;
      if (unreferenced && parents.has(rec.id) && !opts.all) continue;
      if (danglingOnly === true && (parents.has(rec.id) || view.repoTags.length > 0)) continue;
      if (danglingOnly === false && unreferenced) continue;
      if (before && before.some((t) => created >= t)) continue;
      if (since && since.some((t) => created <= t)) continue;
      const labels = filters.get('label');
      if (labels && !labels.every((l) => labelMatches(imageLabels(rec.config), l))) continue;
      if (patterns && patterns.length > 0) {
        const tagRefs = rec.refs.filter((r) => r.tag !== undefined);
        const digestRefs = rec.refs.filter((r) => r.digest !== undefined);
        const matchTags = tagRefs.filter((r) => patterns.some((p) => familiarMatch(p, r)));
        const matchDigests = digestRefs.filter((r) => patterns.some((p) => familiarMatch(p, r)));
        if (matchTags.length === 0 && matchDigests.length === 0) continue;
        view.repoTags = matchTags.map(familiarString).sort();
        view.repoDigests = matchDigests.map(familiarString).sort();
      }
      out.push(imageListEntry(view));
    }
    return out.sort((a, b) => b.created - a.created);
  }

  async inspect(name: string): Promise<ImageDetails> {
    const rec = this.store.record(this.store.resolve(name));
    return { ...this.view(rec), graphDriver: { name: this.driverName, layerDirs: this.store.layerDirs(rec.id) } };
  }

  async history(name: string): Promise<ImageHistoryEntry[]> {
    const rec = this.store.record(this.store.resolve(name));
    // dockerd puts the IDs of the parent chain (build steps, committed images) on the rows below the top.
    const lineage = this.store.lineage(rec.id).map((id) => {
      const v = this.view(this.store.record(id));
      return { id: v.id, repoTags: v.repoTags };
    });
    return imageHistory(this.view(rec), rec.layers.map((l) => this.store.layer(l)?.size ?? 0), lineage);
  }

  async tag(name: string, repo: string, tag: string | undefined): Promise<void> {
    const id = this.store.resolve(name);
    if (repo === '') throw invalidParameter('repository name must have at least one component');
    const parsed = parseNormalizedNamed(repo);
    if (parsed.digest !== undefined) throw invalidParameter('refusing to create a tag with a digest reference');
    const t = tag !== undefined && tag !== '' ? tag : (parsed.tag ?? DEFAULT_TAG);
    if (!isValidTag(t)) throw invalidParameter('invalid tag format');
    await this.store.tag(id, { domain: parsed.domain, path: parsed.path, tag: t });
  }

  async remove(name: string, opts: ImageDeleteOptions): Promise<ImageDeletion[]> {
    const found = this.store.lookup(name);
    if (!found) throw notFound(`No such image: ${name}`);
    const { id } = found;
    const out: ImageDeletion[] = [];
    const users = this.users(id);
    const short = hexOf(id).slice(0, 12);
    // dockerd: an image others were made from can never be deleted by ID, not even forced.
    if (!found.ref && this.store.children(id).length > 0) {
      throw conflict(`conflict: unable to delete ${short} (cannot be forced) - image has dependent child images`);
    }
    const lastReference = !found.ref || this.referencesLeftAfterUntag(id, found.ref) === 0;
    // dockerd: a running container's image can never go; a stopped one's only with force.
    const running = users.find((u) => u.running);
    if (running && lastReference) {
      throw conflict(`conflict: unable to delete ${found.ref ? familiarString(found.ref) : short} (cannot be forced) - image is being used by running container ${running.id.slice(0, 12)}`);
    }
    // An image a pull, build, commit, load or import holds (leases.ts) is treated like one a running
    // container uses: by ID it is refused even forced; by a reference only the untag happens and
    // the image stays (untagged) for the operation, as dockerd keeps a running container's image.
    if (!found.ref && lastReference && this.store.imageLeased(id)) {
      throw conflict(`conflict: unable to delete ${short} (cannot be forced) - image is being used by an operation in progress`);
    }
    if (users.length > 0 && lastReference && !opts.force) {
      throw found.ref
        ? conflict(`conflict: unable to remove repository reference "${familiarString(found.ref)}" (must force) - container ${users[0].id.slice(0, 12)} is using its referenced image ${short}`)
        : conflict(`conflict: unable to delete ${short} (must be forced) - image is being used by stopped container ${users[0].id.slice(0, 12)}`);
    }
    if (found.ref) {
      const ref = found.ref;
      await this.store.untag(ref);
      out.push({ untagged: familiarString(ref) });
      let remaining = this.store.record(id).refs;
      // Untagging the last tag of a repository also drops that repository's digest references.
      if (ref.digest === undefined && !remaining.some((r) => r.digest === undefined && refName(r) === refName(ref))) {
        for (const r of remaining.filter((x) => x.digest !== undefined && refName(x) === refName(ref))) {
          await this.store.untag(r);
          out.push({ untagged: familiarString(r) });
        }
        remaining = this.store.record(id).refs;
      }
      if (remaining.length > 0) return out;
      // Once the last reference is gone dockerd deletes the image only quietly: one with children stays, untagged.
      if (this.store.children(id).length > 0) return out;
    } else {
      const refs = this.store.record(id).refs;
      const repos = new Set(refs.map(refName));
      if (repos.size > 1 && !opts.force) {
        throw conflict(`conflict: unable to delete ${hexOf(id).slice(0, 12)} (must be forced) - image is referenced in multiple repositories`);
      }
      for (const r of refs) {
        await this.store.untag(r);
        out.push({ untagged: familiarString(r) });
      }
    }
    // Forced with stopped containers on it: untagged, but its layers stay for those containers' overlays.
    if (users.length > 0 || this.store.imageLeased(id)) return out;
    // Then, unless noprune, its untagged parents that nothing else holds (build steps), each with its layers.
    const { deleted } = await this.store.deleteWithParents(id, !opts.noprune, (p) => this.users(p).length > 0);
    for (const d of deleted) out.push({ deleted: d });
    return out;
  }

  /** How many references an untag of `ref` leaves (the last tag of a repository takes its digests along). */
  private referencesLeftAfterUntag(id: string, ref: ImageRef): number {
    const name = familiarString(ref);
    let left = this.store.record(id).refs.filter((r) => familiarString(r) !== name);
    if (ref.digest === undefined && !left.some((r) => r.digest === undefined && refName(r) === refName(ref))) {
      left = left.filter((r) => !(r.digest !== undefined && refName(r) === refName(ref)));
    }
    return left.length;
  }

  count(): number {
    return this.store.count();
  }
}
