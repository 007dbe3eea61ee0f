/** The image operations that move images in and out of the store: push, login, save/load, import, search, distribution, prune. */
import type { Readable } from 'node:stream';
import type { DistributionInspect, ImageDeletion, ImageImportParams, ImagePruneReport, ImagePushParams, ImageSearchParams, ImageSearchResult, ImageTransferService, LoginResult } from './interface.js';
import { invalidParameter, notFound } from '../../translate/errors.js';
import { labelMatches, parseFilters } from '../../translate/filters.js';
import { createdSeconds, imageLabels } from '../../translate/image-json.js';
import { DEFAULT_TAG, familiarName, familiarString, isValidTag, parseNormalizedNamed, refName, type ImageRef } from '../../translate/image-ref.js';
import { parsePlatform, type Platform } from '../../translate/platform.js';
import { statusMessage, type JsonMessage } from '../../translate/pull-progress.js';
import { decodeRegistryAuth, type RegistryCredentials } from '../../translate/registry-auth.js';
import type { RegistryAccess } from '../registry/access.js';
import { inspectDistribution } from './distribution.js';
import type { Loader } from './load.js';
import type { Pusher } from './push.js';
import type { SaveItem } from './save.js';
import type { ImageStore } from './store.js';

export interface TransferDeps {
  store: ImageStore;
  access: RegistryAccess;
  host: Platform;
  /** IDs of images containers use; prune keeps them. */
  usedImages: () => Promise<Set<string>>;
}

const PRUNE_FILTERS = ['dangling', 'label', 'label!', 'until'] as const;
const SEARCH_FILTERS = ['is-official', 'is-automated', 'stars'] as const;

/** dockerd's `until`: RFC 3339, a Unix timestamp, or a duration before now ("10m", "24h"). */
function untilSeconds(value: string, now: number): number {
  const dur = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)$/.exec(value);
  if (dur) {
    const mult: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
    return now / 1000 - Number(dur[1]) * mult[dur[2]];
  }
  if (/^\d+(?:\.\d+)?$/.test(value)) return Number(value);
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw invalidParameter(`invalid filter 'until=${value}'`);
  return t / 1000;
}

/**
 * Push, load, save, import, login and search load their modules on first use: a typical daemon
 * pulls and runs, and the rest would sit in its memory for nothing.
 */
export class ImageTransfer implements ImageTransferService {
  private pusher: Promise<Pusher> | undefined;
  private loader: Promise<Loader> | undefined;

  constructor(private readonly deps: TransferDeps) {}

  private getPusher(): Promise<Pusher> {
    return (this.pusher ??= import('./push.js').then((m) => new m.Pusher(this.deps.store, this.deps.access)));
  }

  private getLoader(): Promise<Loader> {
    return (this.loader ??= import('./load.js').then((m) => new m.Loader(this.deps.store, this.deps.host)));
  }

  async push(params: ImagePushParams, emit: (m: JsonMessage) => void, signal?: AbortSignal): Promise<void> {
    const parsed = parseNormalizedNamed(params.name);
    if (parsed.digest !== undefined) throw invalidParameter('cannot push a digest reference');
    const wanted = params.tag !== undefined && params.tag !== '' ? params.tag : parsed.tag;
    if (wanted !== undefined && !isValidTag(wanted)) throw invalidParameter('invalid tag format');
    const repo: ImageRef = { domain: parsed.domain, path: parsed.path };
    const creds = decodeRegistryAuth(params.registryAuth);
    emit(statusMessage(`The push refers to repository [${refName(repo)}]`));
    const tags: { tag: string; id: string }[] = [];
    for (const rec of this.deps.store.records()) {
      for (const r of rec.refs) {
        if (r.tag === undefined || r.digest !== undefined || refName(r) !== refName(repo)) continue;
        if (wanted === undefined || r.tag === wanted) tags.push({ tag: r.tag, id: rec.id });
      }
    }
    if (tags.length === 0) throw new Error(`An image does not exist locally with the tag: ${familiarName(repo)}`);
    tags.sort((a, b) => a.tag.localeCompare(b.tag));
    await (await this.getPusher()).push(repo, tags, creds, emit, signal);
  }

  async login(creds: RegistryCredentials): Promise<LoginResult> {
    const { checkLogin } = await import('../registry/login.js');
    return { identityToken: await checkLogin(this.deps.access, creds) };
  }

  async save(names: string[]): Promise<AsyncIterable<Buffer>> {
    if (names.length === 0) throw invalidParameter('no images to save');
    const items = new Map<string, SaveItem>();
    const add = (id: string, tags: ImageRef[]): void => {
      const item = items.get(id) ?? { id, tags: [] };
      for (const t of tags) if (!item.tags.some((x) => familiarString(x) === familiarString(t))) item.tags.push(t);
      items.set(id, item);
    };
    for (const name of names) {
      const repoTags = this.repositoryTags(name);
      if (repoTags.length > 0) {
        for (const { id, ref } of repoTags) add(id, [ref]);
        continue;
      }
      const found = this.deps.store.lookup(name);
      if (!found) throw notFound(`reference does not exist: No such image: ${name}`);
      add(found.id, found.ref?.tag !== undefined && found.ref.digest === undefined ? [found.ref] : []);
    }
    const [{ tarStream }, { planSave }] = await Promise.all([import('./tar-writer.js'), import('./save.js')]);
    return tarStream(await planSave(this.deps.store, [...items.values()]));
  }

  /** A bare repository name ("busybox") saves every tag of it, as dockerd does. */
  private repositoryTags(name: string): { id: string; ref: ImageRef }[] {
    let parsed: ImageRef;
    try {
      parsed = parseNormalizedNamed(name);
    } catch {
      return [];
    }
    if (parsed.tag !== undefined || parsed.digest !== undefined) return [];
    const out: { id: string; ref: ImageRef }[] = [];
    for (const rec of this.deps.store.records()) {
      for (const r of rec.refs) if (r.tag !== undefined && r.digest === undefined && refName(r) === refName(parsed)) out.push({ id: rec.id, ref: r });
    }
    return out;
  }

  async load(body: Readable, quiet: boolean, emit: (m: JsonMessage) => void): Promise<string[]> {
    return (await this.getLoader()).load(body, quiet, emit);
  }

  async importImage(params: ImageImportParams, emit: (m: JsonMessage) => void, signal?: AbortSignal): Promise<string> {
    let ref: ImageRef | undefined;
    if (params.repo !== undefined && params.repo !== '') {
      const parsed = parseNormalizedNamed(params.repo);
      if (parsed.digest !== undefined) throw invalidParameter('cannot import digest reference');
      const tag = params.tag !== undefined && params.tag !== '' ? params.tag : (parsed.tag ?? DEFAULT_TAG);
      if (!isValidTag(tag)) throw invalidParameter('invalid tag format');
      ref = { domain: parsed.domain, path: parsed.path, tag };
    }
    const platform = params.platform ? parsePlatform(params.platform) : this.deps.host;
    // dockerd names the source as the client gave it, before "http://" is added.
    const comment = params.message ? params.message : `Imported from ${params.fromSrc}`;
    const { importImage, importUrl } = await import('./import.js');
    const source = params.fromSrc === '-' ? { body: params.body } : { url: importUrl(params.fromSrc), signal, emit };
    return importImage(this.deps.store, { source, changes: params.changes, platform, comment, ...(ref ? { ref } : {}) });
  }

  async search(params: ImageSearchParams): Promise<ImageSearchResult[]> {
    const filters = parseFilters(params.filters, SEARCH_FILTERS);
    const bool = (key: string): boolean | undefined => {
      const v = filters.get(key)?.[0];
      if (v === undefined) return undefined;
      if (v !== 'true' && v !== 'false' && v !== '1' && v !== '0') throw invalidParameter(`invalid filter '${key}=${v}'`);
      return v === 'true' || v === '1';
    };
    const starsText = filters.get('stars')?.[0];
    const stars = starsText !== undefined ? Number(starsText) : undefined;
    if (stars !== undefined && !Number.isInteger(stars)) throw invalidParameter(`invalid filter 'stars=${starsText}'`);
    const isOfficial = bool('is-official');
    const isAutomated = bool('is-automated');
    const limit = params.limit !== undefined && params.limit > 0 ? Math.min(params.limit, 100) : 25;
    const { searchRegistry } = await import('../registry/search.js');
    return searchRegistry(this.deps.access, params.term, limit, {
      ...(isOfficial !== undefined ? { isOfficial } : {}),
      ...(isAutomated !== undefined ? { isAutomated } : {}),
      ...(stars !== undefined ? { minStars: stars } : {}),
    });
  }

  async distribution(name: string, registryAuth?: string): Promise<DistributionInspect> {
    const creds = decodeRegistryAuth(registryAuth);
    return inspectDistribution(this.deps.access, parseNormalizedNamed(name), creds);
  }

  /**
   * Dangling images by default; `dangling=false` takes every image no container uses. As in dockerd,
   * an untagged image other images were made from (a build step) is not dangling and stays, and
   * deleting an image takes its untagged parent chain along when nothing else holds it.
   */
  async prune(filtersText?: string): Promise<ImagePruneReport> {
    const filters = parseFilters(filtersText, PRUNE_FILTERS);
    const danglingText = filters.get('dangling')?.[0] ?? 'true';
    if (!['true', 'false', '1', '0'].includes(danglingText)) throw invalidParameter(`invalid filter 'dangling=${danglingText}'`);
    const danglingOnly = danglingText === 'true' || danglingText === '1';
    const now = Date.now();
    const until = filters.get('until')?.map((u) => untilSeconds(u, now));
    const used = await this.deps.usedImages();
    const store = this.deps.store;
    const deleted: ImageDeletion[] = [];
    let reclaimed = 0;
    const parents = store.withChildren();
    for (const rec of store.records()) {
      // Gone already as the parent of an image deleted before it.
      // Leased: a pull, build, commit, load or import in flight relies on it.
      if (!store.has(rec.id) || used.has(rec.id) || store.imageLeased(rec.id)) continue;
      if (parents.has(rec.id) && (danglingOnly || rec.refs.length === 0)) continue;
      const tags = rec.refs.filter((r) => r.tag !== undefined && r.digest === undefined);
      if (danglingOnly && tags.length > 0) continue;
      const labels = imageLabels(rec.config);
      if (!(filters.get('label') ?? []).every((l) => labelMatches(labels, l))) continue;
      if ((filters.get('label!') ?? []).some((l) => labelMatches(labels, l))) continue;
      if (until && until.some((t) => createdSeconds(rec.config) >= t)) continue;
      for (const r of rec.refs) {
        await store.untag(r);
        deleted.push({ untagged: familiarString(r) });
      }
      // dockerd deletes an untagged image only quietly: one with children stays.
      if (store.children(rec.id).length > 0) continue;
      const gone = await store.deleteWithParents(rec.id, true, (p) => used.has(p));
      for (const d of gone.deleted) deleted.push({ deleted: d });
      reclaimed += gone.reclaimed;
    }
    return { deletions: deleted, spaceReclaimed: reclaimed };
  }
}
