/**
 * The engine's in-memory event bus: services emit, /events subscribers receive. The last events
 * stay in a bounded ring so `since` can replay them, as dockerd keeps its last 256.
 */
import type { EngineEvent, EventType } from './interface.js';

const RING_SIZE = 1024;

type Listener = (e: EngineEvent) => void;

/** Nanoseconds now; strictly increasing so `since` at a timestamp never replays the same event twice. */
let lastNano = 0n;
function nowNano(): bigint {
  const n = BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
  lastNano = n > lastNano ? n : lastNano + 1n;
  return lastNano;
}

export class EventBus {
  private readonly ring: EngineEvent[] = [];
  private readonly listeners = new Set<Listener>();

  emit(type: EventType, action: string, id: string, attributes: Record<string, string> = {}): void {
    const e: EngineEvent = { type, action, actorId: id, attributes, timeNano: nowNano() };
    this.ring.push(e);
    if (this.ring.length > RING_SIZE) this.ring.shift();
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        // A broken subscriber must not stop the others or the emitter.
      }
    }
  }

  /** Events kept from before now with timeNano >= sinceNano. */
  history(sinceNano: bigint): EngineEvent[] {
    return this.ring.filter((e) => e.timeNano >= sinceNano);
  }

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }
}
