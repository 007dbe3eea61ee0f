/**
 * A burst of work (a big `docker logs`, a thousand creates) leaves the daemon's V8 heap full of
 * garbage that it keeps, resident, for as long as the daemon then sits idle: measured, 100 MiB of
 * RSS over a 20 MiB live heap. One full collection once the API has been quiet for a moment gives
 * most of it back. It needs --expose-gc (bin/burrow passes it); without it, nothing happens.
 */

export interface IdleGc {
  /** Any API activity: the collection waits until `quietMs` after the last one. */
  touch(): void;
  stop(): void;
}

export function idleGc(quietMs: number, collect: (() => void) | undefined = (globalThis as { gc?: () => void }).gc): IdleGc {
  if (!collect) return { touch: () => undefined, stop: () => undefined };
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  return {
    touch: () => {
      if (stopped) return;
      // One timer, re-armed by refresh() (constant time, also after it fired): cheap on /_ping.
      if (timer) timer.refresh();
      else {
        timer = setTimeout(collect, quietMs);
        timer.unref();
      }
    },
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
