/**
 * docker load: a `docker save` archive (manifest.json), an OCI image layout (index.json) or the
 * legacy per-layer layout (legacy-load.ts), streamed
 * to disk, unpacked with GNU tar (which refuses `..` members and absolute paths), then each image's
 * blobs are read only through paths proven to stay inside the unpacked directory.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, realpath, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { invalidParameter } from '../../translate/errors.js';
import { diffIdsOf, parseImageConfig } from '../../translate/image-config.js';
import { familiarString, parseNormalizedNamed, withDefaultTag, type ImageRef } from '../../translate/image-ref.js';
import { platformMatches, type Platform } from '../../translate/platform.js';
import { progressMessage, shortLayerId, streamMessage, type JsonMessage } from '../../translate/pull-progress.js';
import { isIndexType } from '../registry/media-types.js';
import { streamToFile } from './blob-files.js';
import { chainIds, hexOf } from './chain.js';
import { ingestLayer } from './ingest.js';
import type { ImageStore } from './store.js';
import { untar } from './unpack.js';
import { loadTarRefused } from '../../translate/tar-errors.js';
import { inside } from './archive-path.js';
import { loadLegacyLayout } from './legacy-load.js';

interface ArchiveImage {
  configPath: string;
  /** Checked against the config bytes when the archive names it (OCI descriptors). */
  configDigest?: string;
  layerPaths: string[];
  refs: ImageRef[];
}

interface Descriptor {
  mediaType?: string;
  digest?: string;
  platform?: { os?: string; architecture?: string; variant?: string };
  annotations?: Record<string, string>;
}

export class Loader {
  constructor(
    private readonly store: ImageStore,
    private readonly host: Platform,
  ) {}

  /** The IDs of the images loaded, in the archive's order. */
  async load(body: Readable, quiet: boolean, emit: (m: JsonMessage) => void): Promise<string[]> {
    const dir = await this.store.tempDir('load');
    try {
      const archive = join(dir, 'archive.tar');
      await streamToFile(body, archive);
      const root = join(dir, 'root');
      await mkdir(root, { mode: 0o700 });
      // An empty body is an empty archive to Go's tar reader (GNU tar refuses it): dockerd then
      // finds no image in it, and says so as for any other tar without one.
      if ((await stat(archive)).size > 0) {
        await untar(['-f', archive, '-C', root, '--no-same-owner', '--no-same-permissions', '--no-acls', '--no-selinux', '--no-xattrs'], loadTarRefused);
      }
      await rm(archive, { force: true });
      const realRoot = await realpath(root);
      const images = await this.readArchive(realRoot);
      // Neither manifest.json nor index.json: dockerd falls back to the legacy layout, whose
      // missing `repositories` is its error for a tar that is no image at all.
      if (images === undefined) return await loadLegacyLayout(this.store, realRoot, dir, quiet, emit);
      const ids: string[] = [];
      for (const img of images) ids.push(await this.loadImage(img, dir, quiet, emit));
      return ids;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private async loadImage(img: ArchiveImage, workDir: string, quiet: boolean, emit: (m: JsonMessage) => void): Promise<string> {
    const configBytes = await readFile(img.configPath);
    const id = 'sha256:' + createHash('sha256').update(configBytes).digest('hex');
    if (img.configDigest !== undefined && img.configDigest !== id) throw invalidParameter(`config digest mismatch: archive says ${img.configDigest}, content is ${id}`);
    const config = parseImageConfig(configBytes);
    const diffIds = diffIdsOf(config);
    if (diffIds.length !== img.layerPaths.length) throw invalidParameter(`invalid manifest, layers length mismatch: expected ${diffIds.length}, got ${img.layerPaths.length}`);
    const chains = chainIds(diffIds);
    // Layers found stored and those being made stay until the image that references them is recorded.
    const lease = this.store.lease();
    let before: (string | undefined)[];
    try {
      lease.layers(chains);
      lease.image(id);
      for (const [i, path] of img.layerPaths.entries()) {
        if (this.store.hasLayer(chains[i])) continue;
        await ingestLayer(this.store, path, workDir, { diffId: diffIds[i], chainId: chains[i], index: i });
        if (!quiet) emit(progressMessage('Loading layer', shortLayerId(diffIds[i]), 1, 1));
      }
      await this.store.putConfig(id, configBytes);
      before = await this.store.addImage(id, chains, img.refs);
    } finally {
      await lease.release();
    }
    img.refs.forEach((r, i) => {
      const old = before[i];
      if (old !== undefined && old !== id) emit(streamMessage(`The image ${familiarString(r)} already exists, renaming the old one with ID ${old} to empty string\n`));
    });
    if (img.refs.length === 0) emit(streamMessage(`Loaded image ID: ${id}\n`));
    for (const r of img.refs) emit(streamMessage(`Loaded image: ${familiarString(r)}\n`));
    return id;
  }

  /** The images the archive describes; docker's manifest.json wins over index.json as in dockerd. */
  private async readArchive(root: string): Promise<ArchiveImage[] | undefined> {
    const manifestJson = await inside(root, 'manifest.json', true);
    if (manifestJson) {
      const entries = parseJson(await readFile(manifestJson), 'manifest.json');
      if (!Array.isArray(entries)) throw invalidParameter('invalid manifest.json: not a list');
      const out: ArchiveImage[] = [];
      for (const e of entries as { Config?: unknown; RepoTags?: unknown; Layers?: unknown }[]) {
        if (typeof e.Config !== 'string' || !Array.isArray(e.Layers)) throw invalidParameter('invalid manifest.json entry');
        const tags = Array.isArray(e.RepoTags) ? e.RepoTags.filter((t): t is string => typeof t === 'string') : [];
        out.push({
          configPath: (await inside(root, e.Config)) as string,
          layerPaths: await Promise.all(e.Layers.map(async (l) => (await inside(root, String(l))) as string)),
          refs: tags.map((t) => taggedRef(t)),
        });
      }
      return out;
    }
    const indexJson = await inside(root, 'index.json', true);
    if (!indexJson) return undefined;
    const index = parseJson(await readFile(indexJson), 'index.json') as { manifests?: Descriptor[] };
    const byManifest = new Map<string, ArchiveImage>();
    for (const desc of index.manifests ?? []) {
      const manifest = await this.resolveManifest(root, desc);
      const refs = ociRefs(desc.annotations);
      const key = manifest.digest;
      const known = byManifest.get(key);
      if (known) known.refs.push(...refs);
      else byManifest.set(key, { ...manifest.image, refs });
    }
    return [...byManifest.values()];
  }

  /** Follows nested indexes to the host platform's manifest (or the only one). */
  private async resolveManifest(root: string, desc: Descriptor, depth = 0): Promise<{ digest: string; image: Omit<ArchiveImage, 'refs'> }> {
    if (depth > 4 || !desc.digest) throw invalidParameter('invalid OCI layout: bad descriptor');
    const body = parseJson(await readFile(await blobPath(root, desc.digest)), desc.digest) as {
      mediaType?: string;
      manifests?: Descriptor[];
      config?: Descriptor;
      layers?: Descriptor[];
    };
    if (isIndexType(desc.mediaType ?? '') || Array.isArray(body.manifests)) {
      const candidates = body.manifests ?? [];
      const chosen =
        candidates.find((m) => m.platform?.os && m.platform.architecture && platformMatches(this.host, { os: m.platform.os, architecture: m.platform.architecture, ...(m.platform.variant ? { variant: m.platform.variant } : {}) })) ??
        (candidates.length === 1 ? candidates[0] : undefined);
      if (!chosen) throw invalidParameter('no image in the OCI index matches the host platform');
      return this.resolveManifest(root, chosen, depth + 1);
    }
    if (!body.config?.digest || !Array.isArray(body.layers)) throw invalidParameter(`invalid OCI manifest ${desc.digest}`);
    return {
      digest: desc.digest,
      image: {
        configPath: await blobPath(root, body.config.digest),
        configDigest: body.config.digest,
        layerPaths: await Promise.all(body.layers.map((l) => blobPath(root, l.digest ?? ''))),
      },
    };
  }
}

function parseJson(bytes: Buffer, what: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    throw invalidParameter(`invalid JSON in ${what}`);
  }
}

function taggedRef(s: string): ImageRef {
  const ref = withDefaultTag(parseNormalizedNamed(s));
  if (ref.digest !== undefined) throw invalidParameter(`invalid tag ${s} in the archive: digest references cannot be loaded`);
  return ref;
}

/** containerd's full-name annotation, or a ref.name that is a whole reference (podman, skopeo); a bare tag names nothing. */
function ociRefs(annotations: Record<string, string> | undefined): ImageRef[] {
  const full = annotations?.['io.containerd.image.name'];
  const name = annotations?.['org.opencontainers.image.ref.name'];
  for (const candidate of [full, name]) {
    if (!candidate || !/[/:]/.test(candidate)) continue;
    try {
      const ref = withDefaultTag(parseNormalizedNamed(candidate));
      if (ref.digest === undefined) return [ref];
    } catch {
      // not a reference; try the next annotation
    }
  }
  return [];
}

async function blobPath(root: string, digest: string): Promise<string> {
  if (!/^sha256:[a-f0-9]{64}$/.test(digest)) throw invalidParameter(`unsupported digest ${digest} in the archive`);
  return (await inside(root, `blobs/sha256/${hexOf(digest)}`)) as string;
}
