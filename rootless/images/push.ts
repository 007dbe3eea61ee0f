/**
 * One image push, as dockerd does it: every tag of a repository (or the one asked for), each layer
 * skipped when the registry has it, mounted from another repository of the same registry when the
 * registry allows, uploaded otherwise; then the manifest. Layers travel as the blobs kept at pull;
 * a layer kept only as a plain tar (import, load) is gzipped on the fly and the gzip kept instead.
 */
import { createReadStream } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { createHash } from 'node:crypto';
import type { ImageRef } from '../../translate/image-ref.js';
import { layerMessage, progressMessage, statusMessage, shortLayerId, type JsonMessage } from '../../translate/pull-progress.js';
import type { RegistryCredentials } from '../../translate/registry-auth.js';
import type { RegistryAccess } from '../registry/access.js';
import type { RegistryClient } from '../registry/client.js';
import { layerCompression, MEDIA, ociLayerType } from '../registry/media-types.js';
import { blobExists, completeUpload, putManifest, startUpload } from '../registry/upload.js';
import { gzipFile } from './blob-files.js';
import { Semaphore } from './semaphore.js';
import type { ImageStore, LayerBlob } from './store.js';

export type Emit = (message: JsonMessage) => void;

const PROGRESS_INTERVAL_MS = 100;

interface PushedLayer {
  mediaType: string;
  digest: string;
  size: number;
}

export class Pusher {
  private readonly uploads: Semaphore;

  constructor(
    private readonly store: ImageStore,
    private readonly access: RegistryAccess,
    maxConcurrentUploads = 5,
  ) {
    this.uploads = new Semaphore(maxConcurrentUploads);
  }

  /** `tags`: each (tag, image ID) to push to `repo`, in order. */
  async push(repo: ImageRef, tags: { tag: string; id: string }[], creds: RegistryCredentials | undefined, emit: Emit, signal?: AbortSignal): Promise<void> {
    const client = this.access.client(repo.domain, repo.path, creds, { push: true });
    for (const { tag, id } of tags) await this.pushTag(client, repo, tag, id, emit, signal);
  }

  private async pushTag(client: RegistryClient, repo: ImageRef, tag: string, id: string, emit: Emit, signal?: AbortSignal): Promise<void> {
    const rec = this.store.record(id);
    const diffIds = rec.config.rootfs?.diff_ids ?? [];
    // dockerd shows the top layer first.
    const order = rec.layers.map((chain, i) => ({ chain, short: shortLayerId(diffIds[i] ?? chain) })).reverse();
    for (const l of order) emit(layerMessage('Preparing', l.short));
    const pushed = new Map<string, PushedLayer>();
    await Promise.all(
      order.map(async (l) => {
        const release = await this.uploads.acquire(() => emit(layerMessage('Waiting', l.short)));
        try {
          pushed.set(l.chain, await this.pushLayer(client, l.chain, l.short, emit, signal));
        } finally {
          release();
        }
      }),
    );
    const layers = rec.layers.map((c) => pushed.get(c) as PushedLayer);
    const configBytes = await readFile(this.store.blobPath(id));
    // Registries refuse a manifest whose config blob they lack; dockerd uploads it silently.
    if (!(await blobExists(client, id, signal))) {
      const session = await startUpload(client, undefined, signal);
      if (!session.mounted) await completeUpload(client, session.location, id, configBytes.length, () => new Uint8Array(configBytes), signal);
    }
    const { mediaType, bytes } = buildManifest(id, configBytes.length, layers);
    await putManifest(client, tag, mediaType, bytes, signal);
    const digest = 'sha256:' + createHash('sha256').update(bytes).digest('hex');
    await this.store.addImage(id, rec.layers, [{ domain: repo.domain, path: repo.path, digest }]);
    emit(statusMessage(`${tag}: digest: ${digest} size: ${bytes.length}`));
    emit({ progressDetail: {}, aux: { Tag: tag, Digest: digest, Size: bytes.length } });
  }

  private async pushLayer(client: RegistryClient, chain: string, short: string, emit: Emit, signal?: AbortSignal): Promise<PushedLayer> {
    const blob = await this.compressedBlob(chain);
    const repository = `${client.domain}/${client.repository}`;
    const done = async (status: string): Promise<PushedLayer> => {
      emit(layerMessage(status, short));
      await this.store.addBlobSource(chain, repository);
      return { mediaType: blob.mediaType, digest: blob.digest, size: blob.size };
    };
    if (await blobExists(client, blob.digest, signal)) return done('Layer already exists');
    const from = blob.sources.map(parseSource).find((s) => s !== undefined && s.domain === client.domain && s.path !== client.repository);
    const session = await startUpload(client, from ? { digest: blob.digest, from: from.path } : undefined, signal);
    if (session.mounted) return done(`Mounted from ${from?.path ?? ''}`);
    let last = 0;
    const meter = (): Transform => {
      let sent = 0;
      return new Transform({
        transform(chunk: Buffer, _enc, cb) {
          sent += chunk.length;
          const now = Date.now();
          if (now - last >= PROGRESS_INTERVAL_MS || sent >= blob.size) {
            last = now;
            emit(progressMessage('Pushing', short, sent, blob.size));
          }
          cb(null, chunk);
        },
      });
    };
    const body = (): BodyInit => Readable.toWeb(createReadStream(blob.path).pipe(meter())) as unknown as BodyInit;
    await completeUpload(client, session.location, blob.digest, blob.size, body, signal);
    return done('Pushed');
  }

  /** The layer's blob, gzipping a plain tar first (and keeping the result) so registries get compressed layers. */
  private async compressedBlob(chain: string): Promise<LayerBlob & { path: string }> {
    const blob = this.store.layerBlob(chain);
    if (!blob) throw new Error(`layer ${chain} has no stored blob to push (stored by an older Burrow); pull or load the image again`);
    if (layerCompression(blob.mediaType) !== 'none') return blob;
    const dir = await this.store.tempDir('push');
    try {
      const file = join(dir, 'blob.gz');
      const got = await gzipFile(blob.path, file);
      await this.store.setLayerBlob(chain, file, { ...got, mediaType: MEDIA.ociLayerGzip });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const again = this.store.layerBlob(chain);
    if (!again) throw new Error(`layer ${chain} lost its blob`);
    return again;
  }
}

function parseSource(s: string): { domain: string; path: string } | undefined {
  const i = s.indexOf('/');
  return i > 0 ? { domain: s.slice(0, i), path: s.slice(i + 1) } : undefined;
}

/** Docker schema2 when every layer has a Docker media type equivalent (gzip or plain tar), OCI otherwise (zstd). */
function buildManifest(configDigest: string, configSize: number, layers: PushedLayer[]): { mediaType: string; bytes: Buffer } {
  const compressions = layers.map((l) => layerCompression(l.mediaType) ?? 'gzip');
  const docker = compressions.every((c) => c !== 'zstd');
  const mediaType = docker ? MEDIA.dockerManifest : MEDIA.ociManifest;
  const manifest = {
    schemaVersion: 2,
    mediaType,
    config: { mediaType: docker ? MEDIA.dockerConfig : MEDIA.ociConfig, size: configSize, digest: configDigest },
    layers: layers.map((l, i) => ({
      mediaType: docker ? (compressions[i] === 'gzip' ? MEDIA.dockerLayerGzip : MEDIA.dockerLayer) : ociLayerType(compressions[i]),
      size: l.size,
      digest: l.digest,
    })),
  };
  return { mediaType, bytes: Buffer.from(JSON.stringify(manifest, null, 3)) };
}
