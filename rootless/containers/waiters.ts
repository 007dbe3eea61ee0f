/**
 * Clients waiting on a container (wait, logs -f, attach) and the engine's own waits for an exit
 * (stop, kill, rm -f): each told when the exit or the removal is recorded, never polled.
 */
import type { WaitCondition } from './interface.js';

interface Waiter {
  condition: WaitCondition;
  resolve: (code: number) => void;
}

export class ExitWaiters {
  private readonly waiters = new Map<string, Waiter[]>();

  /** Settles with the exit code; a waiter of a client that hung up (signal aborted) is dropped so it cannot pile up. */
  add(id: string, condition: WaitCondition, signal?: AbortSignal): Promise<number> {
    return new Promise((resolve) => {
      const waiter: Waiter = { condition, resolve };
      this.waiters.set(id, [...(this.waiters.get(id) ?? []), waiter]);
      signal?.addEventListener(
        'abort',
        () => {
          const list = this.waiters.get(id)?.filter((w) => w !== waiter);
          if (list && list.length > 0) this.waiters.set(id, list);
          else this.waiters.delete(id);
        },
        { once: true },
      );
    });
  }

  /** An exit wakes every waiter but those for the removal; the removal wakes them all. */
  notify(id: string, event: 'exit' | 'removed', code: number): void {
    const keep = (this.waiters.get(id) ?? []).filter((w) => {
      if (event === 'removed' || w.condition !== 'removed') {
        w.resolve(code);
        return false;
      }
      return true;
    });
    if (keep.length > 0) this.waiters.set(id, keep);
    else this.waiters.delete(id);
  }
}

/** True when `p` settles within `ms`. */
export function within<T>(p: Promise<T>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    void p.then(() => {
      clearTimeout(t);
      resolve(true);
    });
  });
}
