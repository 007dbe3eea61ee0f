/**
 * /info, /version and /system/df as the HTTP layer needs them, beside the engine that answers
 * them (rootless/engine.ts, rootless/disk-usage.ts); api/services.ts re-exports it.
 */
import type { ImageSummary } from '../translate/image-json.js';
import type { VolumeJson } from '../translate/volume-json.js';
import type { BuildCacheRecord } from './build/interface.js';

export interface SystemService {
  info(): Promise<Record<string, unknown>>;
  version(): Record<string, unknown>;
  /** GET /system/df: the sections asked for are filled, the others null. */
  diskUsage(kinds: ReadonlySet<DiskUsageKind>): Promise<DiskUsageReport>;
}

export const DISK_USAGE_KINDS = ['container', 'image', 'volume', 'build-cache'] as const;
export type DiskUsageKind = (typeof DISK_USAGE_KINDS)[number];

export interface DiskUsageReport {
  LayersSize: number;
  Images: ImageSummary[] | null;
  Containers: Record<string, unknown>[] | null;
  Volumes: VolumeJson[] | null;
  BuildCache: BuildCacheRecord[] | null;
}
