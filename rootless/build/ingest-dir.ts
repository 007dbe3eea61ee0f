/** Layer directories (a COPY's, a RUN container's staged upper dir) become stored layers through the image store's ingest path. */
import { join } from 'node:path';
import { chainIds } from '../images/chain.js';
import { uncompressedDigest } from '../images/download.js';
import { ingestLayer } from '../images/ingest.js';
import type { ImageStore } from '../images/store.js';
import type { Lease } from '../images/leases.js';
import { tarStaged } from '../containers/commit-layer.js';

let counter = 0;

export interface NewLayer {
  diffId: string;
  chainId: string;
}

/**
 * Tars the directory's entries (not its root, whose mode and owner would otherwise replace the
 * image's `/`) as docker commit does, then ingests the tar on top of `parentDiffIds`.
 */
export async function ingestDir(store: ImageStore, dir: string, workDir: string, parentDiffIds: readonly string[], lease: Lease): Promise<NewLayer> {
  const tarFile = join(workDir, `layer-${counter++}.tar`);
  await tarStaged(dir, tarFile);
  const diffId = (await uncompressedDigest(tarFile, 'none')) as string;
  const chainId = chainIds([...parentDiffIds, diffId]).at(-1) as string;
  await ingestLayer(store, tarFile, workDir, { diffId, chainId, index: parentDiffIds.length }, lease);
  return { diffId, chainId };
}
