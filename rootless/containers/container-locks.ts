/**
 * One lock per container (dockerd's container.Lock): every operation that reads a container's
 * state to decide what to do, and changes it, runs under its container's lock, so two operations
 * on one container happen one after the other while operations on different containers run side
 * by side. Waiters are queued in arrival order; a lock with nobody waiting leaves no entry.
 *
 * Not re-entrant: work done under a lock must not ask for the same lock again. Long waits (a
 * container's exit, a client's stream) happen outside it.
 */
export class ContainerLocks {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `work` once every earlier holder of `id`'s lock is done; the lock is released however it ends. */
  async run<T>(id: string, work: () => Promise<T>): Promise<T> {
    const before = this.tails.get(id) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = before.then(() => mine);
    this.tails.set(id, tail);
    await before;
    try {
      return await work();
    } finally {
      release();
      if (this.tails.get(id) === tail) this.tails.delete(id);
    }
  }

  /** True while someone holds or waits for `id`'s lock. */
  busy(id: string): boolean {
    return this.tails.has(id);
  }
}
