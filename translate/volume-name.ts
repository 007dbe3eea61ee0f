import { invalidParameter, type EngineError } from './errors.js';

/** dockerd's names.RestrictedNameChars, quoted verbatim in its error text. */
export const VOLUME_NAME_CHARS = '[a-zA-Z0-9][a-zA-Z0-9_.-]';
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
/** NAME_MAX: the name is one path component on disk (the allowed characters are all one byte). */
export const MAX_VOLUME_NAME = 255;

/** The label dockerd (≥ 23) puts on volumes a container created for itself; prune removes only these by default. */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

/**
 * Why a name is refused for the local driver, worded like dockerd (without the "create NAME: " prefix),
 * or undefined when it is fine. The pattern admits no "/" and no leading ".", so a valid name can never
 * leave the volumes directory.
 */
export function volumeNameProblem(name: string): string | undefined {
  if (name.length === 1) return 'volume name is too short, names should be at least two alphanumeric characters';
  // The name is a directory name: past NAME_MAX, mkdir fails (ENAMETOOLONG) and dockerd answers
  // with a 500; refused up front instead, in the words of the too-short rule.
  if (name.length > MAX_VOLUME_NAME) return `volume name is too long, names should be at most ${MAX_VOLUME_NAME} characters`;
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
