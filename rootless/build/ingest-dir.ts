/** A directory laid out as a layer diff (OCI whiteouts) becomes a stored layer through the image store's ingest path. */
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runTool } from '../exec.js';
import { chainIds } from '../images/chain.js';
import { uncompressedDigest } from '../images/download.js';
import { ingestLayer } from '../images/ingest.js';
import type { ImageStore } from '../images/store.js';

let counter = 0;

export interface NewLayer {
  diffId: string;
  chainId: string;
}

/**
 * Tars the directory's entries (not its root, whose mode and owner would otherwise replace the
 * image's `/`), then ingests the tar on top of `parentDiffIds`. `workDir` is the caller's.
 */
export async function ingestDir(store: ImageStore, dir: string, workDir: string, parentDiffIds: readonly string[]): Promise<NewLayer> {
  const tarFile = join(workDir, `layer-${counter++}.tar`);
  const names = (await readdir(dir)).sort();
  if (names.length === 0) {
    // An empty archive: two zero blocks, as dockerd commits a step that changed nothing.
    await writeFile(tarFile, Buffer.alloc(1024));
  } else {
    await runTool('tar', ['-c', '-f', tarFile, '-C', dir, '--numeric-owner', '--no-acls', '--no-selinux', '--no-xattrs', '--sort=name', '--format=posix', '--pax-option=delete=atime,delete=ctime', '--', ...names.map((n) => `./${n}`)]);
  }
  const diffId = (await uncompressedDigest(tarFile, 'none')) as string;
  const chainId = chainIds([...parentDiffIds, diffId]).at(-1) as string;
  await ingestLayer(store, tarFile, workDir, { diffId, chainId, index: parentDiffIds.length });
  return { diffId, chainId };
}
