/**
 * /info, /version and /system/df as the HTTP layer needs them, beside the engine that answers
 * them (rootless/engine.ts, rootless/disk-usage.ts); api/services.ts re-exports it.
 */
import type { ContainerView } from './containers/interface.js';
import type { ImageListEntry } from './images/interface.js';
import type { VolumeUsage } from './volumes/interface.js';
import type { BuildCacheRecord } from './build/interface.js';
import type { EngineCounts, EngineFacts } from '../translate/system-info.js';

/** What GET /info reports: the engine's facts and object counts, read at `at`. */
export interface SystemInfoReport {
  facts: EngineFacts;
  counts: EngineCounts;
  at: Date;
}

/** translate/system-info.ts shapes /info and /version from these. */
export interface SystemService {
  info(): Promise<SystemInfoReport>;
  /** /version reports facts only: versions, platform, kernel. */
  version(): EngineFacts;
  /** GET /system/df: the sections asked for are filled, the others null. */
  diskUsage(kinds: ReadonlySet<DiskUsageKind>): Promise<DiskUsageReport>;
}

export const DISK_USAGE_KINDS = ['container', 'image', 'volume', 'build-cache'] as const;
export type DiskUsageKind = (typeof DISK_USAGE_KINDS)[number];

/** Each section is null when not asked for; translate/disk-usage-json.ts shapes it for the wire. */
export interface DiskUsageReport {
  /** Bytes of every layer in the store, counted once. */
  layersSize: number;
  /** With sharedSize and containers filled in. */
  images: ImageListEntry[] | null;
  /** With their sizes. */
  containers: ContainerView[] | null;
  volumes: VolumeUsage[] | null;
  buildCache: BuildCacheRecord[] | null;
}
