/**
 * The landing of an image Burrow's store already holds every layer of (a rebuild that BuildKit
 * answered from its cache, or one whose steps give the same layers): the image is recorded and
 * tagged the way the loader records it, without streaming its blobs through an archive, unpacking
 * it and finding each layer stored anyway. The config's bytes are still checked against its digest.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { diffIdsOf, parseImageConfig } from '../../translate/image-config.js';
import { parseNormalizedNamed, withDefaultTag } from '../../translate/image-ref.js';
import { chainIds } from '../images/chain.js';
import type { ImageStore } from '../images/store.js';

export interface ExportedImage {
  /** The host manifest's config digest (Burrow's image ID). */
  id: string;
  /** The config blob, pinned (land-image.ts). */
  configPath: string;
  /** How many layers the host manifest lists. */
  layerCount: number;
}

/**
 * Records `image` under `names` when the store holds all its layers; false (nothing done) when a
 * layer is missing or the exported config does not match what the manifest says, for the loader
 * to do (and word the error of) the whole landing.
 */
export async function landStored(store: ImageStore, image: ExportedImage, names: readonly string[]): Promise<boolean> {
  const bytes = await readFile(image.configPath);
  if ('sha256:' + createHash('sha256').update(bytes).digest('hex') !== image.id) return false;
  let diffIds: string[];
  try {
    diffIds = diffIdsOf(parseImageConfig(bytes));
  } catch {
    return false;
  }
  if (diffIds.length !== image.layerCount) return false;
  const chains = chainIds(diffIds);
  const lease = store.lease();
  try {
    // Held from the check to the record, as the loader holds them, so no removal slips between.
    lease.layers(chains);
    lease.image(image.id);
    if (!chains.every((c) => store.hasLayer(c))) return false;
    await store.putConfig(image.id, bytes);
    await store.addImage(image.id, chains, names.map((n) => withDefaultTag(parseNormalizedNamed(n))));
    return true;
  } finally {
    await lease.release();
  }
}
