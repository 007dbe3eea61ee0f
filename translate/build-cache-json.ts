/** The build cache in dockerd's JSON: /system/df's BuildCache entries and POST /build/prune's answer. Pure. */
import type { BuildCacheRecord, BuildPruneReport } from '../rootless/build/interface.js';

/** types.BuildCache as API ≤ 1.51 clients read it (`docker system df -v`). */
export interface BuildCacheJson {
  ID: string;
  /** null for none, as dockerd leaves a nil slice. */
  Parents: string[] | null;
  Type: string;
  Description: string;
  InUse: boolean;
  Shared: boolean;
  Size: number;
  CreatedAt: string;
  LastUsedAt: string | null;
  UsageCount: number;
}

export function buildCacheJson(r: BuildCacheRecord): BuildCacheJson {
  return {
    ID: r.id,
    Parents: r.parents.length > 0 ? [...r.parents] : null,
    Type: r.type,
    Description: r.description,
    InUse: r.inUse,
    Shared: r.shared,
    Size: r.size,
    CreatedAt: r.createdAt,
    LastUsedAt: r.lastUsedAt,
    UsageCount: r.usageCount,
  };
}

/** types.BuildCachePruneReport; nothing removed is `[]`. */
export function buildPruneJson(r: BuildPruneReport): { CachesDeleted: string[]; SpaceReclaimed: number } {
  return { CachesDeleted: [...r.deleted], SpaceReclaimed: r.spaceReclaimed };
}
