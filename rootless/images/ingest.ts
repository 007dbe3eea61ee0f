/**
 * Stores one layer that arrives as a file (docker load, import): whatever its compression, its diff
 * ID is computed (and checked when the image config names one), it is unpacked like a pulled layer,
 * and the file is kept as the layer's blob for later push and save.
 */
import { copyFile, link, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runTool } from '../exec.js';
import { invalidParameter } from '../../translate/errors.js';
import { layerTarRefused } from '../../translate/tar-errors.js';
import { ociLayerType, type Compression } from '../registry/media-types.js';
import { fileDigest, sniffCompression } from './blob-files.js';
import { hexOf, nextChainId } from './chain.js';
import { uncompressedDigest } from './download.js';
import type { ImageStore } from './store.js';
import type { Lease } from './leases.js';
import { extractLayer } from './unpack.js';
import { diskUsage } from '../fs-usage.js';

let counter = 0;

/**
 * What the caller knows of the layer: its diff ID and chain ID (checked), or only the chain it goes
 * on top of (legacy archives name no diff IDs; the chain ID follows from the computed one).
 */
export type LayerExpectation = { diffId: string; chainId: string; index: number } | { parentChainId: string };

/** A corrupt compressed layer is the archive's fault: Go's words, not the tool's stderr. */
async function decompress(tool: string, args: readonly string[]): Promise<void> {
  const r = await runTool(tool, args, { allowFailure: true });
  if (r.exitCode !== 0) throw layerTarRefused(`${tool}: ${r.stderr}`);
}

async function linkOrCopy(src: string, dst: string): Promise<void> {
  try {
    await link(src, dst);
  } catch {
    await copyFile(src, dst);
  }
}

/**
 * `workDir` is a private directory under the store's tmp/ that the caller removes. Returns the diff
 * ID; the layer is stored under `expect.chainId` (or its own diff ID for a base layer).
 */
export async function ingestLayer(store: ImageStore, file: string, workDir: string, expect?: LayerExpectation, lease?: Lease): Promise<string> {
  const n = counter++;
  const sniffed = await sniffCompression(file);
  let blobFile = file;
  let blobCompression: Compression;
  let tarFile = file;
  let tarCompression: Compression;
  if (sniffed === 'bzip2' || sniffed === 'xz') {
    // Registries and save archives carry gzip, zstd or plain tar: keep the plain tar.
    const packed = join(workDir, `layer-${n}.tar.${sniffed === 'xz' ? 'xz' : 'bz2'}`);
    await linkOrCopy(file, packed);
    // -f: the input is a hard link to the archive member, which both tools otherwise refuse.
    await decompress(sniffed === 'xz' ? 'xz' : 'bzip2', ['-d', '-f', packed]);
    blobFile = tarFile = join(workDir, `layer-${n}.tar`);
    blobCompression = tarCompression = 'none';
  } else if (sniffed === 'zstd') {
    tarFile = join(workDir, `layer-${n}.tar`);
    await decompress('zstd', ['-d', '-q', '-o', tarFile, file]);
    blobCompression = 'zstd';
    tarCompression = 'none';
  } else {
    blobCompression = tarCompression = sniffed;
  }
  const diffId = (await uncompressedDigest(tarFile, tarCompression).catch((err: unknown) => {
    // zlib's words for a corrupt or cut-off gzip stream; Go's gzip reader says these.
    throw invalidParameter(/unexpected end of file/i.test(String(err)) ? 'unexpected EOF' : 'gzip: invalid header');
  })) as string;
  if (expect && 'diffId' in expect && expect.diffId !== diffId) throw new Error(`invalid diffID for layer ${expect.index}: expected "${expect.diffId}", got "${diffId}"`);
  const chainId = expect === undefined ? diffId : 'chainId' in expect ? expect.chainId : nextChainId(expect.parentChainId, diffId);
  // Held before the check: a concurrent rmi must not free a layer this ingest found stored.
  lease?.layers([chainId]);
  if (!store.hasLayer(chainId)) {
    const staged = join(workDir, `staged-${n}`);
    await mkdir(join(staged, 'diff'), { recursive: true, mode: 0o755 });
    await extractLayer(tarFile, tarCompression, join(staged, 'diff'));
    const size = await diskUsage(join(staged, 'diff'));
    const blob = await fileDigest(blobFile);
    await linkOrCopy(blobFile, join(staged, `blob-${hexOf(blob.digest)}`));
    await store.commitLayer(staged, { chainId, diffId, size, blob: { ...blob, mediaType: ociLayerType(blobCompression), sources: [] } });
  }
  if (tarFile !== file) await rm(tarFile, { force: true });
  return diffId;
}
