/**
 * Locks by key: work under one key runs one holder after the other, work under different keys side
 * by side. The container gate keys by container id (dockerd's container.Lock); the network manager
 * keys by network and by container endpoint set. Waiters are queued in arrival order; a key with
 * nobody waiting leaves no entry.
 *
 * Not re-entrant: work done under a lock must not ask for the same key again. Long waits (a
 * container's exit, a client's stream) happen outside it. Code that holds several keys takes them
 * through runAll, which always takes them in one order, so two such holders cannot deadlock.
 */
export class KeyedLocks {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `work` once every earlier holder of `key`'s lock is done; the lock is released however it ends. */
  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = before.then(() => mine);
    this.tails.set(key, tail);
    await before;
    try {
      return await work();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Runs `work` holding every key of `keys` (duplicates count once), taken in sorted order. */
  runAll<T>(keys: Iterable<string>, work: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(keys)].sort();
    const take = (i: number): Promise<T> => (i === sorted.length ? work() : this.run(sorted[i]!, () => take(i + 1)));
    return take(0);
  }

  /** True while someone holds or waits for `key`'s lock. */
  busy(key: string): boolean {
    return this.tails.has(key);
  }
}
