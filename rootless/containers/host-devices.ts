/**
 * What the spec builder needs to know about host device nodes. No user namespace can mknod, so a
 * device is bound in from the host (as rootless dockerd's runc and Podman do); it is only worth
 * binding when the user running the engine can open it. Only metadata is read here (stat, access):
 * no device is ever opened.
 */
import { constants } from 'node:fs';
import { access, lstat, readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeviceMapping, HostDeviceFacts } from '../../translate/oci-spec-input.js';

async function can(path: string, mode: number): Promise<boolean> {
  return access(path, mode).then(
    () => true,
    () => false,
  );
}

/** Facts about one host path named by --device (symlinks resolved first, as dockerd does). */
export async function hostDeviceFacts(path: string): Promise<HostDeviceFacts> {
  const resolved = await realpath(path).catch(() => undefined);
  const st = resolved ? await stat(resolved).catch(() => undefined) : undefined;
  if (!resolved || !st) return { exists: false, readable: false, writable: false };
  // A directory (e.g. /dev/snd) is bound whole: every node under it comes along.
  const kind = st.isCharacterDevice() || st.isBlockDevice() ? 'device' : st.isDirectory() ? 'directory' : 'other';
  return { exists: true, kind, readable: await can(resolved, constants.R_OK), writable: await can(resolved, constants.W_OK) };
}

export async function devicesFacts(devices: readonly DeviceMapping[] | null | undefined): Promise<Record<string, HostDeviceFacts>> {
  const out: Record<string, HostDeviceFacts> = {};
  for (const d of devices ?? []) {
    if (typeof d?.PathOnHost === 'string' && !(d.PathOnHost in out)) out[d.PathOnHost] = await hostDeviceFacts(d.PathOnHost);
  }
  return out;
}

/** Directories and nodes of /dev that are the container's own (its devpts, shm, mqueue) or not devices to share. */
const SKIP_DIRS = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev']);
const SKIP_NODES = new Set(['console', 'ptmx']);

/**
 * The host's device nodes the user can open, for --privileged: what containerd's HostDevices lists,
 * less what a user namespace cannot reach (rootless dockerd skips those the same way).
 */
export async function accessibleHostDevices(root = '/dev'): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory()) {
        if (depth === 0 && SKIP_DIRS.has(e.name)) continue;
        if (depth < 3) await walk(path, depth + 1);
        continue;
      }
      if (depth === 0 && SKIP_NODES.has(e.name)) continue;
      if (!e.isCharacterDevice() && !e.isBlockDevice()) continue;
      const st = await lstat(path).catch(() => undefined);
      if (!st) continue;
      if ((await can(path, constants.R_OK)) || (await can(path, constants.W_OK))) out.push(path);
    }
  };
  await walk(root, 0);
  return out.sort();
}
