/**
 * The checks and error texts every mount source shares (Binds, Mounts, Tmpfs, Config.Volumes), as
 * dockerd's volume/mounts parser words them.
 */
import { posix } from 'node:path';
import { invalidParameter } from './errors.js';
import type { Propagation } from './mount-request.js';

export const PROPAGATIONS = new Set<string>(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave']);
const ROOTLESS_PROPAGATIONS = new Set<string>(['private', 'rprivate', 'slave', 'rslave']);

export class MountConfigError extends Error {}

/** dockerd's errMountConfig: `invalid mount config for type "bind": <why>`. */
export const mountConfig = (type: string, why: string): MountConfigError => new MountConfigError(`invalid mount config for type ${JSON.stringify(type)}: ${why}`);

/** Runs a parse step, turning its mount-config errors into 400s (with `prefix`, as Binds errors carry the raw spec). */
export function asInvalid<T>(parse: () => T, prefix = ''): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof MountConfigError) throw invalidParameter(`${prefix}${err.message}`);
    throw err;
  }
}

/** Go's path.Clean for absolute and relative slash paths. */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

export function validateTarget(type: string, target: string): string {
  if (target === '') throw mountConfig(type, 'field Target must not be empty');
  if (cleanPath(target) === '/') throw mountConfig(type, "invalid specification: destination can't be '/'");
  if (!target.startsWith('/')) throw mountConfig(type, `invalid mount path: '${target}' mount path must be absolute`);
  return cleanPath(target);
}

export function checkPropagation(type: string, propagation: string): Propagation {
  if (!PROPAGATIONS.has(propagation)) throw mountConfig(type, `invalid propagation mode: ${propagation}`);
  if (!ROOTLESS_PROPAGATIONS.has(propagation)) {
    throw mountConfig(type, `propagation mode ${propagation} is not available to the rootless engine, whose mount namespace is private: use private, rprivate, slave or rslave`);
  }
  return propagation as Propagation;
}

export function checkDriver(driver: string | undefined): void {
  if (driver && driver !== 'local') throw invalidParameter(`error looking up volume plugin ${driver}: plugin "${driver}" not found`);
}
