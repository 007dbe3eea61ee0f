/** GET /events behind the API: replay from the ring for `since`, then live events until `until`. */
import type { EngineEvent, EventQuery, EventService } from './interface.js';
import { invalidParameter } from '../../translate/errors.js';
import { eventMatches, parseEventFilters } from '../../translate/events.js';
import { parseTimeFilter } from '../../translate/log-frames.js';
import { ChunkQueue } from '../containers/chunk-queue.js';
import type { EventBus } from './bus.js';

const toNano = (seconds: number): bigint => BigInt(Math.round(seconds * 1e6)) * 1000n;

export class EngineEventService implements EventService {
  constructor(private readonly bus: EventBus) {}

  stream(query: EventQuery, signal: AbortSignal): AsyncIterable<EngineEvent> {
    const now = new Date();
    const filters = parseEventFilters(query.filters);
    const since = parseTimeFilter(query.since, now);
    const until = parseTimeFilter(query.until, now);
    if (query.since && since === undefined) throw invalidParameter(`invalid value for since: ${query.since}`);
    if (query.until && until === undefined) throw invalidParameter(`invalid value for until: ${query.until}`);
    const untilNano = until === undefined ? undefined : toNano(until);
    const queue = new ChunkQueue<EngineEvent>();
    // Subscribe before replaying so nothing emitted in between is lost.
    const unsubscribe = this.bus.subscribe((e) => queue.push(e));
    const replay = since === undefined ? [] : this.bus.history(toNano(since)).filter((e) => untilNano === undefined || e.timeNano <= untilNano);
    const stop = (): void => {
      unsubscribe();
      queue.end();
    };
    signal.addEventListener('abort', stop, { once: true });
    let timer: NodeJS.Timeout | undefined;
    if (untilNano !== undefined) {
      const ms = Number(untilNano / 1_000_000n) - Date.now();
      if (ms <= 0) stop();
      else timer = setTimeout(stop, ms);
    }
    const seen = new Set(replay);
    return (async function* () {
      try {
        for (const e of replay) if (eventMatches(e, filters)) yield e;
        for await (const e of queue) {
          if (seen.has(e)) continue;
          if (untilNano !== undefined && e.timeNano > untilNano) break;
          if (eventMatches(e, filters)) yield e;
        }
      } finally {
        if (timer) clearTimeout(timer);
        stop();
      }
    })();
  }
}
