/**
 * The volume engine's interface, beside the engine (rootless/volumes/service.ts implements it);
 * api/services.ts re-exports it for the routes. VolumeJson and VolumeCreateParams keep Docker's
 * field names: a volume's JSON is the engine's record as dockerd shapes it.
 */
import type { VolumeJson } from '../../translate/volume-json.js';

export interface VolumeCreateParams {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string>;
  Labels?: Record<string, string>;
}

export interface VolumeService {
  /** Same name twice returns the existing volume, as dockerd does. */
  create(params: VolumeCreateParams): Promise<VolumeJson>;
  list(filters?: string): Promise<{ Volumes: VolumeJson[]; Warnings: string[] }>;
  inspect(name: string): Promise<VolumeJson>;
  remove(name: string, opts: { force: boolean }): Promise<void>;
  /** `allByDefault`: clients older than API 1.42 prune named volumes too. */
  prune(filters: string | undefined, opts: { allByDefault: boolean }): Promise<{ VolumesDeleted: string[]; SpaceReclaimed: number }>;
  /** Every volume with UsageData, for /system/df. */
  diskUsage(): Promise<VolumeJson[]>;
}
