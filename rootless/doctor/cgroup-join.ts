/**
 * Moving a process into a cgroup takes the kernel's cgroup threadgroup lock for writing, and when
 * no migration happened in the last moments that first waits for an RCU grace period: 5–20 ms on an
 * idle machine, paid by every container start and every `docker exec` (crun joins each hierarchy;
 * back-to-back migrations skip the wait). The cgroup2 mount option `favordynmods` (Linux 6.0) keeps
 * the lock ready for writers, at a small cost to every fork and exit on the host: the
 * administrator's choice, which setup-host.sh makes unless told not to.
 */
import { release } from 'node:os';
import { readMountInfo, type MountEntry } from '../mountinfo.js';
import type { DoctorCheck } from './types.js';

export interface Cgroup2Mount {
  target: string;
  favordynmods: boolean;
}

/** The cgroup2 mount (v2's root, or hybrid's unified/) in a mount table, and whether it has favordynmods (a superblock option). */
export function cgroup2Mount(mounts: readonly MountEntry[]): Cgroup2Mount | undefined {
  const m = mounts.find((e) => e.fsType === 'cgroup2');
  return m ? { target: m.target, favordynmods: m.superOptions.includes('favordynmods') } : undefined;
}

/** favordynmods appeared in Linux 6.0. */
export function kernelHasFavorDynmods(kernelRelease: string): boolean {
  const [major] = kernelRelease.split('.').map(Number);
  return (major ?? 0) >= 6;
}

/** `delegated`: the engine has cgroups to move containers into; the other two default to this host's. */
export async function checkCgroupJoin(delegated: boolean, mounts?: readonly MountEntry[], kernelRelease = release()): Promise<DoctorCheck> {
  const id = 'cgroup-join';
  if (!delegated) return { id, status: 'ok', detail: 'no cgroups delegated: containers are not moved into any', essential: false };
  const mount = cgroup2Mount(mounts ?? (await readMountInfo()));
  if (!mount || !kernelHasFavorDynmods(kernelRelease)) {
    return { id, status: 'ok', detail: 'no cgroup2 mount with favordynmods on this kernel: each start and exec may wait for an RCU grace period when it joins its cgroups', essential: false };
  }
  if (mount.favordynmods) return { id, status: 'ok', detail: `${mount.target} has favordynmods: joining a cgroup does not wait`, essential: false };
  return {
    id,
    status: 'degraded',
    detail: `${mount.target} lacks favordynmods: each container start and exec waits 5–20 ms for an RCU grace period when it joins its cgroups`,
    fix: `sudo mount -o remount,favordynmods ${mount.target}`,
    essential: false,
  };
}
