import { invalidParameter } from './errors.js';
import { labelMatches, parseFilters } from './filters.js';
import { ANONYMOUS_LABEL } from './volume-name.js';
import type { Volume, VolumePruneResult, VolumeUsage } from '../rootless/volumes/interface.js';

/** What Burrow keeps about a volume in <name>/volume.json. */
export interface VolumeRecord {
  Name: string;
  /** RFC 3339, seconds precision, as dockerd prints it. */
  CreatedAt: string;
  Labels: Record<string, string>;
  /** The DriverOpts given at create, as given. */
  Options: Record<string, string>;
  /** Created for a container (image VOLUME, -v /path) rather than by name; prune removes these by default. */
  Anonymous: boolean;
}

/** The Volume definition of the Engine API. */
export interface VolumeJson {
  CreatedAt: string;
  Driver: 'local';
  Labels: Record<string, string>;
  Mountpoint: string;
  Name: string;
  Options: Record<string, string>;
  Scope: 'local';
  UsageData?: { Size: number; RefCount: number };
}

export function rfc3339Seconds(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z');
}

export function isAnonymous(v: VolumeRecord): boolean {
  return v.Anonymous || Object.prototype.hasOwnProperty.call(v.Labels, ANONYMOUS_LABEL);
}

/** A volume as GET /volumes/{name} and POST /volumes/create answer it; empty maps stay `{}`. */
export function volumeJson(v: Volume): VolumeJson {
  return {
    CreatedAt: rfc3339Seconds(v.createdAt),
    Driver: 'local',
    Labels: { ...v.labels },
    Mountpoint: v.mountpoint,
    Name: v.name,
    Options: { ...v.options },
    Scope: 'local',
  };
}

/** GET /volumes: the local driver never warns, and an empty list is `[]`. */
export function volumeListJson(volumes: readonly Volume[]): { Volumes: VolumeJson[]; Warnings: string[] } {
  return { Volumes: volumes.map(volumeJson), Warnings: [] };
}

/** A /system/df volume: the volume's JSON with UsageData last. */
export function volumeUsageJson(v: VolumeUsage): VolumeJson {
  return { ...volumeJson(v), UsageData: { Size: v.size, RefCount: v.refCount } };
}

/** POST /volumes/prune; nothing pruned is `[]`, not null. */
export function volumePruneJson(r: VolumePruneResult): { VolumesDeleted: string[]; SpaceReclaimed: number } {
  return { VolumesDeleted: [...r.deleted], SpaceReclaimed: r.spaceReclaimed };
}

/** A volume as a filter sees it: its record and whether any container uses it. */
export interface VolumeFilterView {
  record: VolumeRecord;
  inUse: boolean;
}

function boolFilter(key: string, values: string[]): boolean | undefined {
  if (values.length === 0) return undefined;
  const v = values[values.length - 1] ?? '';
  const lower = v.toLowerCase();
  if (lower === 'true' || lower === '1') return true;
  if (lower === 'false' || lower === '0') return false;
  throw invalidParameter(`invalid filter '${key}=${v}'`);
}

/** dockerd matches `name` as a regular expression (filters.Args.Match); a pattern that doesn't compile matches literally. */
function nameMatches(name: string, pattern: string): boolean {
  if (name === pattern) return true;
  try {
    return new RegExp(pattern).test(name);
  } catch {
    return name.includes(pattern);
  }
}

/** GET /volumes filters: dangling, driver, label, name. */
export function volumeListFilter(raw: string | undefined): (v: VolumeFilterView) => boolean {
  const f = parseFilters(raw, ['dangling', 'driver', 'label', 'name']);
  const dangling = boolFilter('dangling', f.get('dangling') ?? []);
  const drivers = f.get('driver') ?? [];
  const labels = f.get('label') ?? [];
  const names = f.get('name') ?? [];
  return ({ record, inUse }) =>
    (dangling === undefined || dangling === !inUse) &&
    (drivers.length === 0 || drivers.includes('local')) &&
    labels.every((l) => labelMatches(record.Labels, l)) &&
    (names.length === 0 || names.some((n) => nameMatches(record.Name, n)));
}

/**
 * POST /volumes/prune filters: label, label!, all. Unused volumes only; named ones too when
 * all=true or when the client speaks an API older than 1.42 (`allByDefault`), as dockerd does.
 */
export function volumePruneFilter(raw: string | undefined, allByDefault: boolean): (v: VolumeFilterView) => boolean {
  const f = parseFilters(raw, ['label', 'label!', 'all']);
  const all = boolFilter('all', f.get('all') ?? []) ?? allByDefault;
  const labels = f.get('label') ?? [];
  const notLabels = f.get('label!') ?? [];
  return ({ record, inUse }) =>
    !inUse &&
    (all || isAnonymous(record)) &&
    labels.every((l) => labelMatches(record.Labels, l)) &&
    notLabels.every((l) => !labelMatches(record.Labels, l));
}
