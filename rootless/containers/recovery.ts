/**
 * What the daemon does at start-up about operations a previous daemon died in the middle of
 * (`kill -9`, OOM killer, power loss). Each operation's steps, and what recovery does when the
 * daemon dies between two of them (`→ crash point` names the BURROW_DEBUG_CRASH_AT step there,
 * rootless/debug-crash.ts):
 *
 * start (service.ts startRecord; `docker start`/`run`, restart policies, `docker restart`)
 *   1. marker `intent-starting` written                                    → start:after-mark
 *   2. stale runtime state deleted; rootfs overlay mounted, log files
 *      ready, network namespace/IP/ports prepared                          → start:after-mount
 *   3. OCI bundle (config.json) written
 *   4. conmon started; it runs `crun create`, whose init then waits
 *      on its exec fifo                                                    → start:after-runtime-create
 *   5. `crun start`: the user's process runs                               → start:after-runtime-start
 *   6. record saved `running`
 *   7. marker removed
 *   Recovery, marker present:
 *   - record not `running` and the runtime has no container or only a `created` one (died in 1–4):
 *     roll back — SIGKILL this container's conmon, `crun delete --force` (kills the init waiting
 *     on its fifo), drop exit files, release the network, unmount the rootfs. The record keeps the
 *     state it had before the start (`created`, ExitCode 0, never started; or `exited` for a
 *     restart). An AutoRemove (`--rm`) container is removed with its anonymous volumes instead,
 *     as a failed start of one is.
 *   - the runtime says `running`/`paused`/`stopped` (died in 5–6): the user's process ran, so the
 *     start is finished — the record becomes `running` with the runtime's pid, and the usual
 *     adoption follows (an exit meanwhile is recorded; `--rm` then removes it).
 *   - record already `running` (died in 7): only the marker is removed.
 *
 * commit with pause=true (tools.ts commit → resources.ts whileFrozen)
 *   1. marker `intent-engine-frozen` written
 *   2. `crun pause` (cgroup freezer), record saved paused                  → commit:after-freeze
 *   3. the upper dir staged and stored as a layer and image (the image store writes under tmp/ and
 *      renames into place, index last; tmp/ is cleared when it opens)
 *   4. `crun resume`, record saved unpaused
 *   5. marker removed
 *   Recovery, marker present (died in 1–5): `crun resume` (harmless when not frozen), record saved
 *   unpaused, marker removed. No image appears for a commit that died before 3 ended. Commit never
 *   freezes a container that is already paused.
 *
 * pause (resources.ts userPause)
 *   1. marker `intent-pausing` written
 *   2. `crun pause`, the freezer read until FROZEN                          → pause:after-freeze
 *   3. record saved paused, marker removed
 *   Recovery, marker present (died in 1–3): undone as a commit's freeze is (the client never heard
 *   the pause succeed). A finished pause carries no marker and survives a restart unchanged.
 *
 * rm (remove.ts removeContainer/removeRecord; also `--rm` after exit, `container prune`)
 *   1. (`-f` of a running one) SIGKILL, exit recorded as usual
 *   2. record saved `removing`                                             → rm:after-mark
 *   3. runtime state, exit file, network, rootfs mount released; volumes released (anonymous ones
 *      removed for `-v` and `--rm`)                                        → rm:after-volumes
 *   4. the container's dir removed (the record with it)
 *   Recovery: a record still `removing` (died in 2–4) has step 3 done again, each part idempotent;
 *   volumes it names that are already gone do not stop the daemon (mount-plan.ts reacquire).
 *   Died before 2: the container is as it was (a running one is adopted, an exited one stays).
 *
 * cp, export, diff, and commit of a stopped container (rootfs-lease.ts)
 *   1. rootfs overlay mounted for the call                                 → lease:after-mount
 *   2. the work; 3. unmounted when the last borrower is done, unless the container started meanwhile
 *   Recovery: leases live in memory only, so after the adoption the rootfs of every container that
 *   is not running is unmounted. The archive calls' volumes and binds are attached in the in-root
 *   helper's own mount namespace, which dies with it: nothing of theirs outlives a crash.
 *
 * volume subpaths (subpath-pins.ts): pinned during start step 2, released after step 4 or on failure
 *   Recovery: every container's pins are released after the adoption.
 *
 * a shareable IPC container's /dev/shm tmpfs (namespace-modes.ts): mounted at start, unmounted at exit
 *   Recovery: unmounted for every container that is not running after the adoption.
 *
 * Not covered: a create that dies before its record is written leaves its directory (removed by
 * ContainerStore.open) and any anonymous volumes it had made (visible as dangling volumes).
 */
import type { Logger } from 'pino';
import type { ContainerRecord } from '../../translate/container-record.js';
import { clearIntent, hasIntent } from './intents.js';
import { unmountShareableShm } from './namespace-modes.js';
import { releasePins } from './subpath-pins.js';
import { rootfsPaths, unmountRootfs } from './rootfs.js';
import { runtimeFiles, type RuntimeDriver } from './runtime.js';

export interface RecoveryDeps {
  runtime: RuntimeDriver;
  storageDriver: string;
  logger: Logger;
  dir: (id: string) => string;
  save: (rec: ContainerRecord) => Promise<void>;
  releaseNetwork: (rec: ContainerRecord) => Promise<void>;
  /** Removes the container as `--rm` does after an exit: runtime, mounts, anonymous volumes, record. */
  remove: (rec: ContainerRecord) => Promise<void>;
}

const FREEZE_INTENTS = ['engine-frozen', 'pausing'] as const;

export type RecoveryOutcome = 'untouched' | 'thawed' | 'start-finished' | 'start-rolled-back' | 'removed';

/**
 * Undoes a freeze the engine made for a commit, or a user's pause cut off before its record said
 * paused; a finished user pause carries no marker and stays.
 */
async function thawEngineFreeze(rec: ContainerRecord, deps: RecoveryDeps): Promise<boolean> {
  const dir = deps.dir(rec.id);
  const markers = FREEZE_INTENTS.filter((i) => hasIntent(dir, i));
  if (!markers.length) return false;
  if (rec.state.status === 'running') {
    const r = await deps.runtime.resume(rec.id);
    // crun refuses to resume a container that is not frozen (died before the pause): nothing to undo.
    if (r.exitCode !== 0) deps.logger.debug({ id: rec.id, err: r.stderr }, 'resume after an interrupted commit');
  }
  if (rec.state.paused) {
    rec.state = { ...rec.state, paused: false };
    await deps.save(rec);
  }
  for (const i of markers) await clearIntent(dir, i);
  deps.logger.info({ id: rec.id, markers }, 'thawed a container an interrupted commit or pause had frozen');
  return true;
}

/** Finishes or rolls back a start the previous daemon did not complete (see the table above). */
async function settleStart(rec: ContainerRecord, deps: RecoveryDeps): Promise<RecoveryOutcome> {
  const dir = deps.dir(rec.id);
  if (!hasIntent(dir, 'starting')) return 'untouched';
  if (rec.state.status === 'running') {
    await clearIntent(dir, 'starting');
    return 'untouched';
  }
  const { runtime } = deps;
  const files = runtimeFiles(dir);
  const state = await runtime.state(rec.id);
  if (state && state.status !== 'created' && state.status !== 'creating') {
    rec.state = { status: 'running', pid: state.pid, exitCode: 0, oomKilled: false, error: '', startedAt: new Date().toISOString(), finishedAt: rec.state.finishedAt };
    await deps.save(rec);
    await clearIntent(dir, 'starting');
    deps.logger.info({ id: rec.id, runtimeStatus: state.status }, 'finished a start the previous daemon did not record');
    return 'start-finished';
  }
  // conmon first, so it cannot record an exit for the init that `crun delete --force` kills next.
  await runtime.killMonitor(rec.id, files);
  await runtime.delete(rec.id);
  await runtime.clearExit(rec.id);
  await deps.releaseNetwork(rec);
  await unmountRootfs(rootfsPaths(dir), deps.storageDriver);
  if (rec.hostConfig.AutoRemove === true) {
    deps.logger.info({ id: rec.id }, 'removed an AutoRemove container whose start was interrupted');
    await deps.remove(rec);
    return 'removed';
  }
  await deps.save(rec);
  await clearIntent(dir, 'starting');
  deps.logger.info({ id: rec.id }, 'rolled back a start the previous daemon did not finish');
  return 'start-rolled-back';
}

/** After the adoption: no lease survives a daemon, so a container that is not running has no business being mounted. */
export async function unmountIdleRootfs(recs: readonly ContainerRecord[], deps: Pick<RecoveryDeps, 'dir' | 'storageDriver'>): Promise<void> {
  for (const rec of recs) {
    // Subpath pins outlive only a start a crash cut short (subpath-pins.ts): none is needed now.
    await releasePins(deps.dir(rec.id));
    if (rec.state.status !== 'created' && rec.state.status !== 'exited') continue;
    await unmountRootfs(rootfsPaths(deps.dir(rec.id)), rec.driver || deps.storageDriver);
    // A shareable container's /dev/shm tmpfs goes at its exit; one that exited while no daemon ran keeps it until here.
    await unmountShareableShm(deps.dir(rec.id));
  }
}

/** Run once per record at daemon start, before running containers are adopted. */
export async function recoverContainer(rec: ContainerRecord, deps: RecoveryDeps): Promise<RecoveryOutcome> {
  const thawed = await thawEngineFreeze(rec, deps);
  const start = await settleStart(rec, deps);
  return start === 'untouched' && thawed ? 'thawed' : start;
}
