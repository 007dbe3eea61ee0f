import { invalidParameter, type EngineError } from './errors.js';

/** dockerd's names.RestrictedNameChars, quoted verbatim in its error text. */
export const VOLUME_NAME_CHARS = '[a-zA-Z0-9][a-zA-Z0-9_.-]';
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** The label dockerd (≥ 23) puts on volumes a container created for itself; prune removes only these by default. */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

/**
 * Why a name is refused for the local driver, worded like dockerd (without the "create NAME: " prefix),
 * or undefined when it is fine. The pattern admits no "/" and no leading ".", so a valid name can never
 * leave the volumes directory.
 */
export function volumeNameProblem(name: string): string | undefined {
  if (name.length === 1) return 'volume name is too short, names should be at least two alphanumeric characters';
  if (!VOLUME_NAME.test(name)) {
    return `${JSON.stringify(name)} includes invalid characters for a local volume name, only ${JSON.stringify(VOLUME_NAME_CHARS)} are allowed. If you intended to pass a host directory, use absolute path`;
  }
  return undefined;
}

/** dockerd reports a refused name as a failed create operation. */
export function invalidVolumeName(name: string): EngineError | undefined {
  const problem = volumeNameProblem(name);
  return problem === undefined ? undefined : invalidParameter(`create ${name}: ${problem}`);
}
