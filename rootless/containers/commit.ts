/**
 * docker commit: the container's writable layer becomes one new layer on top of its image's,
 * stored through the image store's ingest path like an imported layer, with a config built the
 * way dockerd's commit builds it (translate/commit-config.ts) and one more history entry.
 */
import { createHash } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerRecord } from '../../translate/container-record.js';
import { commitConfig, commitCreatedBy } from '../../translate/commit-config.js';
import type { ImageContainerConfig } from '../../translate/image-changes.js';
import type { ImageHistoryEntry } from '../../translate/image-config.js';
import type { ImageRef } from '../../translate/image-ref.js';
import { chainIds } from '../images/chain.js';
import { fileDigest } from '../images/blob-files.js';
import { ingestLayer } from '../images/ingest.js';
import type { ImageStore } from '../images/store.js';
import { BURROW_VERSION } from '../version.js';
import { stageUpperDir, tarStaged } from './commit-layer.js';

export interface CommitRequest {
  ref?: ImageRef;
  comment?: string;
  author?: string;
  changes: string[];
  /** The request body's config; undefined when none was sent. */
  config?: ImageContainerConfig;
}

/** Returns the new image's ID. `upper` is the container's overlay upper dir. */
export async function commitContainer(store: ImageStore, rec: ContainerRecord, upper: string, req: CommitRequest, now = new Date()): Promise<string> {
  const containerConfig = rec.config as unknown as ImageContainerConfig;
  // Changes are validated before any work, as dockerd does.
  const config = commitConfig(containerConfig, req.config, req.changes);
  const parent = store.record(rec.imageId);
  const parentDiffs = parent.config.rootfs?.diff_ids ?? [];
  // The parent's layers (the new image's lower ones) and the new layer are held until the new
  // image is recorded: a concurrent rmi -f of the container's image must not free them.
  const lease = store.lease();
  store.leaseImage(lease, rec.imageId);
  let dir: string | undefined;
  try {
    dir = await store.tempDir('commit');
    const staging = join(dir, 'staging');
    await mkdir(staging, { mode: 0o700 });
    const entries = await stageUpperDir(upper, staging);
    let diffIds = parentDiffs;
    let layers = parent.layers;
    if (entries > 0) {
      const file = join(dir, 'layer.tar');
      await tarStaged(staging, file);
      await rm(staging, { recursive: true, force: true });
      const diffId = (await fileDigest(file)).digest;
      diffIds = [...parentDiffs, diffId];
      const chain = chainIds(diffIds);
      const chainId = chain[chain.length - 1] as string;
      await ingestLayer(store, file, dir, { diffId, chainId, index: diffIds.length - 1 }, lease);
      layers = [...parent.layers, chainId];
    }
    const created = now.toISOString();
    const history: ImageHistoryEntry = {
      created,
      ...(req.author ? { author: req.author } : {}),
      created_by: commitCreatedBy(containerConfig),
      ...(req.comment ? { comment: req.comment } : {}),
      ...(entries === 0 ? { empty_layer: true } : {}),
    };
    const image = {
      architecture: parent.config.architecture,
      ...(parent.config.variant ? { variant: parent.config.variant } : {}),
      ...(req.author ? { author: req.author } : {}),
      ...(req.comment ? { comment: req.comment } : {}),
      config,
      container: rec.id,
      container_config: containerConfig,
      created,
      docker_version: BURROW_VERSION,
      history: [...(parent.config.history ?? []), history],
      os: parent.config.os ?? 'linux',
      rootfs: { type: 'layers', diff_ids: diffIds },
    };
    const bytes = Buffer.from(JSON.stringify(image));
    const id = 'sha256:' + createHash('sha256').update(bytes).digest('hex');
    lease.image(id);
    await store.putConfig(id, bytes);
    // dockerd records the container's image as the new image's parent.
    await store.addImage(id, layers, req.ref ? [req.ref] : [], now, rec.imageId);
    return id;
  } finally {
    await lease.release();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }
}
