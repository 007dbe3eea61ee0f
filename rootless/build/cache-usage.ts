/**
 * The build cache as /system/df reports it: one record per cached step image that no tag names.
 * A record's Size is the layer its step added; it is Shared when an image that a build prune keeps
 * (tagged, or used by a container) also holds that layer, so pruning would not free it. The
 * `docker system df` reclaimable figure (sizes of records neither in use nor shared) then matches
 * what `docker builder prune` frees.
 */
import type { BuildCacheRecord } from './interface.js';
import type { ImageStore } from '../images/store.js';

const hex = (id: string): string => id.replace(/^sha256:/, '');

export function cacheRecords(cacheImages: ReadonlySet<string>, store: ImageStore, usedImages: ReadonlySet<string>): BuildCacheRecord[] {
  const records = [...cacheImages].filter((id) => store.has(id) && store.record(id).refs.length === 0);
  const recordSet = new Set(records);
  const kept = new Set<string>();
  for (const id of store.ids()) if (!recordSet.has(id) || usedImages.has(id)) for (const l of store.record(id).layers) kept.add(l);
  return records.map((id) => {
    const rec = store.record(id);
    const history = rec.config.history ?? [];
    const last = history[history.length - 1];
    // A step that only changed the config added no layer (its history line is marked empty).
    const own = last && !last.empty_layer && rec.layers.length > 0 ? rec.layers[rec.layers.length - 1] : undefined;
    const parent = store.parent(id);
    const created = rec.config.created ?? new Date(0).toISOString();
    return {
      id: hex(id),
      parents: parent && recordSet.has(parent) ? [hex(parent)] : [],
      type: 'regular',
      description: last?.created_by ?? '',
      inUse: usedImages.has(id),
      shared: own !== undefined && kept.has(own),
      size: own ? (store.layer(own)?.size ?? 0) : 0,
      createdAt: created,
      lastUsedAt: null,
      usageCount: 0,
    };
  });
}
