import { invalidParameter } from './errors.js';

/** dockerd's `filters` query: {"key":["v1","v2"]} or the legacy {"key":{"v1":true}}. */
export function parseFilters(raw: string | undefined, allowed: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (raw === undefined || raw.trim() === '') return out;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw invalidParameter(`invalid filter: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalidParameter('invalid filter: not an object');
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (!allowed.includes(key)) throw invalidParameter(`invalid filter '${key}'`);
    let values: string[];
    if (Array.isArray(value)) values = value.map(String);
    else if (value && typeof value === 'object') values = Object.entries(value as Record<string, unknown>).filter(([, v]) => v === true).map(([k]) => k);
    else throw invalidParameter(`invalid filter '${key}'`);
    out.set(key, values);
  }
  return out;
}

/** label=KEY or label=KEY=VALUE against a label map. */
export function labelMatches(labels: Record<string, string>, filter: string): boolean {
  const eq = filter.indexOf('=');
  if (eq === -1) return Object.prototype.hasOwnProperty.call(labels, filter);
  const key = filter.slice(0, eq);
  return Object.prototype.hasOwnProperty.call(labels, key) && labels[key] === filter.slice(eq + 1);
}
