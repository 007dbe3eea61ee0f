/**
 * The event engine's interface, beside the engine (rootless/events/service.ts); api/services.ts
 * re-exports it. The stream yields domain events; translate/events.ts writes dockerd's JSON lines.
 */

export type EventType = 'container' | 'image' | 'volume' | 'network' | 'daemon' | 'plugin';

/** One thing that happened to an object of the engine. */
export interface EngineEvent {
  type: EventType;
  /** e.g. "create", "die", "exec_start: sh -c ls" (dockerd appends an exec's command). */
  action: string;
  /** The object's id (a volume's or image reference's name where it has no id). */
  actorId: string;
  attributes: Record<string, string>;
  /** Nanoseconds since the epoch, as a bigint so nothing is lost. */
  timeNano: bigint;
}

export interface EventQuery {
  since?: string;
  until?: string;
  /** The raw `filters` JSON. */
  filters?: string;
}

export interface EventService {
  /** Validates at once (throws); the stream yields the matching events until `until` or the signal. */
  stream(query: EventQuery, signal: AbortSignal): AsyncIterable<EngineEvent>;
}
