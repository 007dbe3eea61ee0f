import { invalidParameter } from '../translate/errors.js';

export type Query = Record<string, string | string[] | undefined>;

/**
 * A parameter's value as Go's r.Form.Get gives it: the first when it is repeated. docker-py sends
 * `dockerfile` twice for a Dockerfile outside the context (its name, then its text); dockerd reads the name.
 */
export function queryString(q: Query, name: string): string | undefined {
  const v = q[name];
  return Array.isArray(v) ? v[0] : v;
}

/** dockerd's BoolValue: empty, 0, no, false and none are false; anything else is true. */
export function queryBool(q: Query, name: string, fallback = false): boolean {
  const v = queryString(q, name);
  if (v === undefined) return fallback;
  return !['', '0', 'no', 'false', 'none'].includes(v.trim().toLowerCase());
}

export function queryInt(q: Query, name: string, fallback?: number): number | undefined {
  const v = queryString(q, name);
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n)) throw invalidParameter(`invalid value for ${name}: ${v}`);
  return n;
}
