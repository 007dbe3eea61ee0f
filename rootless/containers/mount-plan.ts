/**
 * Volumes, binds and tmpfs mounts of one container: decided at create (so names and "in use" exist from
 * then on, as in dockerd), resolved to host paths at each start, released at remove.
 */
import { mkdir, stat } from 'node:fs/promises';
import { resolveUser } from '../../translate/container-config.js';
import type { ResolvedMount } from '../../translate/oci-spec-input.js';
import { parentsFirst, parseMountRequests, toResolvedMount } from '../../translate/mounts.js';
import type { MountRequest, MountSpec } from '../../translate/mount-request.js';
import { EngineError, invalidParameter } from '../../translate/errors.js';
import type { MountPoint } from '../../translate/container-record.js';

export type { MountPoint };
import type { EngineVolumeService } from '../volumes/service.js';
import { chownTree } from '../volumes/ownership.js';
import type { InRootMount } from '../in-root.js';
import { readFileInRoot } from '../read-in-root.js';
import { pinSubpath } from './subpath-pins.js';
import { warnOnly } from '../log.js';

export interface MountSources {
  binds?: string[] | null;
  mounts?: MountSpec[] | null;
  configVolumes?: Record<string, unknown> | null;
  volumeDriver?: string;
  /** Mount points from VolumesFrom (volumes-from.ts): Binds and Mounts win at the same destination, image VOLUMEs yield to them. */
  inherited?: MountPoint[];
}

/** Parses the request (400s come from here) and creates the volumes it names or implies. */
export async function createMountPoints(containerId: string, sources: MountSources, volumes: EngineVolumeService): Promise<MountPoint[]> {
  // HostConfig.Tmpfs stays with the OCI translation, which already turns it into mounts.
  const parsed = parseMountRequests({ binds: sources.binds, mounts: sources.mounts, configVolumes: sources.configVolumes, volumeDriver: sources.volumeDriver });
  const explicit = new Set(parsed.filter((r) => r.origin !== 'config-volumes').map((r) => r.destination));
  const inherited = (sources.inherited ?? []).filter((p) => !explicit.has(p.request.destination));
  const inheritedAt = new Set(inherited.map((p) => p.request.destination));
  const requests = parsed.filter((r) => r.origin !== 'config-volumes' || !inheritedAt.has(r.destination));
  const points: MountPoint[] = [];
  for (const point of inherited) {
    if (point.volume) volumes.acquire(point.volume, containerId);
    points.push(point);
  }
  for (const request of requests) {
    if (request.kind !== 'volume') {
      points.push({ request });
      continue;
    }
    const volume = request.name ? await volumes.ensure(request.name, { labels: request.labels, driverOpts: request.driverOpts }) : await volumes.createAnonymous();
    volumes.acquire(volume.name, containerId);
    points.push({ request, volume: volume.name });
  }
  return points;
}

/**
 * After a daemon restart: the volume service keeps its users in memory only. Returns the volumes
 * that are gone (a removal killed between deleting them and deleting the record), which must not
 * keep the daemon from starting: the removal is finished next, and any other start of the
 * container is refused with the volume's 404.
 */
export function reacquireMountPoints(containerId: string, points: readonly MountPoint[], volumes: EngineVolumeService): string[] {
  const missing: string[] = [];
  for (const p of points) {
    if (!p.volume) continue;
    try {
      volumes.acquire(p.volume, containerId);
    } catch (err) {
      if (!(err instanceof EngineError) || err.statusCode !== 404) throw err;
      missing.push(p.volume);
    }
  }
  return missing;
}

async function bindSource(request: Extract<MountRequest, { kind: 'bind' }>): Promise<string> {
  const st = await stat(request.source).catch(() => undefined);
  if (!st) {
    if (!request.createSource) throw invalidParameter(`invalid mount config for type "bind": bind source path does not exist: ${request.source}`);
    await mkdir(request.source, { recursive: true });
  }
  return request.source;
}

/**
 * Host paths for every mount of a start. `rootfs` is the mounted root, for copying the image's content
 * up into new volumes; `owner` is the container user, for the `:U` option.
 */
export async function resolveMountPoints(points: MountPoint[], rootfs: string, owner: { uid: number; gid: number }, volumes: EngineVolumeService, containerDir: string): Promise<ResolvedMount[]> {
  const resolved: ResolvedMount[] = [];
  for (const [index, point] of points.entries()) {
    const { request } = point;
    if (request.kind === 'tmpfs') {
      resolved.push(toResolvedMount(request));
    } else if (request.kind === 'bind') {
      const source = await bindSource(request);
      if (request.chown) await chownTree(source, owner.uid, owner.gid);
      resolved.push(toResolvedMount(request, source));
    } else if (point.volume) {
      const data = await volumes.prepareForMount(point.volume);
      if (request.copyUp && !point.copiedUp) {
        await volumes.copyUp(point.volume, rootfs, request.destination);
        point.copiedUp = true;
      }
      if (request.chown) await volumes.chown(point.volume, owner.uid, owner.gid);
      resolved.push(toResolvedMount(request, request.subpath ? await pinSubpath(containerDir, index, data, request.subpath) : data));
    }
  }
  return resolved;
}

/**
 * The host paths of a container's volumes and binds for `docker cp` (dockerd's mountVolumes). Nothing a
 * start does to the content happens here (no copy-up, no `:U` chown); a volume is only made ready as a
 * start would (prepareForMount mounts a tmpfs or bind-backed volume that is not mounted yet, so nothing
 * is ever written under its mount point), and a Binds source that is missing is created, as dockerd
 * does. tmpfs mounts hold nothing on the host and are left out, as dockerd leaves them out.
 */
export async function archiveMountSources(points: readonly MountPoint[], volumes: EngineVolumeService): Promise<InRootMount[]> {
  const out: InRootMount[] = [];
  for (const { request, volume } of points) {
    if (request.kind === 'bind') {
      out.push({ destination: request.destination, source: await bindSource(request), readOnly: request.readOnly, recursive: !request.nonRecursive });
    } else if (request.kind === 'volume' && volume) {
      const data = await volumes.prepareForMount(volume);
      // A subpath is the volume's content, which a container writes: the helper resolves it inside the volume.
      out.push({ destination: request.destination, source: data, ...(request.subpath ? { subpath: request.subpath } : {}), readOnly: request.readOnly, recursive: true });
    }
  }
  // Parents before children, as the container got them: a mount inside a volume lands in the volume.
  return parentsFirst(out);
}

/** At container removal: the volumes are free again, and with `-v` the anonymous ones go. */
export async function releaseMountPoints(containerId: string, points: readonly MountPoint[], volumes: EngineVolumeService, removeAnonymous: boolean): Promise<void> {
  for (const p of points) {
    if (!p.volume) continue;
    volumes.release(p.volume, containerId);
    if (removeAnonymous && volumes.isAnonymous(p.volume) && !volumes.inUse(p.volume)) {
      await volumes.remove(p.volume, { force: true }).catch(warnOnly('could not remove an anonymous volume of a failed create'));
    }
  }
}

/** The container user's uid/gid, needed only when a mount asks for `:U`. */
export async function containerOwner(user: string, rootfs: string, points: readonly MountPoint[]): Promise<{ uid: number; gid: number }> {
  if (!points.some((p) => p.request.kind !== 'tmpfs' && p.request.chown)) return { uid: 0, gid: 0 };
  // Read inside the rootfs: an /etc/passwd that is a symlink out of it names nothing of the host's.
  const [passwd, group] = await Promise.all([readFileInRoot(rootfs, '/etc/passwd'), readFileInRoot(rootfs, '/etc/group')]);
  const { uid, gid } = resolveUser(user, passwd, group);
  return { uid, gid };
}
