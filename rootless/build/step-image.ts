/** Each build step's result is an image in the store: the parent's config and layers plus this step's change and history line. */
import { createHash } from 'node:crypto';
import type { ImageConfig } from '../../translate/image-config.js';
import type { ImageContainerConfig } from '../../translate/image-changes.js';
import { stepContainerConfig, type StepRun } from '../../translate/step-container-config.js';
import type { Platform } from '../../translate/platform.js';
import type { ImageStore } from '../images/store.js';
import type { Lease } from '../images/leases.js';
import type { NewLayer } from './ingest-dir.js';

export interface BuildImage {
  /** Undefined for scratch before any step. */
  id?: string;
  config: ImageConfig;
  /** Chain IDs, bottom first. */
  layers: string[];
}

export function scratchImage(platform: Platform): BuildImage {
  return {
    config: {
      architecture: platform.architecture,
      ...(platform.variant ? { variant: platform.variant } : {}),
      os: platform.os,
      config: {},
      rootfs: { type: 'layers', diff_ids: [] },
      history: [],
    },
    layers: [],
  };
}

/** A stored image the build will use, held by the build's lease until the build ends. */
export function storedImage(store: ImageStore, id: string, lease: Lease): BuildImage {
  store.leaseImage(lease, id);
  const rec = store.record(id);
  return { id, config: rec.config, layers: [...rec.layers] };
}

export interface StepChange {
  config: ImageContainerConfig;
  createdBy: string;
  layer?: NewLayer;
  author?: string;
  /** A RUN step: what its container ran, and which container it was. */
  run?: StepRun;
}

/** The step image (and the layers it names) stay held by `lease`: prune must not take a step before the build tags it. */
export async function commitStep(store: ImageStore, parent: BuildImage, change: StepChange, lease: Lease, now = new Date()): Promise<BuildImage> {
  const created = now.toISOString();
  const diffIds = [...(parent.config.rootfs?.diff_ids ?? []), ...(change.layer ? [change.layer.diffId] : [])];
  const layers = [...parent.layers, ...(change.layer ? [change.layer.chainId] : [])];
  const author = change.author ?? parent.config.author;
  const image: ImageConfig = {
    architecture: parent.config.architecture,
    ...(parent.config.variant ? { variant: parent.config.variant } : {}),
    ...(author ? { author } : {}),
    config: change.config,
    created,
    docker_version: 'burrow',
    history: [...(parent.config.history ?? []), { created, created_by: change.createdBy, ...(change.layer ? {} : { empty_layer: true }) }],
    os: parent.config.os,
    rootfs: { type: 'layers', diff_ids: diffIds },
    ...stepContainerConfig(change.config, parent.id, change.createdBy, change.run),
  };
  const bytes = Buffer.from(JSON.stringify(image));
  const id = 'sha256:' + createHash('sha256').update(bytes).digest('hex');
  lease.image(id);
  lease.layers(layers);
  await store.putConfig(id, bytes);
  // Linked to its base as dockerd links step images: the chain stays out of `docker images` and prune.
  await store.addImage(id, layers, [], now, parent.id);
  return { id, config: image, layers };
}
