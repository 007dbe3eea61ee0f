/**
 * GET /system/df: images with their shared size and container counts, containers with their
 * writable-layer sizes, volumes, and the build cache, in dockerd's shape. Only the sections asked
 * for are computed, since container sizes cost a walk of every writable layer.
 */
import type { BuildCacheRecord } from './build/interface.js';
import type { DiskUsageKind, DiskUsageReport } from './system-interface.js';
import type { ImageListEntry, ImageService } from './images/interface.js';
import type { VolumeService } from './volumes/interface.js';
import type { ContainerService } from './containers/interface.js';
import type { ImageStore } from './images/store.js';

export interface DiskUsageDeps {
  store: ImageStore;
  images: ImageService;
  containers: ContainerService;
  volumes: VolumeService;
  /** The build cache's records; absent where the engine has no builder. */
  buildCache?: () => Promise<BuildCacheRecord[]>;
}

/** SharedSize (bytes of layers another listed image also uses) and Containers, as `docker system df -v` reads them. */
export function withUsage(images: ImageListEntry[], layersOf: (id: string) => string[], layerSize: (chainId: string) => number, containerImages: string[]): ImageListEntry[] {
  const refs = new Map<string, number>();
  for (const img of images) for (const l of new Set(layersOf(img.id))) refs.set(l, (refs.get(l) ?? 0) + 1);
  return images.map((img) => ({
    ...img,
    sharedSize: [...new Set(layersOf(img.id))].reduce((n, l) => n + ((refs.get(l) ?? 0) > 1 ? layerSize(l) : 0), 0),
    containers: containerImages.filter((c) => c === img.id).length,
  }));
}

export class EngineDiskUsage {
  constructor(private readonly deps: DiskUsageDeps) {}

  async report(kinds: ReadonlySet<DiskUsageKind>): Promise<DiskUsageReport> {
    const { store } = this.deps;
    const wantImages = kinds.has('image');
    const containers = kinds.has('container') || wantImages ? await this.deps.containers.list({ all: true, size: kinds.has('container') }) : [];
    let images: ImageListEntry[] | null = null;
    let layersSize = 0;
    if (wantImages) {
      const layerSize = (chainId: string): number => store.layer(chainId)?.size ?? 0;
      const layersOf = (id: string): string[] => (store.has(id) ? store.record(id).layers : []);
      const listed = await this.deps.images.list({ all: false, digests: true });
      images = withUsage(listed, layersOf, layerSize, containers.map((c) => c.record.imageId));
      const every = new Set(store.ids().flatMap(layersOf));
      layersSize = [...every].reduce((n, l) => n + layerSize(l), 0);
    }
    return {
      layersSize,
      images,
      containers: kinds.has('container') ? containers : null,
      volumes: kinds.has('volume') ? await this.deps.volumes.diskUsage() : null,
      buildCache: kinds.has('build-cache') ? ((await this.deps.buildCache?.()) ?? []) : null,
    };
  }
}
