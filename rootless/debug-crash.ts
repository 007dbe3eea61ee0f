/**
 * A test hook for crash recovery: `BURROW_DEBUG_CRASH_AT=<step>` makes the daemon SIGKILL itself
 * the moment it reaches that step, so a test can stop an operation between two of its steps
 * deterministically instead of racing a `kill -9` against it. The variable is read once, when the
 * daemon starts; with it unset every crash point is a no-op. The steps are listed (and what
 * recovery does after each) at the top of rootless/containers/recovery.ts.
 */

export const CRASH_STEPS = [
  'start:after-mark',
  'start:after-mount',
  'start:after-runtime-create',
  'start:after-runtime-start',
  'pause:after-freeze',
  'commit:after-freeze',
  'lease:after-mount',
  'rm:after-mark',
  'rm:after-volumes',
] as const;

export type CrashStep = (typeof CRASH_STEPS)[number];

let armed: CrashStep | undefined;

/** Reads the variable (once, at daemon start); returns the armed step, for the daemon to log. */
export function armCrashHook(env: NodeJS.ProcessEnv): CrashStep | undefined {
  const step = env.BURROW_DEBUG_CRASH_AT;
  if (!step) return undefined;
  if (!(CRASH_STEPS as readonly string[]).includes(step)) throw new Error(`BURROW_DEBUG_CRASH_AT: unknown step "${step}" (one of ${CRASH_STEPS.join(', ')})`);
  armed = step as CrashStep;
  return armed;
}

/** Dies here, as `kill -9` would, when this is the armed step: nothing after this line runs. */
export function crashPoint(step: CrashStep): void {
  // SIGKILL to oneself is delivered before kill(2) returns to user space.
  if (armed === step) process.kill(process.pid, 'SIGKILL');
}
