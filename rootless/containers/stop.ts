/**
 * Stop, kill and restart. The signal is sent under the container's lock; the wait for the exit
 * is not (the exit is recorded under the same lock, as dockerd's containerStop waits unlocked).
 */
import type { ContainerRecord } from '../../translate/container-record.js';
import { containerErrors, internal } from '../../translate/errors.js';
import { parseSignal } from '../../translate/signals.js';
import type { ContainerCore } from './core.js';
import { userStart } from './start.js';
import { cancelRestarting } from './supervision.js';
import { within } from './waiters.js';

const DEFAULT_STOP_TIMEOUT_S = 10;
/** How long a SIGKILLed container may take to be recorded as exited before the engine gives up on it. */
const KILL_GRACE_MS = 30_000;

export interface StopOptions {
  timeout?: number;
  signal?: string;
}

/** A stop whose signal is sent: what is left is to wait for the exit, and to SIGKILL after the timeout. */
interface StopInFlight {
  rec: ContainerRecord;
  exited: Promise<number>;
  timeoutS: number;
  leave: () => void;
}

/** Under the lock: the stop signal (dockerd's StopSignal, then SIGTERM), with no restart for this exit. */
async function beginStop(core: ContainerCore, rec: ContainerRecord, opts: StopOptions): Promise<StopInFlight> {
  const sig = parseSignal(opts.signal || rec.config.StopSignal || 'SIGTERM');
  const timeoutS = opts.timeout ?? rec.config.StopTimeout ?? DEFAULT_STOP_TIMEOUT_S;
  core.cancelRestart.add(rec.id);
  const exited = core.waiters.add(rec.id, 'next-exit');
  const leave = core.gate.enter(rec.id, 'stopping');
  try {
    core.emit(rec, 'kill', { signal: String(sig) });
    await core.signal(rec, sig);
  } catch (err) {
    leave();
    throw err;
  }
  return { rec, exited, timeoutS, leave };
}

/** Outside the lock: waits for the exit; after the timeout a SIGKILL, sent under the lock again. */
async function finishStop(core: ContainerCore, stop: StopInFlight): Promise<void> {
  const { rec, exited, timeoutS } = stop;
  try {
    if (timeoutS < 0) {
      await exited;
      return;
    }
    if (await within(exited, timeoutS * 1000)) return;
    await core.gate.locks.run(rec.id, async () => {
      if (core.store.get(rec.id)?.state.status !== 'running') return;
      core.emit(rec, 'kill', { signal: '9' });
      await core.signal(rec, 9);
    });
    if (!(await within(exited, KILL_GRACE_MS))) throw internal(`container ${rec.id} did not exit after SIGKILL`);
  } finally {
    stop.leave();
  }
}

export async function stopContainer(core: ContainerCore, ref: string, opts: StopOptions): Promise<void> {
  let rec: ContainerRecord | undefined;
  const stop = await core.gate.must(ref, 'stop', async (r) => {
    rec = r;
    r.manuallyStopped = true;
    // Waiting out a restart back-off: the stop ends it, nothing runs to signal.
    if (r.state.status !== 'running') {
      await cancelRestarting(core, r);
      await core.store.save(r);
      return undefined;
    }
    await core.store.save(r);
    return beginStop(core, r, opts);
  });
  if (stop) await finishStop(core, stop);
  if (rec) core.emit(rec, 'stop');
}

export async function killContainer(core: ContainerCore, ref: string, signal?: string): Promise<void> {
  const sig = parseSignal(signal || 'SIGKILL');
  const exited = await core.gate.must(ref, 'kill', async (rec) => {
    // dockerd's ExitOnNext: a SIGKILL from the user is not a failure to restart from.
    const exit = sig === 9 ? core.waiters.add(rec.id, 'next-exit') : undefined;
    if (sig === 9) core.cancelRestart.add(rec.id);
    core.emit(rec, 'kill', { signal: String(sig) });
    await core.signal(rec, sig);
    // Wrapped: a promise returned as is would be awaited under the lock, and the exit needs the lock.
    return { exit };
  });
  // dockerd returns from a SIGKILL only once the container is gone, so `kill; inspect` sees it exited.
  if (exited.exit) await within(exited.exit, 10_000);
}

/** dockerd's restart: a stop if it runs, then a start; other clients may act in between, as with dockerd. */
export async function restartContainer(core: ContainerCore, ref: string, opts: StopOptions): Promise<void> {
  const { id } = core.store.find(ref);
  try {
    const stop = await core.gate.must(ref, 'restart', async (rec) => {
      await cancelRestarting(core, rec);
      if (rec.state.status !== 'running') return undefined;
      // The stop's exit is not the end of an AutoRemove container: it starts again.
      core.manualRestarts.add(id);
      return beginStop(core, rec, opts);
    });
    if (stop) await finishStop(core, stop);
    const started = await core.gate.locks.run(id, async () => {
      const rec = core.store.get(id);
      if (!rec) throw containerErrors.noSuchContainer(ref);
      const state = core.gate.state(rec);
      // Started by someone else meanwhile: the restart's start has nothing left to do.
      if (state === 'running' || state === 'paused') return rec;
      if (state === 'removing' || state === 'dead') throw containerErrors.startRemoving();
      core.manualRestarts.delete(id);
      await userStart(core, rec);
      return rec;
    });
    core.emit(started, 'restart');
  } finally {
    core.manualRestarts.delete(id);
  }
}
