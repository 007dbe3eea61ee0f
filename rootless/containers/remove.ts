/**
 * Remove, prune and rename. A removal is marked at once (dockerd's RemovalInProgress: a second rm
 * gets 409, a start is refused), then waits for the container's lock: a start in progress is let
 * finish, then the container is killed (rm -f) and removed, so nothing of it comes back.
 */
import { diskUsage } from '../fs-usage.js';
import { lifecycleState, mayProceed } from '../../translate/container-lifecycle.js';
import type { ContainerRecord } from '../../translate/container-record.js';
import { containerErrors, EngineError } from '../../translate/errors.js';
import { labelMatches, parseFilters } from '../../translate/filters.js';
import { parseTimeFilter } from '../../translate/log-frames.js';
import { normalizeName } from '../../translate/names.js';
import { crashPoint } from '../debug-crash.js';
import type { ContainerCore } from './core.js';
import type { ContainerPruneResult } from './interface.js';
import { releaseMountPoints } from './mount-plan.js';
import { unmountShareableShm } from './namespace-modes.js';
import { rootfsPaths, unmountRootfs } from './rootfs.js';
import { within } from './waiters.js';

const KILL_GRACE_MS = 30_000;
/** How long a removal waits for a `docker cp` from the container to be read to its end (dockerd waits as long as it takes). */
const BORROW_GRACE_MS = 60_000;

export async function removeContainer(core: ContainerCore, ref: string, opts: { force: boolean; volumes: boolean }): Promise<void> {
  const { id } = core.store.find(ref);
  if (core.gate.inPhase(id, 'removing')) throw containerErrors.removalInProgress(ref);
  const leave = core.gate.enter(id, 'removing');
  try {
    const killed = await core.gate.locks.run(id, async () => {
      const rec = core.store.get(id);
      // Removed by an earlier holder of the lock (an AutoRemove, another rm): done, as dockerd answers.
      if (!rec) return undefined;
      // The state without this removal's own phase; a `removing` record is one a crash cut short: it may be retried.
      const state = rec.state.status === 'removing' ? 'dead' : lifecycleState({ status: rec.state.status, paused: rec.state.paused === true, restarting: rec.state.restarting === true });
      mayProceed(opts.force ? 'force-remove' : 'remove', state, { id, ref });
      if (opts.volumes) core.removeVolumes.add(id);
      core.restarts.reset(id);
      if (rec.state.status !== 'running') {
        await removeRecord(core, rec);
        return undefined;
      }
      const exited = core.waiters.add(id, 'next-exit');
      core.cancelRestart.add(id);
      core.emit(rec, 'kill', { signal: '9' });
      await core.signal(rec, 9);
      // Wrapped: a promise returned as is would be awaited under the lock, and the exit needs the lock.
      return { exited };
    });
    if (!killed) return;
    if (!(await within(killed.exited, KILL_GRACE_MS))) core.logger.warn({ id }, 'a force-removed container was not seen exiting; removing it anyway');
    await core.gate.locks.run(id, async () => {
      const rec = core.store.get(id);
      if (rec) await removeRecord(core, rec);
    });
  } catch (err) {
    core.removeVolumes.delete(id);
    throw err;
  } finally {
    leave();
  }
}

/** Under the container's lock: `removing` saved first (a daemon that dies now finishes it at restart), then everything goes. */
export async function removeRecord(core: ContainerCore, rec: ContainerRecord): Promise<void> {
  // Under the lock no new borrow starts; one under way finishes its archive before the files go.
  const idle = core.deps.rootfsIdle?.(rec.id);
  if (idle && !(await within(idle, BORROW_GRACE_MS))) core.logger.warn({ id: rec.id }, 'a copy from a removed container was not read to its end; removing it anyway');
  rec.state = { ...rec.state, status: 'removing' };
  if (core.removeVolumes.has(rec.id)) rec.removeVolumes = true;
  await core.store.save(rec);
  crashPoint('rm:after-mark');
  try {
    await finishRemove(core, rec);
  } catch (err) {
    // dockerd's Dead: what is left can be removed again, and the next daemon finishes the removal.
    rec.state = { ...rec.state, status: 'dead', error: `removal failed: ${err instanceof Error ? err.message : String(err)}` };
    await core.store.save(rec).catch((e: unknown) => core.logger.warn({ err: e, id: rec.id }, 'saving a dead container failed'));
    throw err;
  }
}

export async function finishRemove(core: ContainerCore, rec: ContainerRecord): Promise<void> {
  const { deps } = core;
  core.restarts.reset(rec.id);
  core.cancelRestart.delete(rec.id);
  core.pendingInputs.delete(rec.id);
  core.exec.forget(rec.id);
  core.health.stop(rec.id);
  core.watcher.delete(rec.id);
  await Promise.all([
    deps.runtime.delete(rec.id),
    deps.runtime.clearExit(rec.id),
    core.releaseNetwork(rec),
    unmountRootfs(rootfsPaths(core.dir(rec.id)), deps.storageDriver),
    unmountShareableShm(core.dir(rec.id)),
  ]);
  if (deps.volumes && rec.mounts) {
    // dockerd's --rm takes the anonymous volumes along, as `rm -v` does.
    await releaseMountPoints(rec.id, rec.mounts, deps.volumes, core.removeVolumes.has(rec.id) || rec.removeVolumes === true || rec.hostConfig.AutoRemove === true);
  }
  crashPoint('rm:after-volumes');
  core.removeVolumes.delete(rec.id);
  await core.store.remove(rec.id);
  core.emit(rec, 'destroy');
  core.waiters.notify(rec.id, 'removed', rec.state.exitCode);
}

export async function pruneContainers(core: ContainerCore, filters?: string): Promise<ContainerPruneResult> {
  const f = parseFilters(filters, ['until', 'label', 'label!']);
  const until = f.get('until')?.map((u) => parseTimeFilter(u, new Date()));
  const deleted: string[] = [];
  let space = 0;
  for (const candidate of core.store.all()) {
    const labels = candidate.config.Labels ?? {};
    if (!(f.get('label') ?? []).every((l) => labelMatches(labels, l))) continue;
    if ((f.get('label!') ?? []).some((l) => labelMatches(labels, l))) continue;
    if (until?.some((u) => u !== undefined && Date.parse(candidate.created) / 1000 >= u)) continue;
    const removed = await core.gate
      .locked(candidate.id, 'prune', async (rec) => {
        const size = await diskUsage(rootfsPaths(core.dir(rec.id)).upper);
        await removeRecord(core, rec);
        return size;
      })
      .catch((err: unknown) => {
        // Removed by someone else since the list was taken: nothing to prune.
        if (err instanceof EngineError && err.kind === 'not-found') return undefined;
        throw err;
      });
    if (removed === undefined) continue;
    space += removed;
    deleted.push(candidate.id);
  }
  return { deleted, spaceReclaimed: space };
}

export async function renameContainer(core: ContainerCore, ref: string, newName: string): Promise<void> {
  await core.gate.must(ref, 'rename', async (rec) => {
    if (!newName) throw containerErrors.renameEmpty();
    const name = normalizeName(newName);
    if (name === rec.name) throw containerErrors.renameSame();
    // The check and the change happen in one step, so two renames cannot take one name.
    const taken = core.store.byName(name);
    if (taken) throw containerErrors.nameInUse(name, taken.id);
    const oldName = rec.name.slice(1);
    rec.name = name;
    await core.store.save(rec);
    core.emit(rec, 'rename', { oldName });
  });
}
