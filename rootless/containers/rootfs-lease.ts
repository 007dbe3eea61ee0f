/**
 * Borrowing a container's rootfs for the container tools (archive, export, changes, commit). A
 * running container's overlay is already mounted and stays the lifecycle's to unmount; a stopped
 * one is mounted for the borrow and unmounted when the last borrower is done, unless the
 * container has started meanwhile (its start found the mount in place and uses it).
 */
import type { ContainerRecord } from '../../translate/container-record.js';
import type { ImageStore } from '../images/store.js';
import { crashPoint } from '../debug-crash.js';
import { mountRootfs, rootfsPaths, unmountRootfs } from './rootfs.js';

export interface RootfsLeaseDeps {
  images: ImageStore;
  /** The container's directory under the data root. */
  dir: (id: string) => string;
  /** True while the lifecycle owns the mount: running, or between start's mount and "running". */
  inUse: (id: string) => boolean;
  /** The container's lock: the last borrower's unmount must not land in the middle of a start. */
  underLock?: <T>(id: string, work: () => Promise<T>) => Promise<T>;
}

export interface RootfsLease {
  /** The merged rootfs (host path). */
  root: string;
  release(): Promise<void>;
}

export class RootfsLeases {
  private readonly holders = new Map<string, number>();
  /** Who waits for a container's last borrower to be done (a removal). */
  private readonly idleWaiters = new Map<string, (() => void)[]>();
  /** Mounts and unmounts of one container run one after another. */
  private readonly chains = new Map<string, Promise<void>>();

  constructor(private readonly deps: RootfsLeaseDeps) {}

  private serial<T>(id: string, work: () => Promise<T>): Promise<T> {
    const prev = this.chains.get(id) ?? Promise.resolve();
    const next = prev.then(work);
    const tail = next.then(() => undefined, () => undefined);
    this.chains.set(id, tail);
    void tail.then(() => {
      if (this.chains.get(id) === tail) this.chains.delete(id);
    });
    return next;
  }

  async acquire(rec: ContainerRecord): Promise<RootfsLease> {
    const paths = rootfsPaths(this.deps.dir(rec.id));
    await this.serial(rec.id, async () => {
      this.holders.set(rec.id, (this.holders.get(rec.id) ?? 0) + 1);
      try {
        await mountRootfs(paths, this.deps.images.layerDirs(rec.imageId), rec.driver);
        // A daemon that dies while it lends the rootfs out leaves it mounted: the next one unmounts it (recovery.ts).
        crashPoint('lease:after-mount');
      } catch (err) {
        this.drop(rec.id);
        throw err;
      }
    });
    let released = false;
    return {
      root: paths.merged,
      release: async () => {
        if (released) return;
        released = true;
        // Counted out before the lock: a removal waits under that lock for the borrowers to be done.
        if (this.drop(rec.id) > 0) return;
        const lock = this.deps.underLock ?? (<T>(_id: string, work: () => Promise<T>): Promise<T> => work());
        await lock(rec.id, () =>
          this.serial(rec.id, async () => {
            if ((this.holders.get(rec.id) ?? 0) > 0 || this.deps.inUse(rec.id)) return;
            await unmountRootfs(paths, rec.driver);
          }),
        );
      },
    };
  }

  /**
   * Resolves once nobody borrows the container's rootfs: dockerd holds a container for the length
   * of a `docker cp` from it, so its removal waits for the archive rather than cut it off.
   */
  idle(id: string): Promise<void> {
    if (!this.holders.has(id)) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.set(id, [...(this.idleWaiters.get(id) ?? []), resolve]));
  }

  private drop(id: string): number {
    const left = (this.holders.get(id) ?? 1) - 1;
    if (left > 0) this.holders.set(id, left);
    else {
      this.holders.delete(id);
      const waiting = this.idleWaiters.get(id) ?? [];
      this.idleWaiters.delete(id);
      for (const w of waiting) w();
    }
    return left;
  }
}
