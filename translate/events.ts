/**
 * Engine events as dockerd's /events stream carries them: the message shape (with the legacy
 * top-level status/id/from fields that API < 1.52 clients key on) and the `filters` matching.
 */
import { invalidParameter } from './errors.js';
import { parseFilters } from './filters.js';
import type { EngineEvent } from '../rootless/events/interface.js';

export type { EngineEvent, EventType } from '../rootless/events/interface.js';

export const EVENT_FILTERS = ['type', 'event', 'container', 'image', 'label', 'volume', 'network', 'daemon', 'scope', 'plugin', 'node', 'service', 'config', 'secret'] as const;

export function eventMessage(e: EngineEvent, legacyFields: boolean): Record<string, unknown> {
  const seconds = Number(e.timeNano / 1_000_000_000n);
  const legacy: Record<string, string> = {};
  if (legacyFields && (e.type === 'container' || e.type === 'image')) {
    legacy.status = e.action;
    legacy.id = e.actorId;
    if (e.type === 'container' && e.attributes.image !== undefined) legacy.from = e.attributes.image;
  }
  return {
    ...legacy,
    Type: e.type,
    Action: e.action,
    Actor: { ID: e.actorId, Attributes: e.attributes },
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

/** GET /events' body: one line per event, as long as the engine's stream lasts. */
export async function* eventLines(events: AsyncIterable<EngineEvent>, legacyFields: boolean): AsyncIterable<string> {
  for await (const e of events) yield eventLine(e, legacyFields);
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
  const attrs = e.attributes;
  // "exec_start: sh" is matched by event=exec_start, as dockerd splits at the colon.
  const action = e.action.split(':', 1)[0] ?? e.action;
  return (
    any('type', (t) => t === e.type) &&
    any('event', (a) => a === e.action || a === action) &&
    any('scope', (s) => s === 'local') &&
    any('container', (c) => e.type === 'container' && (e.actorId.startsWith(c) || attrs.name === c.replace(/^\//, ''))) &&
    any('image', (i) => (e.type === 'image' ? imageMatches(e.actorId, i) || imageMatches(attrs.name ?? '', i) : imageMatches(attrs.image ?? '', i))) &&
    any('volume', (v) => e.type === 'volume' && e.actorId === v) &&
    any('network', (n) => e.type === 'network' && (e.actorId.startsWith(n) || attrs.name === n)) &&
    (f.get('label') ?? []).every((l) => labelOk(attrs, l))
  );
}

/** dockerd's container event attributes: the labels, then name (no slash) and image as the request named it. */
export function containerEventAttributes(rec: { name: string; image: string; config: { Labels?: Record<string, string> | null } }, extra: Record<string, string> = {}): Record<string, string> {
  return { ...(rec.config.Labels ?? {}), image: rec.image, name: rec.name.replace(/^\//, ''), ...extra };
}
