/**
 * The way into a container for every operation: its lock, its phases (a start, stop or removal
 * under way), and the state machine's verdict (translate/container-lifecycle.ts) checked under the
 * lock. Shared by the lifecycle, exec, resources (pause, unpause, update) and the container tools.
 */
import type { ContainerRecord } from '../../translate/container-record.js';
import { lifecycleState, mayProceed, type LifecyclePhase, type LifecycleState, type LifecycleVerb } from '../../translate/container-lifecycle.js';
import { containerErrors } from '../../translate/errors.js';
import { KeyedLocks } from '../keyed-locks.js';
import type { ContainerStore } from './store.js';

export class ContainerGate {
  readonly locks = new KeyedLocks();
  private readonly phases = new Map<string, Set<LifecyclePhase>>();

  constructor(readonly store: ContainerStore) {}

  state(rec: ContainerRecord): LifecycleState {
    const phases = this.phases.get(rec.id);
    return lifecycleState({ status: rec.state.status, paused: rec.state.paused === true, restarting: rec.state.restarting === true, ...(phases ? { phases } : {}) });
  }

  inPhase(id: string, phase: LifecyclePhase): boolean {
    return this.phases.get(id)?.has(phase) === true;
  }

  /** Marks a phase; the returned function ends it. */
  enter(id: string, phase: LifecyclePhase): () => void {
    const set = this.phases.get(id) ?? new Set<LifecyclePhase>();
    set.add(phase);
    this.phases.set(id, set);
    return () => {
      set.delete(phase);
      if (set.size === 0 && this.phases.get(id) === set) this.phases.delete(id);
    };
  }

  /**
   * Finds `ref`, takes its container's lock, looks again (an operation that held the lock before
   * may have removed it: 404), and runs `work` if the state machine allows `verb`; throws dockerd's
   * error when it refuses, returns undefined when it says skip.
   */
  async locked<T>(ref: string, verb: LifecycleVerb, work: (rec: ContainerRecord) => Promise<T>): Promise<T | undefined> {
    const { id } = this.store.find(ref);
    return this.locks.run(id, async () => {
      const rec = this.store.get(id);
      if (!rec) throw containerErrors.noSuchContainer(ref);
      if (!mayProceed(verb, this.state(rec), { id, ref })) return undefined;
      return work(rec);
    });
  }

  /** As `locked`, for verbs the state machine never skips. */
  async must<T>(ref: string, verb: LifecycleVerb, work: (rec: ContainerRecord) => Promise<T>): Promise<T> {
    return (await this.locked(ref, verb, async (rec) => ({ value: await work(rec) })))?.value as T;
  }
}
