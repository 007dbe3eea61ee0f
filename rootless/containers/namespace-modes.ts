/**
 * HostConfig's PidMode, IpcMode and UTSMode turned into the namespaces a start joins, as dockerd's
 * WithNamespaces does. "host" is the engine's own namespace, which for pid, ipc and uts is the
 * host's: the namespace holder only unshares the user and mount namespaces. "container:<ref>" joins
 * a running container's namespace through its init's /proc/<pid>/ns entry.
 *
 * /dev/shm goes with the IPC namespace. A `shareable` container gets a tmpfs the engine mounts in
 * its own mount namespace (`<container dir>/shm`), so that a container joining its IPC namespace can
 * bind the same one; a `private` one keeps the tmpfs of its own mount namespace, which nobody else
 * can reach, and joining it is refused with dockerd's words.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { conflict, containerErrors, EngineError } from '../../translate/errors.js';
import { containerRef } from '../../translate/host-config-modes.js';
import type { ContainerRecord } from '../../translate/container-record.js';
import type { IpcChoice, NamespaceChoice, ResolvedMount } from '../../translate/oci-spec-input.js';
import { runTool } from '../exec.js';
import { isMounted } from './rootfs.js';

export interface NamespaceModes {
  pid?: NamespaceChoice;
  ipc?: IpcChoice;
  uts?: NamespaceChoice;
  /** The shareable /dev/shm, bound over the default one. */
  mounts: ResolvedMount[];
}

export interface NamespaceDeps {
  find(ref: string): ContainerRecord;
  dir(id: string): string;
  /** Default /dev/shm size in bytes (HostConfig.ShmSize when set). */
  defaultShmSize: number;
}

export const shmDir = (containerDir: string): string => join(containerDir, 'shm');

function running(rec: ContainerRecord): boolean {
  return rec.state.status === 'running' && rec.state.pid > 0 && !rec.state.restarting;
}

/**
 * dockerd's getPidContainer/getIpcContainer: the donor exists and runs, else its 404/409. The IPC
 * lookup prefixes both failures; the PID one only the missing container.
 */
function donor(deps: NamespaceDeps, ref: string, prefix: string, prefixNotRunning: boolean): ContainerRecord {
  let rec: ContainerRecord;
  try {
    rec = deps.find(ref);
  } catch (err) {
    if (err instanceof EngineError) throw new EngineError(err.kind, `${prefix}: ${err.message}`);
    throw err;
  }
  if (!running(rec)) {
    const refused = containerErrors.execNotRunning(rec.id);
    throw prefixNotRunning ? conflict(`${prefix}: ${refused.message}`) : refused;
  }
  return rec;
}

/** Mounts the shareable container's /dev/shm tmpfs (kept across a daemon restart, gone at its exit). */
export async function mountShareableShm(containerDir: string, size: number): Promise<string> {
  const dir = shmDir(containerDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (!(await isMounted(dir))) await runTool('mount', ['-t', 'tmpfs', '-o', `mode=1777,nosuid,nodev,noexec,size=${size}`, 'shm', dir]);
  return dir;
}

export async function unmountShareableShm(containerDir: string): Promise<void> {
  const dir = shmDir(containerDir);
  if (await isMounted(dir)) await runTool('umount', ['-l', dir], { allowFailure: true });
}

export async function resolveNamespaceModes(rec: ContainerRecord, deps: NamespaceDeps): Promise<NamespaceModes> {
  const hc = rec.hostConfig;
  const out: NamespaceModes = { mounts: [] };
  const pidMode = typeof hc.PidMode === 'string' ? hc.PidMode : '';
  const pidRef = containerRef(pidMode);
  if (pidMode === 'host') out.pid = { mode: 'host' };
  else if (pidRef !== undefined) {
    const d = donor(deps, pidRef, `cannot join PID of a non running container: ${pidRef}`, false);
    out.pid = { mode: 'path', path: `/proc/${d.state.pid}/ns/pid` };
  }

  const ipcMode = typeof hc.IpcMode === 'string' ? hc.IpcMode : '';
  const ipcRef = containerRef(ipcMode);
  if (ipcMode === 'host') out.ipc = { mode: 'host' };
  else if (ipcMode === 'none') out.ipc = { mode: 'none' };
  else if (ipcRef !== undefined) {
    const prefix = `can't join IPC of container ${ipcRef}`;
    const d = donor(deps, ipcRef, prefix, true);
    const donorMode = d.hostConfig.IpcMode;
    let shmPath: string;
    if (donorMode === 'host') shmPath = '/dev/shm';
    else if (donorMode === 'shareable' && (await isMounted(shmDir(deps.dir(d.id))))) shmPath = shmDir(deps.dir(d.id));
    else throw new EngineError('internal', `${prefix}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)`);
    out.ipc = { mode: 'path', path: `/proc/${d.state.pid}/ns/ipc`, shmPath };
  } else if (ipcMode === 'shareable') {
    const size = typeof hc.ShmSize === 'number' && hc.ShmSize > 0 ? hc.ShmSize : deps.defaultShmSize;
    out.mounts.push({ type: 'bind', source: await mountShareableShm(deps.dir(rec.id), size), destination: '/dev/shm' });
  }

  if (hc.UTSMode === 'host') out.uts = { mode: 'host' };
  return out;
}
