/** The event engine's interface, beside the engine (rootless/events/service.ts); api/services.ts re-exports it. */

export interface EventQuery {
  since?: string;
  until?: string;
  /** The raw `filters` JSON. */
  filters?: string;
  /** Top-level status/id/from, which API < 1.52 carries. */
  legacyFields: boolean;
}

export interface EventService {
  /** Validates at once (throws); the stream yields one JSON line per event until `until` or the signal. */
  stream(query: EventQuery, signal: AbortSignal): AsyncIterable<string>;
}
