/** GET /system/df in the shape API ≤ 1.51 clients read; sections not asked for stay null, as dockerd leaves them. */
import type { DiskUsageReport } from '../rootless/system-interface.js';
import { imageSummaryJson, type ImageSummary } from './image-json.js';
import { volumeUsageJson, type VolumeJson } from './volume-json.js';
import { containerListJson } from './container-json.js';
import { buildCacheJson, type BuildCacheJson } from './build-cache-json.js';

export interface DiskUsageJson {
  LayersSize: number;
  Images: ImageSummary[] | null;
  Containers: Record<string, unknown>[] | null;
  Volumes: VolumeJson[] | null;
  BuildCache: BuildCacheJson[] | null;
}

/** `now` words the containers' Status as the list does. */
export function diskUsageJson(report: DiskUsageReport, now: Date): DiskUsageJson {
  return {
    LayersSize: report.layersSize,
    Images: report.images === null ? null : report.images.map(imageSummaryJson),
    Containers: report.containers === null ? null : report.containers.map((c) => containerListJson(c, now)),
    Volumes: report.volumes === null ? null : report.volumes.map(volumeUsageJson),
    BuildCache: report.buildCache === null ? null : report.buildCache.map(buildCacheJson),
  };
}
