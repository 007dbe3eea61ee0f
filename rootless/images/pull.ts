/**
 * One image pull: resolve the manifest (choosing a platform from an index), fetch the config,
 * download missing layers with bounded concurrency, unpack each once, then record the image and
 * its references. Progress goes out as dockerd's JSON messages through `emit`.
 */
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { familiarString, withDefaultTag, type ImageRef } from '../../translate/image-ref.js';
import { formatPlatform, platformMatches, type Platform } from '../../translate/platform.js';
import { layerMessage, progressMessage, shortLayerId, statusMessage, type JsonMessage } from '../../translate/pull-progress.js';
import type { RegistryCredentials } from '../../translate/registry-auth.js';
import { runTool } from '../exec.js';
import type { RegistryClient, FetchedManifest } from '../registry/client.js';
import { RegistryAccess } from '../registry/access.js';
import { isIndexType, isManifestType, layerCompression, type Compression } from '../registry/media-types.js';
import { chainIds } from './chain.js';
import { diffIdsOf, parseImageConfig } from '../../translate/image-config.js';
import { downloadBlob, VerificationError } from './download.js';
import { downloadAndUnpack, unpackBranch } from './layer-stream.js';
import { Semaphore } from './semaphore.js';
import type { ImageStore } from './store.js';
import { convertWhiteouts } from './unpack.js';
import { EngineError } from '../../translate/errors.js';
import { diskUsage } from '../fs-usage.js';
import type { Logger } from 'pino';
import { phaseTimer } from '../containers/phase-timer.js';

export interface PullRequest {
  ref: ImageRef;
  /** Asked for explicitly (`platform=`); otherwise the host platform, without the strict config check. */
  platform?: Platform;
  creds?: RegistryCredentials;
}

export type Emit = (message: JsonMessage) => void;

interface LayerDescriptor {
  mediaType: string;
  digest: string;
  size: number;
}

interface ManifestJson {
  schemaVersion?: number;
  mediaType?: string;
  config?: LayerDescriptor;
  layers?: LayerDescriptor[];
  manifests?: (LayerDescriptor & { platform?: { os?: string; architecture?: string; variant?: string } })[];
}

/** A manifest and config resolved and checked: what remains is fetching layers and recording the image. */
interface ResolvedImage {
  client: RegistryClient;
  ref: ImageRef;
  /** The digest of the manifest (or index) the reference named. */
  topDigest: string;
  display: string;
  layers: LayerDescriptor[];
  chains: string[];
  diffIds: string[];
  compressions: Compression[];
  id: string;
  configBytes: Buffer;
}

const DOWNLOAD_ATTEMPTS = 3;
const PROGRESS_INTERVAL_MS = 100;

function parseManifest(m: FetchedManifest): ManifestJson {
  try {
    return JSON.parse(m.bytes.toString('utf8')) as ManifestJson;
  } catch {
    throw new Error(`invalid manifest ${m.digest}: not JSON`);
  }
}

export class Puller {
  private readonly downloads: Semaphore;
  /** Layer work in flight by chain ID: concurrent pulls of shared layers wait on one download. */
  private readonly inflight = new Map<string, Promise<void>>();

  constructor(
    private readonly store: ImageStore,
    private readonly host: Platform,
    maxConcurrentDownloads = 3,
    private readonly access: RegistryAccess = new RegistryAccess(),
    private readonly logger?: Logger,
  ) {
    this.downloads = new Semaphore(maxConcurrentDownloads);
  }

  async pull(req: PullRequest, emit: Emit, signal?: AbortSignal): Promise<void> {
    const ref = withDefaultTag(req.ref);
    const display = familiarString(ref);
    const reference = ref.digest ?? (ref.tag as string);
    const { client, top } = await this.firstManifest(this.access.pullClients(ref.domain, ref.path, req.creds), reference, display, signal);
    emit(statusMessage(`Pulling from ${ref.path}`, reference));

    const wanted = req.platform ?? this.host;
    let manifest = top;
    if (isIndexType(top.mediaType)) {
      const index = parseManifest(top);
      const chosen = (index.manifests ?? []).find(
        (d) => d.platform?.os !== undefined && d.platform.architecture !== undefined && isManifestType(d.mediaType) &&
          platformMatches(wanted, { os: d.platform.os, architecture: d.platform.architecture, ...(d.platform.variant ? { variant: d.platform.variant } : {}) }),
      );
      if (!chosen) throw new Error(`no matching manifest for ${formatPlatform(wanted)} in the manifest list entries`);
      manifest = await client.manifest(chosen.digest, display, signal);
    }
    if (!isManifestType(manifest.mediaType)) throw new Error(`unsupported manifest media type ${manifest.mediaType || '(none)'} for ${display}`);
    const body = parseManifest(manifest);
    if (!body.config?.digest || !Array.isArray(body.layers)) throw new Error(`invalid manifest ${manifest.digest}: no config or layers`);

    const id = body.config.digest;
    const configBytes = await client.blobBytes(id, signal);
    const config = parseImageConfig(configBytes);
    if (req.platform && !isIndexType(top.mediaType)) {
      const actual = { os: config.os ?? '', architecture: config.architecture ?? '', ...(config.variant ? { variant: config.variant } : {}) };
      if (!platformMatches(req.platform, actual)) {
        throw new Error(`image with reference ${display} was found but its platform (${formatPlatform(actual)}) does not match the specified platform (${formatPlatform(req.platform)})`);
      }
    }
    const diffIds = diffIdsOf(config);
    if (diffIds.length !== body.layers.length) throw new Error(`layers from manifest don't match image configuration`);
    const chains = chainIds(diffIds);
    const compressions = body.layers.map((l) => {
      const c = layerCompression(l.mediaType);
      if (c === undefined) throw new Error(`unsupported layer media type ${l.mediaType}`);
      return c;
    });

    // From here the pull relies on layers it finds stored ("Already exists") and makes the image:
    // both are leased so a concurrent rmi or prune cannot free them before the image is recorded.
    const lease = this.store.lease();
    try {
      lease.layers(chains);
      lease.image(id);
      await this.fetchAndRecord({ client, ref, topDigest: top.digest, display, layers: body.layers, chains, diffIds, compressions, id, configBytes }, emit);
    } finally {
      await lease.release();
    }
  }

  /** Downloads the missing layers and records the image (under the pull's lease). */
  private async fetchAndRecord(img: ResolvedImage, emit: Emit): Promise<void> {
    const { client, ref, topDigest, display, layers, chains, diffIds, compressions, id, configBytes } = img;
    const seen = new Set<string>();
    const todo: number[] = [];
    layers.forEach((l, i) => {
      if (seen.has(chains[i])) return;
      seen.add(chains[i]);
      if (this.store.hasLayer(chains[i])) emit(layerMessage('Already exists', shortLayerId(l.digest)));
      else {
        emit(layerMessage('Pulling fs layer', shortLayerId(l.digest)));
        todo.push(i);
      }
    });
    await Promise.all(todo.map((i) => this.layer(client, layers[i], chains[i], diffIds[i], compressions[i], emit)));

    const existed = this.store.has(id);
    await this.store.putConfig(id, configBytes);
    const digestRef: ImageRef = { domain: ref.domain, path: ref.path, digest: topDigest };
    const refs = ref.tag !== undefined ? [{ domain: ref.domain, path: ref.path, tag: ref.tag }, digestRef] : [digestRef];
    const before = await this.store.addImage(id, chains, refs);
    const repository = `${ref.domain}/${ref.path}`;
    for (const [i, l] of layers.entries()) if (this.store.layer(chains[i])?.blob?.digest === l.digest) await this.store.addBlobSource(chains[i], repository);
    emit(statusMessage(`Digest: ${topDigest}`));
    const updated = ref.tag !== undefined ? before[0] !== id : !existed || before[0] !== id;
    emit(statusMessage(`Status: ${updated ? 'Downloaded newer image' : 'Image is up to date'} for ${display}`));
  }

  /** The manifest from the first endpoint that has it (mirrors before Docker Hub); the registry's own error otherwise. */
  private async firstManifest(clients: RegistryClient[], reference: string, display: string, signal?: AbortSignal): Promise<{ client: RegistryClient; top: FetchedManifest }> {
    let lastErr: unknown;
    for (const client of clients) {
      try {
        return { client, top: await client.manifest(reference, display, signal) };
      } catch (err) {
        lastErr = err;
      }
    }
    throw lastErr;
  }

  private async layer(client: RegistryClient, desc: LayerDescriptor, chainId: string, diffId: string, compression: Compression, emit: Emit): Promise<void> {
    const short = shortLayerId(desc.digest);
    const running = this.inflight.get(chainId);
    if (running) {
      emit(layerMessage('Waiting', short));
      await running;
      emit(layerMessage('Pull complete', short));
      return;
    }
    // Not tied to one client's connection: another pull may be waiting on the same layer.
    const work = this.fetchLayer(client, desc, chainId, diffId, compression, emit).finally(() => this.inflight.delete(chainId));
    this.inflight.set(chainId, work);
    await work;
  }

  private async fetchLayer(client: RegistryClient, desc: LayerDescriptor, chainId: string, diffId: string, compression: Compression, emit: Emit): Promise<void> {
    const short = shortLayerId(desc.digest);
    const dir = await this.store.tempDir('pull');
    const timer = this.logger ? phaseTimer(this.logger, 'layer pull phases', desc.digest.replace(/^sha256:/, '')) : undefined;
    try {
      const file = join(dir, 'blob');
      const staged = join(dir, 'layer');
      const target = join(staged, 'diff');
      const release = await this.downloads.acquire(() => emit(layerMessage('Waiting', short)));
      let gotDiffId: string | undefined;
      try {
        gotDiffId = await this.downloadWithRetry(client, desc, compression, file, target, short, emit);
      } finally {
        release();
      }
      timer?.mark('downloadAndUnpack');
      emit(layerMessage('Verifying Checksum', short));
      if (compression === 'zstd') gotDiffId = await this.unpackZstd(file, dir, target);
      if (gotDiffId !== diffId) throw new Error(`failed to register layer: layer ${diffId} does not match the content of ${desc.digest} (diff id ${gotDiffId ?? 'unknown'})`);
      emit(layerMessage('Download complete', short));
      emit(progressMessage('Extracting', short, desc.size, desc.size));
      await convertWhiteouts(target);
      const size = await diskUsage(target);
      timer?.mark('whiteoutsAndSize');
      // The blob as the registry served it is kept for push and save.
      await rename(file, join(staged, `blob-${desc.digest.replace(/^sha256:/, '')}`));
      const blob = { digest: desc.digest, size: desc.size, mediaType: desc.mediaType, sources: [`${client.domain}/${client.repository}`] };
      await this.store.commitLayer(staged, { chainId, diffId, size, blob });
      timer?.mark('commit');
      timer?.done();
      emit(layerMessage('Pull complete', short));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** node has no zstd: the zstd tool makes a plain tar first, then it is unpacked (and its diff ID taken) in one pass. */
  private async unpackZstd(file: string, dir: string, target: string): Promise<string> {
    const tarFile = join(dir, 'layer.tar');
    await runTool('zstd', ['-d', '-q', '-o', tarFile, file]);
    const branch = unpackBranch('none', target);
    await pipeline(createReadStream(tarFile), branch.head).catch(() => undefined);
    const got = await branch.diffId;
    await rm(tarFile, { force: true });
    return got;
  }

  /**
   * The blob into `file`, unpacked into `target` on the way (gzip, plain) or only downloaded (zstd);
   * returns the diff ID when it was unpacked. A failed download starts again from an empty target.
   */
  private async downloadWithRetry(client: RegistryClient, desc: LayerDescriptor, compression: Compression, file: string, target: string, short: string, emit: Emit): Promise<string | undefined> {
    for (let attempt = 1; ; attempt++) {
      let last = 0;
      const progress = (current: number, total: number): void => {
        const now = Date.now();
        if (now - last < PROGRESS_INTERVAL_MS && current < total) return;
        last = now;
        emit(progressMessage('Downloading', short, current, total));
      };
      await rm(target, { recursive: true, force: true });
      await mkdir(target, { recursive: true, mode: 0o755 });
      try {
        if (compression === 'zstd') {
          await downloadBlob(client, desc, file, progress);
          return undefined;
        }
        return await downloadAndUnpack(client, desc, compression, file, target, progress);
      } catch (err) {
        if (err instanceof VerificationError || err instanceof EngineError || attempt >= DOWNLOAD_ATTEMPTS) throw err;
        emit(layerMessage(`Retrying in ${attempt} second${attempt === 1 ? '' : 's'}`, short));
        await sleep(attempt * 1000);
      }
    }
  }
}
