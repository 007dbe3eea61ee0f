/**
 * Engine events as dockerd's /events stream carries them: the message shape (with the legacy
 * top-level status/id/from fields that API < 1.52 clients key on) and the `filters` matching.
 */
import { invalidParameter } from './errors.js';
import { parseFilters } from './filters.js';

export type EventType = 'container' | 'image' | 'volume' | 'network' | 'daemon' | 'plugin';

export interface EngineEvent {
  Type: EventType;
  /** e.g. "create", "die", "exec_start: sh -c ls" (dockerd appends an exec's command). */
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  /** Nanoseconds since the epoch, as a bigint so nothing is lost. */
  timeNano: bigint;
}

export const EVENT_FILTERS = ['type', 'event', 'container', 'image', 'label', 'volume', 'network', 'daemon', 'scope', 'plugin', 'node', 'service', 'config', 'secret'] as const;

export function eventMessage(e: EngineEvent, legacyFields: boolean): Record<string, unknown> {
  const seconds = Number(e.timeNano / 1_000_000_000n);
  const legacy: Record<string, string> = {};
  if (legacyFields && (e.Type === 'container' || e.Type === 'image')) {
    legacy.status = e.Action;
    legacy.id = e.Actor.ID;
    if (e.Type === 'container' && e.Actor.Attributes.image !== undefined) legacy.from = e.Actor.Attributes.image;
  }
  return {
    ...legacy,
    Type: e.Type,
    Action: e.Action,
    Actor: { ID: e.Actor.ID, Attributes: e.Actor.Attributes },
    scope: 'local',
    time: seconds,
    // JSON numbers lose precision past 2^53; dockerd's timeNano is an int64, so write it exactly.
    timeNano: Number(e.timeNano),
  };
}

/** The JSON text of one message, with timeNano written from the bigint exactly. */
export function eventLine(e: EngineEvent, legacyFields: boolean): string {
  const text = JSON.stringify(eventMessage(e, legacyFields));
  return text.replace(/"timeNano":\d+(\.\d+)?(e\+\d+)?/, `"timeNano":${e.timeNano.toString()}`) + '\n';
}

export type EventFilters = Map<string, string[]>;

export function parseEventFilters(raw: string | undefined): EventFilters {
  const f = parseFilters(raw, EVENT_FILTERS);
  for (const t of f.get('type') ?? []) {
    if (!['container', 'image', 'volume', 'network', 'daemon', 'plugin', 'node', 'service', 'secret', 'config'].includes(t)) {
      throw invalidParameter(`invalid filter 'type=${t}'`);
    }
  }
  return f;
}

/** An image name as given and with its default tag, so `image=busybox` matches "busybox:latest". */
function imageMatches(value: string, wanted: string): boolean {
  const strip = (s: string): string => s.replace(/^docker\.io\/(library\/)?/, '').replace(/:latest$/, '');
  return value === wanted || strip(value) === strip(wanted) || value.startsWith(wanted);
}

function labelOk(attrs: Record<string, string>, filter: string): boolean {
  const eq = filter.indexOf('=');
  if (eq < 0) return filter in attrs;
  return attrs[filter.slice(0, eq)] === filter.slice(eq + 1);
}

export function eventMatches(e: EngineEvent, f: EventFilters): boolean {
  const any = (key: string, test: (v: string) => boolean): boolean => {
    const list = f.get(key);
    return !list || list.length === 0 || list.some(test);
  };
  const attrs = e.Actor.Attributes;
  // "exec_start: sh" is matched by event=exec_start, as dockerd splits at the colon.
  const action = e.Action.split(':', 1)[0] ?? e.Action;
  return (
    any('type', (t) => t === e.Type) &&
    any('event', (a) => a === e.Action || a === action) &&
    any('scope', (s) => s === 'local') &&
    any('container', (c) => e.Type === 'container' && (e.Actor.ID.startsWith(c) || attrs.name === c.replace(/^\//, ''))) &&
    any('image', (i) => (e.Type === 'image' ? imageMatches(e.Actor.ID, i) || imageMatches(attrs.name ?? '', i) : imageMatches(attrs.image ?? '', i))) &&
    any('volume', (v) => e.Type === 'volume' && e.Actor.ID === v) &&
    any('network', (n) => e.Type === 'network' && (e.Actor.ID.startsWith(n) || attrs.name === n)) &&
    (f.get('label') ?? []).every((l) => labelOk(attrs, l))
  );
}

/** dockerd's container event attributes: the labels, then name (no slash) and image as the request named it. */
export function containerEventAttributes(rec: { name: string; image: string; config: { Labels?: Record<string, string> | null } }, extra: Record<string, string> = {}): Record<string, string> {
  return { ...(rec.config.Labels ?? {}), image: rec.image, name: rec.name.replace(/^\//, ''), ...extra };
}
