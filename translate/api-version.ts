import { invalidParameter, type EngineError } from './errors.js';

/** A Docker API version as [major, minor]; dockerd compares them numerically, so "1.9" < "1.24". */
export type ApiVersion = readonly [number, number];

export function parseApiVersion(text: string): ApiVersion | undefined {
  const m = /^(\d+)\.(\d+)$/.exec(text);
  if (!m) return undefined;
  return [Number(m[1]), Number(m[2])];
}

export function compareApiVersions(a: ApiVersion, b: ApiVersion): number {
  return a[0] - b[0] || a[1] - b[1];
}

export function formatApiVersion(v: ApiVersion): string {
  return `${v[0]}.${v[1]}`;
}

export interface VersionPrefix {
  /** The version the client asked for, or the server's maximum when it gave none. */
  version: string;
  /** The URL with the /vX.Y prefix removed. */
  path: string;
}

const prefixPattern = /^\/v([0-9.]+)(?=[/?]|$)/;

/** Splits "/v1.41/containers/json" into version and path, like dockerd's /v{version:[0-9.]+} route prefix. */
export function splitVersionPrefix(url: string, maxVersion: string): VersionPrefix {
  const m = prefixPattern.exec(url);
  if (!m) return { version: maxVersion, path: url };
  const rest = url.slice(m[0].length);
  return { version: m[1], path: rest === '' || rest.startsWith('?') ? `/${rest}` : rest };
}

/** dockerd's exact wording for a version outside what it serves; undefined when the version is acceptable. */
export function checkApiVersion(requested: string, min: string, max: string): EngineError | undefined {
  const v = parseApiVersion(requested);
  const lo = parseApiVersion(min);
  const hi = parseApiVersion(max);
  if (!lo || !hi) throw new Error('server API version bounds are malformed');
  if (!v) return invalidParameter(`client version ${requested} is too old. Minimum supported API version is ${min}, please upgrade your client to a newer version`);
  if (compareApiVersions(v, lo) < 0) {
    return invalidParameter(`client version ${requested} is too old. Minimum supported API version is ${min}, please upgrade your client to a newer version`);
  }
  if (compareApiVersions(v, hi) > 0) {
    return invalidParameter(`client version ${requested} is too new. Maximum supported API version is ${max}`);
  }
  return undefined;
}

export function versionAtLeast(requested: string, wanted: string): boolean {
  const a = parseApiVersion(requested);
  const b = parseApiVersion(wanted);
  return !!a && !!b && compareApiVersions(a, b) >= 0;
}
