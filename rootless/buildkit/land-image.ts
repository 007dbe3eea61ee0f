/**
 * dockerd's BuildKit has a `moby` exporter that writes the result into dockerd's image store; an
 * external buildkitd has none. Burrow asks buildkitd for its `image` exporter instead (which keeps
 * the manifest, config and layers in buildkitd's content store), then lands that image in its own
 * store through the same path as `docker load`: an OCI layout streamed from the content store, with
 * the build's names as containerd name annotations. The loader checks every digest it reads.
 */
import { link, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { parseNormalizedNamed, refString, withDefaultTag } from '../../translate/image-ref.js';
import type { JsonMessage } from '../../translate/pull-progress.js';
import type { ImageStore } from '../images/store.js';
import { tarStream, type TarSource } from '../images/tar-writer.js';
import { landStored } from './land-stored.js';
import { LANDING_PREFIX } from './landing-dirs.js';

/** Names a build without `-t` is exported under, so buildkitd keeps its blobs; never shown as a Burrow tag. */
const UNNAMED_REPOSITORY = 'burrow.invalid/buildkit-unnamed';

/**
 * The placeholder names of builds without `-t` in flight: each gets its own, so two at once never
 * replace each other's image in buildkitd's store (whose blobs could then be collected before Burrow
 * copied them); a finished build's name is reused, so the names, and what they keep, stay few.
 */
export class UnnamedExports {
  private readonly busy = new Set<number>();

  take(): string {
    let slot = 0;
    while (this.busy.has(slot)) slot++;
    this.busy.add(slot);
    return `${UNNAMED_REPOSITORY}:${slot}`;
  }

  release(name: string): void {
    const slot = Number(name.slice(UNNAMED_REPOSITORY.length + 1));
    this.busy.delete(slot);
  }
}

function isUnnamedExport(name: string): boolean {
  return name.startsWith(`${UNNAMED_REPOSITORY}:`);
}

export type LoadArchive = (body: Readable, quiet: boolean, emit: (m: JsonMessage) => void) => Promise<unknown>;

interface Descriptor {
  mediaType?: string;
  digest?: string;
  size?: number;
  platform?: { os?: string; architecture?: string };
  annotations?: Record<string, string>;
}

const GO_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

function blobPath(contentDir: string, digest: string): string {
  const m = /^sha256:([a-f0-9]{64})$/.exec(digest);
  if (!m) throw new Error(`buildkitd exported an unsupported digest ${digest}`);
  return join(contentDir, 'blobs', 'sha256', m[1] as string);
}

/**
 * buildkitd collects its garbage right after a Solve, and under load it removed an exported image's
 * blobs while Burrow was still copying them (ENOENT half-way through a landing). Each blob is
 * therefore hard-linked into a private directory beside the content store as soon as it is found:
 * the link keeps the bytes whatever buildkitd removes, and costs no copy.
 */
export { LANDING_PREFIX } from './landing-dirs.js';

class PinnedBlobs {
  constructor(
    private readonly contentDir: string,
    readonly dir: string,
  ) {}

  /** The pinned file of `digest`, or undefined when buildkitd has (already) no such blob. */
  async pin(digest: string): Promise<string | undefined> {
    const source = blobPath(this.contentDir, digest);
    const pinned = join(this.dir, digest.slice('sha256:'.length));
    try {
      await link(source, pinned);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      if (code !== 'EEXIST') throw err;
    }
    return pinned;
  }

  async need(digest: string): Promise<string> {
    const pinned = await this.pin(digest);
    if (pinned === undefined) throw new Error(`buildkitd's content store has no ${digest}`);
    return pinned;
  }
}

function isAttestation(desc: Descriptor): boolean {
  return desc.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' || desc.platform?.os === 'unknown';
}

/**
 * Every blob the image at `root` needs, manifests first, pinned (digest → pinned file and size).
 * Child manifests of an index that buildkitd did not keep (other platforms) and attestations are
 * left out; the loader picks the host's manifest.
 */
async function collectBlobs(pins: PinnedBlobs, root: Descriptor): Promise<{ blobs: Map<string, { path: string; size: number }>; imageId: string | undefined; hostLayers: number }> {
  const blobs = new Map<string, { path: string; size: number }>();
  // The config of the image Burrow's loader keeps: the host's manifest of an index, never an attestation.
  let imageId: string | undefined;
  let hostLayers = 0;
  const hostArch = GO_ARCH[process.arch] ?? process.arch;
  const add = async (digest: string, path: string): Promise<void> => {
    blobs.set(digest, { path, size: (await stat(path)).size });
  };
  const visit = async (desc: Descriptor, depth: number): Promise<void> => {
    if (!desc.digest || blobs.has(desc.digest) || depth > 4) return;
    const path = depth === 0 ? await pins.need(desc.digest) : await pins.pin(desc.digest);
    if (path === undefined) return;
    await add(desc.digest, path);
    const isJson = /manifest|index/.test(desc.mediaType ?? '') || depth === 0;
    if (!isJson) return;
    const body = JSON.parse(await readFile(path, 'utf8')) as { manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] };
    // Attestation manifests (provenance) are left out: Burrow's store keeps none, and buildkitd's
    // garbage collection does not spare their blobs (the landing failed under load on a removed one).
    for (const m of body.manifests ?? []) if (!isAttestation(m)) await visit(m, depth + 1);
    const forHost = depth === 0 || (desc.platform?.os === 'linux' && desc.platform.architecture === hostArch);
    if (body.config?.digest && forHost && imageId === undefined) {
      imageId = body.config.digest;
      hostLayers = body.layers?.length ?? 0;
    }
    if (body.config?.digest) await add(body.config.digest, await pins.need(body.config.digest));
    for (const l of body.layers ?? []) if (l.digest) await add(l.digest, await pins.need(l.digest));
  };
  await visit(root, 0);
  return { blobs, imageId, hostLayers };
}

/** The exported image's root descriptor, from the Solve's exporter response. */
export function exportedRoot(resp: ReadonlyMap<string, string>): Descriptor {
  const encoded = resp.get('containerimage.descriptor');
  if (encoded) {
    const d = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')) as Descriptor;
    if (d.digest) return d;
  }
  const digest = resp.get('containerimage.digest');
  if (!digest) throw new Error('buildkitd exported no image (its response names no containerimage.digest)');
  return { digest, mediaType: 'application/vnd.oci.image.manifest.v1+json' };
}

/** The `name` attribute's references, normalised; the unnamed placeholders are dropped. */
export function exportNames(nameAttr: string | undefined): string[] {
  return (nameAttr ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '' && !isUnnamedExport(n))
    .map((n) => refString(withDefaultTag(parseNormalizedNamed(n))));
}

/** Lands the image; resolves with its image ID in Burrow's store (its config digest) when known. */
export async function landImage(contentDir: string, resp: ReadonlyMap<string, string>, names: readonly string[], into: { store: ImageStore; load: LoadArchive }): Promise<string | undefined> {
  const root = exportedRoot(resp);
  // Beside the worker's directory, on the same filesystem as the content store (hard links).
  const pins = new PinnedBlobs(contentDir, await mkdtemp(join(dirname(dirname(contentDir)), LANDING_PREFIX)));
  try {
    const { blobs, imageId, hostLayers } = await collectBlobs(pins, root);
    const config = imageId !== undefined ? blobs.get(imageId) : undefined;
    // A cached rebuild: every layer is stored already, only the image record and its names change.
    if (imageId !== undefined && config && (await landStored(into.store, { id: imageId, configPath: config.path, layerCount: hostLayers }, names))) return imageId;
    const rootDesc = { mediaType: root.mediaType, digest: root.digest, size: blobs.get(root.digest as string)?.size };
    const manifests = names.length === 0 ? [rootDesc] : names.map((n) => ({ ...rootDesc, annotations: { 'io.containerd.image.name': n } }));
    const entries = async function* (): AsyncGenerator<TarSource> {
      yield { name: 'oci-layout', type: 'data', data: Buffer.from('{"imageLayoutVersion":"1.0.0"}') };
      yield { name: 'index.json', type: 'data', data: Buffer.from(JSON.stringify({ schemaVersion: 2, manifests })) };
      yield { name: 'blobs/', type: 'dir' };
      yield { name: 'blobs/sha256/', type: 'dir' };
      for (const [digest, blob] of blobs) {
        yield { name: `blobs/sha256/${digest.slice('sha256:'.length)}`, type: 'file', path: blob.path, size: blob.size };
      }
    };
    await into.load(Readable.from(tarStream(entries())), true, () => undefined);
    return imageId;
  } finally {
    await rm(pins.dir, { recursive: true, force: true });
  }
}
