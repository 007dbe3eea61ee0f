/**
 * Supervision: the exits conmon reports (recorded under the container's lock), the restart policy
 * with dockerd's back-off, and the adoption of containers a previous daemon left running.
 */
import type { ContainerRecord } from '../../translate/container-record.js';
import { ZERO_TIME } from '../../translate/container-record.js';
import { shouldRestart } from '../../translate/restart-policy.js';
import type { ContainerCore } from './core.js';
import { reacquireMountPoints } from './mount-plan.js';
import { phaseTimer } from './phase-timer.js';
import { recoverContainer, unmountIdleRootfs, type RecoveryDeps } from './recovery.js';
import { finishRemove, removeRecord } from './remove.js';
import { rootfsPaths, unmountRootfs } from './rootfs.js';
import { unmountShareableShm } from './namespace-modes.js';
import { runtimeFiles } from './runtime.js';
import { startRecord } from './start.js';
import { emitVolumeMounts } from './volume-events.js';

/** Records the exit conmon reported; calls while one is queued or under way share it. */
export function handleExit(core: ContainerCore, id: string): Promise<void> {
  const busy = core.exiting.get(id);
  if (busy) return busy;
  const p = core.gate.locks
    .run(id, () => recordExit(core, id))
    .catch((err: unknown) => core.logger.error({ err, id }, 'recording a container exit failed'))
    .finally(() => core.exiting.delete(id));
  core.exiting.set(id, p);
  return p;
}

/** Under the lock: a running container whose exit file is there becomes exited, and its resources go. */
async function recordExit(core: ContainerCore, id: string): Promise<void> {
  const { deps } = core;
  const rec = core.store.get(id);
  if (!rec || rec.state.status !== 'running') return;
  const info = await deps.runtime.readExit(id, runtimeFiles(core.dir(id)));
  if (!info) return;
  core.watcher.delete(id);
  core.health.stop(id);
  const timer = phaseTimer(core.logger, 'container exit phases', id);
  // The processes are gone: the runtime state, the network and the rootfs mount are cleaned up side by side.
  await Promise.all([
    deps.runtime.delete(id),
    core.releaseNetwork(rec),
    unmountRootfs(rootfsPaths(core.dir(id)), deps.storageDriver),
    unmountShareableShm(core.dir(id)),
    core.logKeeper.exited(rec),
  ]);
  timer.mark('cleanup');
  emitVolumeMounts(deps.events, rec, 'unmount');
  await deps.runtime.clearExit(id);
  rec.state = { ...rec.state, status: 'exited', pid: 0, paused: false, exitCode: info.exitCode, oomKilled: info.oomKilled, finishedAt: new Date().toISOString() };
  await core.store.save(rec);
  timer.mark('save');
  timer.done();
  if (info.oomKilled) core.emit(rec, 'oom');
  const ranMs = Date.now() - Date.parse(rec.state.startedAt);
  core.emit(rec, 'die', { exitCode: String(info.exitCode), execDuration: String(Math.max(0, Math.round(ranMs / 1000))) });
  core.exec.forget(id);
  core.waiters.notify(id, 'exit', info.exitCode);
  if (rec.hostConfig.AutoRemove && !core.gate.inPhase(id, 'removing') && !core.manualRestarts.has(id)) await removeRecord(core, rec);
  else await afterExit(core, rec);
}

/** Under the lock: schedules the restart the policy asks for, with dockerd's back-off. */
async function afterExit(core: ContainerCore, rec: ContainerRecord): Promise<void> {
  const cancelled = core.cancelRestart.delete(rec.id);
  const facts = { exitCode: rec.state.exitCode, restartCount: rec.restartCount, manuallyStopped: rec.manuallyStopped === true };
  if (cancelled || core.gate.inPhase(rec.id, 'removing') || !shouldRestart(rec.hostConfig.RestartPolicy, facts)) return;
  rec.state = { ...rec.state, restarting: true };
  await core.store.save(rec).catch((err: unknown) => core.logger.warn({ err, id: rec.id }, 'saving the restarting state failed'));
  const ranMs = rec.state.startedAt === ZERO_TIME ? 0 : Date.parse(rec.state.finishedAt) - Date.parse(rec.state.startedAt);
  core.restarts.schedule(rec.id, ranMs, () => void autoRestart(core, rec.id, 'back-off'));
}

/**
 * The restart policy's start, under the lock. After a back-off only a container still waiting
 * for it is started (a stop or start meanwhile ended the restarting); at adoption any exited one.
 */
async function autoRestart(core: ContainerCore, id: string, why: 'back-off' | 'adoption'): Promise<void> {
  await core.gate
    .locked(id, 'auto-restart', async (rec) => {
      if (why === 'back-off' && rec.state.restarting !== true) return;
      rec.restartCount += 1;
      try {
        await startRecord(core, rec);
        rec.state = { ...rec.state, restarting: false };
        await core.store.save(rec);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        core.logger.warn({ id, err: message }, 'automatic restart failed');
        rec.state = { ...rec.state, restarting: false, error: message, finishedAt: new Date().toISOString() };
        await core.store.save(rec).catch((e: unknown) => core.logger.warn({ err: e, id }, 'saving a failed automatic restart failed'));
        await afterExit(core, rec);
      }
    })
    .catch((err: unknown) => core.logger.debug({ err, id }, 'automatic restart dropped: the container is gone'));
}

/** Under the lock: a stop or restart while waiting out the back-off ends the restarting. */
export async function cancelRestarting(core: ContainerCore, rec: ContainerRecord): Promise<boolean> {
  if (!rec.state.restarting && !core.restarts.pending(rec.id)) return false;
  core.restarts.reset(rec.id);
  rec.state = { ...rec.state, restarting: false };
  await core.store.save(rec);
  return true;
}

function recoveryDeps(core: ContainerCore): RecoveryDeps {
  return {
    runtime: core.deps.runtime,
    storageDriver: core.deps.storageDriver,
    logger: core.logger,
    dir: (id) => core.dir(id),
    save: (rec) => core.store.save(rec),
    releaseNetwork: (rec) => core.releaseNetwork(rec),
    remove: (rec) => removeRecord(core, rec),
  };
}

/** Picks up where a previous daemon left off: running containers stay managed, exits that happened meanwhile are recorded. */
export async function adoptContainers(core: ContainerCore): Promise<void> {
  const { deps, store } = core;
  await deps.runtime.init();
  core.watcher.start();
  const { volumes } = deps;
  if (volumes) {
    for (const rec of store.all()) {
      for (const volume of reacquireMountPoints(rec.id, rec.mounts ?? [], volumes)) core.logger.warn({ id: rec.id, volume }, 'a volume the container names is gone');
    }
  }
  for (const rec of store.all()) {
    const files = runtimeFiles(core.dir(rec.id));
    // Starts and commit freezes the previous daemon died in the middle of are settled first (recovery.ts).
    if ((await recoverContainer(rec, recoveryDeps(core))) === 'removed') continue;
    // dockerd's restore removes what a removal left behind, dead containers included.
    if (rec.state.status === 'removing' || rec.state.status === 'dead') {
      // A removal that keeps failing leaves the container dead (rm can retry), never a daemon that cannot start.
      await finishRemove(core, rec).catch((err: unknown) => core.logger.warn({ err, id: rec.id }, 'finishing an interrupted removal failed'));
    } else if (rec.state.status === 'running') {
      core.watcher.add(rec.id);
      core.logKeeper.started(rec);
      if (await deps.runtime.readExit(rec.id, files)) {
        await handleExit(core, rec.id);
      } else if (!(await deps.runtime.monitorAlive(files))) {
        core.watcher.delete(rec.id);
        await core.logKeeper.exited(rec);
        await deps.runtime.delete(rec.id);
        await unmountRootfs(rootfsPaths(core.dir(rec.id)), deps.storageDriver);
        rec.state = { ...rec.state, status: 'exited', pid: 0, exitCode: 255, error: 'container monitor (conmon) is gone', finishedAt: new Date().toISOString() };
        await store.save(rec);
        await afterExit(core, rec);
      }
    }
  }
  await unmountIdleRootfs(store.all(), recoveryDeps(core));
  // dockerd's restore: an adopted running container's health starts over; a paused one resumes probing at unpause.
  for (const rec of store.all()) {
    if (rec.state.status === 'running' && !rec.state.paused) core.health.init(rec);
  }
  // dockerd's restore: containers that ran before and whose policy says so come back up.
  for (const rec of store.all()) {
    if (rec.state.status !== 'exited' || rec.state.startedAt === ZERO_TIME || core.restarts.pending(rec.id)) continue;
    if (rec.state.restarting || shouldRestart(rec.hostConfig.RestartPolicy, { exitCode: rec.state.exitCode, restartCount: rec.restartCount, manuallyStopped: rec.manuallyStopped === true })) {
      void autoRestart(core, rec.id, 'adoption');
    }
  }
}
