import { describe, expect, it } from 'vitest';
import {
  LIFECYCLE_STATES,
  lifecycleState,
  mayProceed,
  nextState,
  verdict,
  type LifecyclePhase,
  type LifecycleState,
  type LifecycleVerb,
} from '../translate/container-lifecycle.js';
import { EngineError } from '../translate/errors.js';

const who = { id: 'c0ffee'.padEnd(64, '0'), ref: 'web' };
const phases = (...p: LifecyclePhase[]): ReadonlySet<LifecyclePhase> => new Set(p);

/** `ok`, `skip`, or the status and message dockerd answers. */
function outcome(verb: LifecycleVerb, state: LifecycleState): 'ok' | 'skip' | [number, string] {
  const v = verdict(verb, state, who);
  if (v.allow) return 'ok';
  if (!v.error) return 'skip';
  return [v.error.statusCode, v.error.message];
}

describe('lifecycleState', () => {
  it('folds the record and the phases into one state', () => {
    expect(lifecycleState({ status: 'created' })).toBe('created');
    expect(lifecycleState({ status: 'exited' })).toBe('exited');
    expect(lifecycleState({ status: 'running' })).toBe('running');
    expect(lifecycleState({ status: 'running', paused: true })).toBe('paused');
    expect(lifecycleState({ status: 'exited', restarting: true })).toBe('restarting');
    expect(lifecycleState({ status: 'running', restarting: true })).toBe('restarting');
    expect(lifecycleState({ status: 'dead' })).toBe('dead');
    expect(lifecycleState({ status: 'removing' })).toBe('removing');
    expect(lifecycleState({ status: 'created', phases: phases('starting') })).toBe('starting');
    expect(lifecycleState({ status: 'exited', restarting: true, phases: phases('starting') })).toBe('starting');
    expect(lifecycleState({ status: 'running', phases: phases('stopping') })).toBe('stopping');
    // A paused container a stop is waiting on is still paused: unpause is what a client can do with it.
    expect(lifecycleState({ status: 'running', paused: true, phases: phases('stopping') })).toBe('paused');
  });

  it('a removal outranks every other phase', () => {
    expect(lifecycleState({ status: 'running', phases: phases('stopping', 'removing') })).toBe('removing');
    expect(lifecycleState({ status: 'created', phases: phases('starting', 'removing') })).toBe('removing');
    expect(lifecycleState({ status: 'dead', phases: phases('removing') })).toBe('removing');
  });

  it('a stopping phase of a container that no longer runs is just exited', () => {
    expect(lifecycleState({ status: 'exited', phases: phases('stopping') })).toBe('exited');
  });
});

describe('verdict: dockerd\'s answer for each verb in each state', () => {
  it('start', () => {
    expect(outcome('start', 'created')).toBe('ok');
    expect(outcome('start', 'exited')).toBe('ok');
    for (const s of ['running', 'starting', 'stopping', 'restarting'] as const) expect(outcome('start', s)).toEqual([304, 'container already started']);
    expect(outcome('start', 'paused')).toEqual([409, 'cannot start a paused container, try unpause instead']);
    expect(outcome('start', 'removing')).toEqual([409, 'container is marked for removal and cannot be started']);
    expect(outcome('start', 'dead')).toEqual([409, 'container is marked for removal and cannot be started']);
  });

  it('stop and kill', () => {
    for (const s of ['running', 'paused', 'stopping', 'restarting'] as const) expect(outcome('stop', s)).toBe('ok');
    for (const s of ['created', 'exited', 'removing', 'dead', 'starting'] as const) expect(outcome('stop', s)).toEqual([304, 'container already stopped']);
    for (const s of ['running', 'paused', 'stopping'] as const) expect(outcome('kill', s)).toBe('ok');
    expect(outcome('kill', 'restarting')).toEqual([409, `Container ${who.id} is restarting, wait until the container is running`]);
    for (const s of ['created', 'exited', 'removing', 'dead'] as const) expect(outcome('kill', s)).toEqual([409, `Container ${who.id} is not running`]);
  });

  it('restart works from every state but a removal', () => {
    for (const s of LIFECYCLE_STATES.filter((x) => x !== 'removing' && x !== 'dead')) expect(outcome('restart', s)).toBe('ok');
    expect(outcome('restart', 'removing')).toEqual([409, 'container is marked for removal and cannot be started']);
  });

  it('pause and unpause', () => {
    expect(outcome('pause', 'running')).toBe('ok');
    expect(outcome('pause', 'stopping')).toBe('ok');
    expect(outcome('pause', 'paused')).toEqual([409, `Container ${who.id} is already paused`]);
    expect(outcome('pause', 'restarting')).toEqual([409, `Container ${who.id} is restarting, wait until the container is running`]);
    for (const s of ['created', 'exited', 'removing', 'dead'] as const) expect(outcome('pause', s)).toEqual([409, `Container ${who.id} is not running`]);
    expect(outcome('unpause', 'paused')).toBe('ok');
    for (const s of LIFECYCLE_STATES.filter((x) => x !== 'paused')) expect(outcome('unpause', s)).toEqual([409, `Container ${who.id} is not paused`]);
  });

  it('exec', () => {
    expect(outcome('exec', 'running')).toBe('ok');
    expect(outcome('exec', 'paused')).toEqual([409, `Container ${who.id} is paused, unpause the container before exec`]);
    expect(outcome('exec', 'restarting')).toEqual([409, `Container ${who.id} is restarting, wait until the container is running`]);
    for (const s of ['created', 'exited', 'removing', 'dead'] as const) expect(outcome('exec', s)).toEqual([409, `container ${who.id} is not running`]);
  });

  it('remove, without and with force', () => {
    for (const s of ['created', 'exited', 'dead'] as const) expect(outcome('remove', s)).toBe('ok');
    for (const s of ['running', 'stopping', 'starting'] as const) {
      expect(outcome('remove', s)).toEqual([409, 'cannot remove container "web": container is running: stop the container before removing or force remove']);
    }
    expect(outcome('remove', 'restarting')).toEqual([409, 'cannot remove container "web": container is restarting: stop the container before removing or force remove']);
    expect(outcome('remove', 'paused')).toEqual([409, 'cannot remove container "web": container is paused and must be unpaused first']);
    expect(outcome('remove', 'removing')).toEqual([409, 'removal of container web is already in progress']);
    for (const s of LIFECYCLE_STATES.filter((x) => x !== 'removing')) expect(outcome('force-remove', s)).toBe('ok');
    expect(outcome('force-remove', 'removing')).toEqual([409, 'removal of container web is already in progress']);
  });

  it('update, commit, attach, resize, rename, archive', () => {
    expect(outcome('update', 'running')).toBe('ok');
    expect(outcome('update', 'removing')).toEqual([409, `Cannot update container ${who.id}: container is marked for removal and cannot be "update"`]);
    expect(outcome('commit', 'exited')).toBe('ok');
    expect(outcome('commit', 'removing')).toEqual([409, `You cannot commit container ${who.id} which is being removed`]);
    expect(outcome('commit', 'dead')).toEqual([409, `You cannot commit container ${who.id} which is Dead`]);
    expect(outcome('attach', 'created')).toBe('ok');
    expect(outcome('attach', 'paused')).toEqual([409, 'container web is paused, unpause the container before attach']);
    expect(outcome('resize', 'running')).toBe('ok');
    expect(outcome('resize', 'exited')).toEqual([409, `Container ${who.id} is not running`]);
    for (const s of LIFECYCLE_STATES) {
      expect(outcome('rename', s)).toBe('ok');
      expect(outcome('archive', s)).toBe('ok');
    }
  });

  it('the engine\'s own verbs skip quietly instead of failing', () => {
    for (const s of LIFECYCLE_STATES) {
      expect(outcome('prune', s)).toBe(['created', 'exited', 'dead'].includes(s) ? 'ok' : 'skip');
      expect(outcome('health-probe', s)).toBe(s === 'running' ? 'ok' : 'skip');
      expect(outcome('auto-restart', s)).toBe(s === 'restarting' || s === 'exited' ? 'ok' : 'skip');
    }
  });

  it('every refusal is a 304 or a 409, never a 500', () => {
    const verbs: LifecycleVerb[] = ['start', 'stop', 'kill', 'restart', 'pause', 'unpause', 'update', 'rename', 'exec', 'commit', 'archive', 'attach', 'resize', 'remove', 'force-remove'];
    for (const verb of verbs) {
      for (const s of LIFECYCLE_STATES) {
        const v = verdict(verb, s, who);
        if (!v.allow) {
          expect(v.error).toBeInstanceOf(EngineError);
          expect([304, 409]).toContain(v.error?.statusCode);
        }
      }
    }
  });

  it('mayProceed throws the refusal and returns false for a skip', () => {
    expect(mayProceed('start', 'created', who)).toBe(true);
    expect(mayProceed('prune', 'running', who)).toBe(false);
    expect(() => mayProceed('kill', 'exited', who)).toThrow(`Container ${who.id} is not running`);
  });
});

describe('nextState: the moves dockerd\'s lifecycle has', () => {
  it('a container goes created → starting → running → stopping → exited → removing → gone', () => {
    let s: LifecycleState | 'gone' | undefined = 'created';
    for (const e of ['start', 'started', 'stop', 'exit', 'remove', 'removed'] as const) s = nextState(s as LifecycleState, e);
    expect(s).toBe('gone');
  });

  it('pause, restart back-off, failed start and failed removal', () => {
    expect(nextState('running', 'pause')).toBe('paused');
    expect(nextState('paused', 'unpause')).toBe('running');
    expect(nextState('exited', 'schedule-restart')).toBe('restarting');
    expect(nextState('restarting', 'start')).toBe('starting');
    expect(nextState('restarting', 'cancel-restart')).toBe('exited');
    expect(nextState('starting', 'start-failed')).toBe('exited');
    expect(nextState('removing', 'remove-failed')).toBe('dead');
  });

  it('refuses the moves dockerd never makes', () => {
    expect(nextState('created', 'pause')).toBeUndefined();
    expect(nextState('exited', 'unpause')).toBeUndefined();
    expect(nextState('removing', 'start')).toBeUndefined();
    expect(nextState('paused', 'pause')).toBeUndefined();
    expect(nextState('dead', 'start')).toBeUndefined();
    expect(nextState('starting', 'remove')).toBeUndefined();
  });

  it('every state the verdicts allow a start from has a start move', () => {
    for (const s of LIFECYCLE_STATES) {
      if (verdict('start', s, who).allow) expect(nextState(s, 'start')).toBe('starting');
      if (verdict('pause', s, who).allow) expect(nextState(s, 'pause')).toBe('paused');
      if (verdict('unpause', s, who).allow) expect(nextState(s, 'unpause')).toBe('running');
    }
  });
});
