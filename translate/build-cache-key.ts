/**
 * The classic builder's cache key: a step is reused when the parent image, the step's
 * history text (which for COPY/ADD carries a checksum of the copied content, for RUN the build
 * args it sees) and the container config it runs with are all the same. Pure.
 */
import { createHash } from 'node:crypto';

export interface CacheKeyInput {
  /** The image the step starts from; "" for scratch. */
  parent: string;
  /** What history's created_by records: "/bin/sh -c #(nop)  ENV a=b", "|1 X=y /bin/sh -c make", "… COPY file:<hex> in /app". */
  createdBy: string;
  /** The config the step's result carries (Env, User, WorkingDir, Labels, …). */
  config: Record<string, unknown>;
}

/** JSON with sorted object keys, so equal configs give equal keys whatever their field order. */
function stable(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stable).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stable(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function buildCacheKey(input: CacheKeyInput): string {
  return createHash('sha256').update(`${input.parent}\n${input.createdBy}\n${stable(input.config)}`).digest('hex');
}

/** The `file:`/`dir:`/`multi:` prefix dockerd shows for copied sources in history. */
export function sourceDigestLabel(kinds: readonly ('file' | 'dir')[], hex: string): string {
  const kind = kinds.length === 1 ? kinds[0] : 'multi';
  return `${kind}:${hex}`;
}
