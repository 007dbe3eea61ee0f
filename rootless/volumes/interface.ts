/**
 * The volume engine's interface, beside the engine (rootless/volumes/service.ts implements it);
 * api/services.ts re-exports it for the routes. Domain values only: translate/volume-json.ts turns
 * them into dockerd's wire JSON in the routes.
 */

/** A `local` volume as the engine knows it. */
export interface Volume {
  name: string;
  /** To the second: dockerd prints it as RFC 3339 without fractions. */
  createdAt: Date;
  /** The host path of the content (<root>/<name>/_data). */
  mountpoint: string;
  labels: Record<string, string>;
  /** The driver options given at create, as given. */
  options: Record<string, string>;
}

/** What /system/df adds to a volume. */
export interface VolumeUsage extends Volume {
  /** Bytes of the content, hard links counted once. */
  size: number;
  /** Containers using the volume. */
  refCount: number;
}

export interface VolumeCreateRequest {
  /** Empty or absent: a generated name. */
  name?: string;
  /** Only `local` (or empty) exists. */
  driver?: string;
  /** The body's maps as sent: the engine checks them (string values only) and answers its 400s. */
  driverOpts?: unknown;
  labels?: unknown;
}

export interface VolumePruneResult {
  deleted: string[];
  spaceReclaimed: number;
}

export interface VolumeService {
  /** Same name twice returns the existing volume, as dockerd does. */
  create(request: VolumeCreateRequest): Promise<Volume>;
  list(filters?: string): Promise<Volume[]>;
  inspect(name: string): Promise<Volume>;
  remove(name: string, opts: { force: boolean }): Promise<void>;
  /** `allByDefault`: clients older than API 1.42 prune named volumes too. */
  prune(filters: string | undefined, opts: { allByDefault: boolean }): Promise<VolumePruneResult>;
  /** Every volume with its size and users, for /system/df. */
  diskUsage(): Promise<VolumeUsage[]>;
}
