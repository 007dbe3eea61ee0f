/**
 * The container state machine: which state a container is in, which verbs each state allows, and
 * dockerd's error (message and status, from the catalogue in errors.ts) for a verb it refuses.
 * Pure: the engine's lifecycle (rootless/containers/) asks it under the container's lock.
 *
 * dockerd keeps Running, Paused, Restarting, RemovalInProgress and Dead as flags on one State;
 * here they are folded into one state, with the transient phases (a start, stop or removal in
 * progress) the engine holds in memory while the persisted record says the rest.
 */
import type { ContainerStatus } from './container-record.js';
import { containerErrors, type EngineError } from './errors.js';

export type LifecycleState = 'created' | 'starting' | 'running' | 'paused' | 'restarting' | 'stopping' | 'removing' | 'exited' | 'dead';

export const LIFECYCLE_STATES: readonly LifecycleState[] = ['created', 'starting', 'running', 'paused', 'restarting', 'stopping', 'removing', 'exited', 'dead'];

/** What is going on right now, held in memory by the engine (never persisted as such). */
export type LifecyclePhase = 'starting' | 'stopping' | 'removing';

export interface LifecycleFacts {
  status: ContainerStatus;
  paused?: boolean;
  restarting?: boolean;
  /** Phases under way; several can overlap (a removal asked while a stop waits for the exit). */
  phases?: ReadonlySet<LifecyclePhase>;
}

/** One state from the record and the phases; a removal outranks everything, as dockerd's RemovalInProgress does. */
export function lifecycleState(f: LifecycleFacts): LifecycleState {
  if (f.phases?.has('removing') || f.status === 'removing') return 'removing';
  if (f.status === 'dead') return 'dead';
  if (f.phases?.has('starting')) return 'starting';
  if (f.status === 'running') {
    if (f.restarting) return 'restarting';
    // Frozen is what a client can act on (unpause) even while a stop waits for the exit.
    if (f.paused) return 'paused';
    return f.phases?.has('stopping') ? 'stopping' : 'running';
  }
  if (f.restarting) return 'restarting';
  return f.status === 'created' ? 'created' : 'exited';
}

export type LifecycleVerb =
  | 'start'
  | 'stop'
  | 'kill'
  | 'restart'
  | 'pause'
  | 'unpause'
  | 'update'
  | 'rename'
  | 'exec'
  | 'commit'
  | 'archive'
  | 'attach'
  | 'resize'
  | 'remove'
  | 'force-remove'
  | 'prune'
  | 'health-probe'
  | 'auto-restart';

/** How the error names the container: dockerd uses the ID for most, the client's reference for some. */
export interface ContainerNames {
  id: string;
  ref: string;
}

/** What a verb may do in a state: go ahead, do nothing (skip, for the engine's own work), or refuse. */
export type Verdict = { allow: true } | { allow: false; error?: EngineError };

const ALLOW: Verdict = { allow: true };
const SKIP: Verdict = { allow: false };
const refuse = (error: EngineError): Verdict => ({ allow: false, error });

/** A process is there to signal or exec into (a stop in progress still has it). */
const live = (s: LifecycleState): boolean => s === 'running' || s === 'paused' || s === 'stopping';

/** dockerd's answer for `verb` on a container in `state`. */
export function verdict(verb: LifecycleVerb, state: LifecycleState, who: ContainerNames): Verdict {
  const { id, ref } = who;
  switch (verb) {
    case 'start':
      if (state === 'created' || state === 'exited') return ALLOW;
      if (state === 'paused') return refuse(containerErrors.startPaused());
      if (state === 'removing' || state === 'dead') return refuse(containerErrors.startRemoving());
      // running, starting, stopping, restarting: dockerd's Running flag is set for all of them.
      return refuse(containerErrors.alreadyStarted());
    case 'stop':
      // A restart back-off is ended by a stop, as dockerd's stop of a restarting container.
      return live(state) || state === 'restarting' ? ALLOW : refuse(containerErrors.alreadyStopped());
    case 'kill':
      if (live(state)) return ALLOW;
      if (state === 'restarting') return refuse(containerErrors.restarting(id));
      return refuse(containerErrors.notRunning(id));
    case 'restart':
      return state === 'removing' || state === 'dead' ? refuse(containerErrors.startRemoving()) : ALLOW;
    case 'pause':
      // A stop waiting out its timeout still has a running container to freeze, as dockerd does.
      if (state === 'running' || state === 'stopping') return ALLOW;
      if (state === 'paused') return refuse(containerErrors.alreadyPaused(id));
      if (state === 'restarting') return refuse(containerErrors.restarting(id));
      return refuse(containerErrors.notRunning(id));
    case 'unpause':
      return state === 'paused' ? ALLOW : refuse(containerErrors.notPaused(id));
    case 'update':
      return state === 'removing' || state === 'dead' ? refuse(containerErrors.updateRemoving(id)) : ALLOW;
    case 'rename':
    case 'archive':
      return ALLOW;
    case 'exec':
      if (state === 'running' || state === 'stopping') return ALLOW;
      if (state === 'paused') return refuse(containerErrors.execPaused(id));
      if (state === 'restarting') return refuse(containerErrors.restarting(id));
      return refuse(containerErrors.execNotRunning(id));
    case 'commit':
      if (state === 'removing') return refuse(containerErrors.commitRemoving(id));
      if (state === 'dead') return refuse(containerErrors.commitDead(id));
      return ALLOW;
    case 'attach':
      return state === 'paused' ? refuse(containerErrors.attachPaused(ref)) : ALLOW;
    case 'resize':
      return live(state) ? ALLOW : refuse(containerErrors.notRunning(id));
    case 'remove':
      if (state === 'removing') return refuse(containerErrors.removalInProgress(ref));
      if (state === 'paused') return refuse(containerErrors.removePaused(ref));
      if (state === 'restarting') return refuse(containerErrors.removeRunning(ref, 'restarting'));
      if (live(state) || state === 'starting') return refuse(containerErrors.removeRunning(ref, 'running'));
      return ALLOW;
    case 'force-remove':
      return state === 'removing' ? refuse(containerErrors.removalInProgress(ref)) : ALLOW;
    case 'prune':
      return state === 'created' || state === 'exited' || state === 'dead' ? ALLOW : SKIP;
    case 'health-probe':
      return state === 'running' ? ALLOW : SKIP;
    case 'auto-restart':
      return state === 'restarting' || state === 'exited' ? ALLOW : SKIP;
  }
}

/** Throws dockerd's error when `verb` is refused; false when it is to be skipped quietly. */
export function mayProceed(verb: LifecycleVerb, state: LifecycleState, who: ContainerNames): boolean {
  const v = verdict(verb, state, who);
  if (v.allow) return true;
  if (v.error) throw v.error;
  return false;
}

/** The moves the engine makes; anything else is a bug in the engine (stateMachine tests pin them). */
export type LifecycleEvent =
  | 'start'
  | 'started'
  | 'start-failed'
  | 'exit'
  | 'pause'
  | 'unpause'
  | 'stop'
  | 'schedule-restart'
  | 'cancel-restart'
  | 'remove'
  | 'removed'
  | 'remove-failed';

const TRANSITIONS: Record<LifecycleState, Partial<Record<LifecycleEvent, LifecycleState | 'gone'>>> = {
  created: { start: 'starting', remove: 'removing' },
  exited: { start: 'starting', remove: 'removing', 'schedule-restart': 'restarting' },
  restarting: { start: 'starting', 'cancel-restart': 'exited', remove: 'removing' },
  starting: { started: 'running', 'start-failed': 'exited' },
  running: { exit: 'exited', pause: 'paused', stop: 'stopping', remove: 'removing' },
  paused: { unpause: 'running', exit: 'exited', stop: 'stopping', remove: 'removing' },
  stopping: { exit: 'exited', pause: 'paused', remove: 'removing' },
  removing: { removed: 'gone', 'remove-failed': 'dead', exit: 'removing' },
  dead: { remove: 'removing' },
};

/** The state after `event`, or undefined when dockerd's lifecycle has no such move. */
export function nextState(state: LifecycleState, event: LifecycleEvent): LifecycleState | 'gone' | undefined {
  return TRANSITIONS[state][event];
}

/** dockerd's State.Status strings, the only ones inspect and `ps --filter status=` know. */
export const DOCKER_STATUSES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'] as const;
