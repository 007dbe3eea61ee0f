/** GET /system/df in the shape API ≤ 1.51 clients read; sections not asked for stay null, as dockerd leaves them. */
import type { BuildCacheRecord } from '../rootless/build/interface.js';
import type { DiskUsageReport } from '../rootless/system-interface.js';
import { imageSummaryJson, type ImageSummary } from './image-json.js';
import { volumeUsageJson, type VolumeJson } from './volume-json.js';

export interface DiskUsageJson {
  LayersSize: number;
  Images: ImageSummary[] | null;
  Containers: Record<string, unknown>[] | null;
  Volumes: VolumeJson[] | null;
  BuildCache: BuildCacheRecord[] | null;
}

export function diskUsageJson(report: DiskUsageReport): DiskUsageJson {
  return {
    LayersSize: report.layersSize,
    Images: report.images === null ? null : report.images.map(imageSummaryJson),
    Containers: report.containers,
    Volumes: report.volumes === null ? null : report.volumes.map(volumeUsageJson),
    BuildCache: report.buildCache,
  };
}
