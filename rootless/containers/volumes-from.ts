/**
 * HostConfig.VolumesFrom (`--volumes-from other[:ro|rw]`): the other container's mount points are
 * copied at create, as dockerd's registerMountPoints does — the same volumes (shared, not copied) and
 * bind sources, read-only when either side says so, never copied up from this container's image.
 */
import type { ContainerRecord, MountPoint } from '../../translate/container-record.js';
import { invalidParameter } from '../../translate/errors.js';

/** parser.ParseVolumesFrom: "container" or "container:ro|rw". */
function parseVolumesFrom(spec: string): { ref: string; readOnly: boolean } {
  if (!spec) throw invalidParameter("volumes-from specification cannot be an empty string");
  const colon = spec.lastIndexOf(':');
  if (colon < 0) return { ref: spec, readOnly: false };
  const mode = spec.slice(colon + 1);
  if (mode !== 'ro' && mode !== 'rw') throw invalidParameter(`invalid mode for volumes-from: ${mode}`);
  return { ref: spec.slice(0, colon), readOnly: mode === 'ro' };
}

/** The inherited mount points; `find` throws dockerd's 404 for an unknown container. */
export function inheritedMountPoints(volumesFrom: unknown, find: (ref: string) => ContainerRecord): MountPoint[] {
  if (!Array.isArray(volumesFrom)) return [];
  const byDestination = new Map<string, MountPoint>();
  for (const spec of volumesFrom) {
    if (typeof spec !== 'string') throw invalidParameter('invalid VolumesFrom: entries must be strings');
    const { ref, readOnly } = parseVolumesFrom(spec);
    const other = find(ref);
    for (const point of other.mounts ?? []) {
      const request = point.request.kind === 'volume'
        ? { ...point.request, readOnly: point.request.readOnly || readOnly, copyUp: false }
        : { ...point.request, readOnly: point.request.readOnly || readOnly };
      // A later --volumes-from replaces an earlier one at the same destination, as dockerd's map does.
      byDestination.set(request.destination, { request, ...(point.volume ? { volume: point.volume, copiedUp: true } : {}) });
    }
  }
  return [...byDestination.values()];
}
