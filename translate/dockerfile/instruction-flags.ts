/**
 * The `--flags` each instruction accepts, checked when the Dockerfile is parsed, before any step
 * runs, as dockerd does: its classic builder parses with buildkit's instruction parser, which knows
 * every flag BuildKit has (RUN --mount parses; the step then refuses it, see builder.ts).
 */
import { invalidParameter } from '../errors.js';
import { withSuggestion } from './suggest.js';

type FlagKind = 'bool' | 'string';

const FLAGS: Readonly<Record<string, Readonly<Record<string, FlagKind>>>> = {
  ADD: { chown: 'string', chmod: 'string', link: 'bool', 'keep-git-dir': 'bool', checksum: 'string', exclude: 'string' },
  COPY: { chown: 'string', from: 'string', chmod: 'string', link: 'bool', parents: 'bool', exclude: 'string' },
  FROM: { platform: 'string' },
  RUN: { mount: 'string', network: 'string' },
  HEALTHCHECK: { interval: 'string', timeout: 'string', 'start-period': 'string', 'start-interval': 'string', retries: 'string' },
};

export interface WrittenFlag {
  name: string;
  /** undefined when written without `=`. */
  value: string | undefined;
}

/** dockerd's message for the first flag `cmd` does not accept or is given wrongly, or undefined. */
export function flagProblem(cmd: string, flags: readonly WrittenFlag[]): string | undefined {
  // HEALTHCHECK NONE registers no flags in buildkit; the flags of the CMD form are checked with it.
  const known = FLAGS[cmd] ?? {};
  for (const { name, value } of flags) {
    const kind = known[name];
    if (kind === undefined) return withSuggestion(`unknown flag: --${name}`, name, Object.keys(known), true);
    if (kind === 'string' && value === undefined) return `missing a value on flag: --${name}`;
    if (kind === 'bool' && value !== undefined) {
      if (value === '') return `missing a value on flag: --${name}`;
      if (!['true', 'false'].includes(value.toLowerCase())) return `expecting boolean value for flag --${name}, not: ${value}`;
    }
  }
  return undefined;
}

/** dockerd's classic builder on a flag only BuildKit implements (RUN's flags, ADD/COPY --chmod). */
export function requiresBuildKit(flag: string): Error {
  return invalidParameter(`the --${flag} option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled`);
}
