/**
 * Leases on image-store objects, as containerd's leases protect content from its garbage collector:
 * an operation (pull, build, commit, load, import) takes one before it relies on a layer or image it
 * found or is making, and releases it when done. Deletions (rmi, image prune, build-cache prune)
 * never free what a lease holds; the store frees a held-back layer once the last lease on it ends.
 *
 * Leases live in memory only: an operation interrupted by the daemon's death loses its lease with
 * the process, and the store's sweep at open removes what nothing references.
 */

import { rootLogger } from '../log.js';

/** What one operation holds. Taking the same object twice is harmless; release is idempotent. */
export interface Lease {
  /** Hold layers by chain ID (before checking whether they exist, so the answer cannot go stale). */
  layers(chainIds: readonly string[]): void;
  /** Hold an image record (its layers are held separately). */
  image(id: string): void;
  /** Ends the lease; layers it held that nothing else uses are freed before this resolves. */
  release(): Promise<void>;
}

/** Called once a lease ends, with the layers it held: candidates for freeing. */
export type LeaseEnded = (layers: string[]) => Promise<void>;

export class LeaseRegistry {
  private readonly layerCounts = new Map<string, number>();
  private readonly imageCounts = new Map<string, number>();
  private live = 0;

  constructor(private readonly ended: LeaseEnded) {}

  take(): Lease {
    const layers = new Set<string>();
    const images = new Set<string>();
    let released = false;
    this.live++;
    const hold = (counts: Map<string, number>, mine: Set<string>, key: string): void => {
      if (released) throw new Error('lease already released');
      if (mine.has(key)) return;
      mine.add(key);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    };
    return {
      layers: (chainIds) => {
        for (const c of chainIds) hold(this.layerCounts, layers, c);
      },
      image: (id) => hold(this.imageCounts, images, id),
      release: async () => {
        if (released) return;
        released = true;
        this.live--;
        for (const l of layers) drop(this.layerCounts, l);
        for (const i of images) drop(this.imageCounts, i);
        try {
          await this.ended([...layers]);
        } catch (err) {
          // Release runs in finally blocks: it must not mask the operation's own outcome. A layer
          // left behind is unreferenced, so the sweep at the next start removes it.
          rootLogger().child({ module: 'leases' }).warn({ err }, 'freeing layers after a lease ended failed');
        }
      },
    };
  }

  layerLeased(chainId: string): boolean {
    return this.layerCounts.has(chainId);
  }

  imageLeased(id: string): boolean {
    return this.imageCounts.has(id);
  }

  /** Leases not yet released (for tests and leak checks). */
  count(): number {
    return this.live;
  }
}

function drop(counts: Map<string, number>, key: string): void {
  const n = (counts.get(key) ?? 0) - 1;
  if (n <= 0) counts.delete(key);
  else counts.set(key, n);
}

/** Runs `fn` under a fresh lease, released whatever happens. */
export async function withLease<T>(registry: LeaseRegistry, fn: (lease: Lease) => Promise<T>): Promise<T> {
  const lease = registry.take();
  try {
    return await fn(lease);
  } finally {
    await lease.release();
  }
}
