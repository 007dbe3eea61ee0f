/**
 * `cache_from` for the classic builder, after dockerd's image/cache ImageCache: the named local
 * images are cache sources matched by history. A step is a hit on a source whose history and layers
 * start with the step's parent image's and whose next history entry was made by the same
 * instruction (`created_by`); the source itself is the result at its last entry, otherwise an
 * image of the parent plus that entry (and its layer) is made. A hit of the ordinary cache counts
 * only when it is an ancestor of a source, as in dockerd, which then trusts nothing else.
 */
import { createHash } from 'node:crypto';
import type { ImageConfig, ImageHistoryEntry } from '../../translate/image-config.js';
import type { ImageContainerConfig } from '../../translate/image-changes.js';
import type { Lease } from '../images/leases.js';
import type { ImageStore } from '../images/store.js';
import type { BuildImage } from './step-image.js';

const historyOf = (c: ImageConfig) => c.history ?? [];
const diffIdsOf = (c: ImageConfig) => c.rootfs?.diff_ids ?? [];

/** Equal as Go's image.History values are (absent fields are their zero values). */
function sameEntry(a: ImageHistoryEntry, b: ImageHistoryEntry): boolean {
  const t = (s: string | undefined): number | undefined => (s ? Date.parse(s) : undefined);
  return t(a.created) === t(b.created) && (a.author ?? '') === (b.author ?? '') && (a.created_by ?? '') === (b.created_by ?? '') && (a.comment ?? '') === (b.comment ?? '') && !!a.empty_layer === !!b.empty_layer;
}

/** dockerd's isValidParent: `img` continues `parent` (scratch continues into anything with history). */
export function continues(img: ImageConfig, parent: ImageConfig | undefined): boolean {
  const history = historyOf(img);
  if (history.length === 0) return false;
  if (!parent || (historyOf(parent).length === 0 && diffIdsOf(parent).length === 0)) return true;
  if (historyOf(parent).length >= history.length) return false;
  if (diffIdsOf(parent).length > diffIdsOf(img).length) return false;
  if (!historyOf(parent).every((h, i) => sameEntry(h, history[i]))) return false;
  return diffIdsOf(parent).every((d, i) => d === diffIdsOf(img)[i]);
}

/** The index in rootfs of the layer history entry `index` made, or undefined for an empty one. */
export function layerIndexOf(img: ImageConfig, index: number): number | undefined {
  const history = historyOf(img);
  if (history[index]?.empty_layer) return undefined;
  return history.slice(0, index).filter((h) => !h.empty_layer).length;
}

export class CacheSources {
  private constructor(
    private readonly store: ImageStore,
    private sources: string[],
  ) {}

  /** The sources among `refs` that are stored (others are skipped, as dockerd only logs them); held by `lease`. */
  static resolve(store: ImageStore, refs: readonly string[], lease: Lease): CacheSources | undefined {
    if (refs.length === 0) return undefined;
    const ids: string[] = [];
    for (const ref of refs) {
      const found = store.lookup(ref);
      if (!found) continue;
      store.leaseImage(lease, found.id);
      ids.push(found.id);
    }
    return new CacheSources(store, ids);
  }

  /** A hit of the ordinary cache is trusted only when some source descends from it. */
  trusts(cached: string): boolean {
    return this.sources.some((s) => this.store.lineage(s).slice(1).includes(cached));
  }

  /** The image a source gives for this step, or undefined. */
  async probe(parent: BuildImage, createdBy: string, config: ImageContainerConfig, lease: Lease): Promise<string | undefined> {
    const parentConfig = parent.id ? parent.config : undefined;
    const at = parentConfig ? historyOf(parentConfig).length : 0;
    for (const id of this.sources) {
      if (!this.store.has(id)) continue;
      const target = this.store.config(id);
      if (!continues(target, parentConfig) || historyOf(target)[at]?.created_by !== createdBy) continue;
      const layers = this.store.record(id).layers;
      if (historyOf(target).length - 1 === at) {
        // The source is this step's result: it becomes the parent's child, as SetParent does.
        if (parent.id) await this.store.addImage(id, layers, [], new Date(), parent.id);
        return id;
      }
      const made = await this.restore(parent, target, layers, at, config, lease);
      // dockerd follows the one source it started on from here.
      this.sources = [id];
      return made;
    }
    return undefined;
  }

  /** The parent plus the source's entry `at` (and its layer): dockerd's restoreCachedImage. */
  private async restore(parent: BuildImage, target: ImageConfig, targetLayers: readonly string[], at: number, config: ImageContainerConfig, lease: Lease): Promise<string> {
    const entry = historyOf(target)[at];
    const layerIndex = layerIndexOf(target, at);
    const diffIds = [...diffIdsOf(parent.config), ...(layerIndex !== undefined ? [diffIdsOf(target)[layerIndex]] : [])];
    const layers = [...parent.layers, ...(layerIndex !== undefined ? [targetLayers[layerIndex]] : [])];
    // The step's own config, where dockerd stores the probe's (with its "#(nop)" Cmd): only this
    // image's inspect can tell, and it then shows what the step really set.
    const image: ImageConfig = {
      architecture: target.architecture,
      ...(target.variant ? { variant: target.variant } : {}),
      ...(target.author ? { author: target.author } : {}),
      config,
      ...(entry.created ? { created: entry.created } : {}),
      docker_version: 'burrow',
      history: [...historyOf(parent.config), entry],
      os: target.os,
      rootfs: { type: 'layers', diff_ids: diffIds },
    };
    const bytes = Buffer.from(JSON.stringify(image));
    const id = 'sha256:' + createHash('sha256').update(bytes).digest('hex');
    lease.image(id);
    lease.layers(layers);
    await this.store.putConfig(id, bytes);
    await this.store.addImage(id, layers, [], new Date(), parent.id);
    return id;
  }
}
