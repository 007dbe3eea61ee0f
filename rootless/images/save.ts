/**
 * docker save: one tar holding an OCI image layout (index.json, oci-layout, blobs/sha256) and
 * Docker's manifest.json + repositories, as dockerd ≥ 25 writes it, so both `docker load` and OCI
 * tools read it. Layers go out as the blobs the store keeps, compressed or not; loaders sniff.
 */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { familiarName, familiarString, refString, type ImageRef } from '../../translate/image-ref.js';
import { createdSeconds } from '../../translate/image-json.js';
import { layerCompression, MEDIA, ociLayerType } from '../registry/media-types.js';
import { hexOf } from './chain.js';
import type { ImageStore } from './store.js';
import type { TarSource } from './tar-writer.js';

export interface SaveItem {
  id: string;
  /** Tags to record; empty saves the image by ID only. */
  tags: ImageRef[];
}

interface PlannedImage {
  item: SaveItem;
  config: { path: string; size: number };
  layers: { digest: string; size: number; mediaType: string; path: string }[];
  manifest: Buffer;
  manifestDigest: string;
  mtime: number;
}

const blobName = (digest: string): string => `blobs/sha256/${hexOf(digest)}`;

/**
 * Checks that everything is there and prepares the small JSON files, before any byte is sent, so
 * a missing blob is an HTTP error rather than a truncated archive.
 */
export async function planSave(store: ImageStore, items: SaveItem[]): Promise<TarSource[]> {
  const planned: PlannedImage[] = [];
  for (const item of items) {
    const rec = store.record(item.id);
    const layers = rec.layers.map((chain) => {
      const blob = store.layerBlob(chain);
      if (!blob) throw new Error(`layer ${chain} of ${item.id} has no stored blob (stored by an older Burrow); pull the image again to save it`);
      return { digest: blob.digest, size: blob.size, mediaType: ociLayerType(layerCompression(blob.mediaType) ?? 'none'), path: blob.path };
    });
    const configPath = store.blobPath(item.id);
    const configSize = (await stat(configPath)).size;
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA.ociManifest,
        config: { mediaType: MEDIA.ociConfig, digest: item.id, size: configSize },
        layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
      }),
    );
    const manifestDigest = 'sha256:' + createHash('sha256').update(manifest).digest('hex');
    planned.push({ item, config: { path: configPath, size: configSize }, layers, manifest, manifestDigest, mtime: createdSeconds(rec.config) });
  }
  return saveEntries(planned);
}

function saveEntries(planned: PlannedImage[]): TarSource[] {
  const out: TarSource[] = [{ name: 'blobs', type: 'dir' }, { name: 'blobs/sha256', type: 'dir' }];
  const written = new Set<string>();
  const blob = (digest: string, src: Omit<TarSource & { type: 'file' }, 'name' | 'type'> | Buffer, mtime: number): void => {
    if (written.has(digest)) return;
    written.add(digest);
    out.push(Buffer.isBuffer(src) ? { name: blobName(digest), type: 'data', data: src, mtime } : { name: blobName(digest), type: 'file', ...src, mtime });
  };
  const index: Record<string, unknown>[] = [];
  const manifestJson: Record<string, unknown>[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  for (const p of planned) {
    for (const l of p.layers) blob(l.digest, { path: l.path, size: l.size }, p.mtime);
    blob(p.item.id, { path: p.config.path, size: p.config.size }, p.mtime);
    blob(p.manifestDigest, p.manifest, p.mtime);
    const desc = { mediaType: MEDIA.ociManifest, digest: p.manifestDigest, size: p.manifest.length };
    if (p.item.tags.length === 0) index.push(desc);
    for (const t of p.item.tags) {
      index.push({ ...desc, annotations: { 'io.containerd.image.name': refString(t), 'org.opencontainers.image.ref.name': t.tag ?? '' } });
      const top = p.layers[p.layers.length - 1];
      if (top && t.tag !== undefined) (repositories[familiarName(t)] ??= {})[t.tag] = hexOf(top.digest);
    }
    manifestJson.push({
      Config: blobName(p.item.id),
      RepoTags: p.item.tags.length > 0 ? p.item.tags.map(familiarString) : null,
      Layers: p.layers.map((l) => blobName(l.digest)),
    });
  }
  const json = (name: string, value: unknown): TarSource => ({ name, type: 'data', data: Buffer.from(JSON.stringify(value) + '\n') });
  out.push(json('index.json', { schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: index }));
  out.push(json('manifest.json', manifestJson));
  out.push({ name: 'oci-layout', type: 'data', data: Buffer.from('{"imageLayoutVersion":"1.0.0"}') });
  if (Object.keys(repositories).length > 0) out.push(json('repositories', repositories));
  return out;
}
