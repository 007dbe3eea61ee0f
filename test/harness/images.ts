/**
 * Test images built without docker: layers from tar.ts, gzip from node:zlib, manifests
 * written by hand and pushed over the plain distribution API. Everything is deterministic
 * (fixed mtimes, fixed JSON key order, sorted applet list) so digests are stable per host,
 * which lets tests assert exact digests instead of "some digest".
 *
 * The building blocks (buildLayer, assembleImage, pushImage, pushIndex) are exported so
 * later tests can craft and push hostile images the same way.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { runTool } from '../../rootless/exec.js';
import { basicAuthHeader, type RunningRegistry } from './registry.js';
import { DEFAULT_MTIME, writeTar, type TarEntry } from './tar.js';

export const MEDIA_TYPES = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

export const TEST_NAMESPACE = 'burrow-test';
export const DEFAULT_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const CREATED = new Date(DEFAULT_MTIME * 1000).toISOString().replace('.000Z', 'Z');
const BUSYBOX_BINARY = '/bin/busybox';

export type ImageFormat = 'docker' | 'oci';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export const sha256Digest = (data: Buffer): string => 'sha256:' + createHash('sha256').update(data).digest('hex');

// ---------------------------------------------------------------------------------------
// Layers, configs, manifests (pure; no registry involved)

export interface LayerBlob {
  /** The uncompressed tar; its digest is the diff id. */
  tar: Buffer;
  /** What is uploaded: gzip of `tar`, or `tar` itself when uncompressed. */
  blob: Buffer;
  compression: 'gzip' | 'none';
  digest: string;
  size: number;
  diffId: string;
  /** Goes into the config's history as `created_by`. */
  comment: string;
}

export function buildLayer(entries: readonly TarEntry[], opts: { comment: string; compression?: 'gzip' | 'none' }): LayerBlob {
  const tar = writeTar(entries);
  const compression = opts.compression ?? 'gzip';
  // gzipSync writes mtime 0 and no file name into the header, so equal input gives equal output.
  const blob = compression === 'gzip' ? gzipSync(tar, { level: 6 }) : tar;
  return { tar, blob, compression, digest: sha256Digest(blob), size: blob.length, diffId: sha256Digest(tar), comment: opts.comment };
}

function layerMediaType(format: ImageFormat, compression: LayerBlob['compression']): string {
  if (format === 'docker') return compression === 'gzip' ? MEDIA_TYPES.dockerLayerGzip : MEDIA_TYPES.dockerLayer;
  return compression === 'gzip' ? MEDIA_TYPES.ociLayerGzip : MEDIA_TYPES.ociLayer;
}

export interface ContainerConfig {
  Env?: string[];
  Cmd?: string[];
  Entrypoint?: string[];
  WorkingDir?: string;
  User?: string;
  Labels?: Record<string, string>;
  ExposedPorts?: Record<string, Record<string, never>>;
  Volumes?: Record<string, Record<string, never>>;
}

export interface ImageConfigJson {
  architecture: string;
  variant?: string;
  os: string;
  created: string;
  config: ContainerConfig;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history: { created: string; created_by: string; comment?: string; empty_layer?: boolean }[];
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

export interface ImageLayerInfo {
  mediaType: string;
  digest: string;
  size: number;
  diffId: string;
}

/** A single-platform image ready to push: every blob plus the exact manifest bytes. */
export interface AssembledImage {
  format: ImageFormat;
  platform: Platform;
  config: ImageConfigJson;
  configBytes: Buffer;
  configDescriptor: Descriptor;
  layers: ImageLayerInfo[];
  manifestBytes: Buffer;
  manifestDescriptor: Descriptor;
  /** digest → bytes, for every blob the manifest references. */
  blobs: Map<string, Buffer>;
}

export function assembleImage(spec: {
  format: ImageFormat;
  platform: Platform;
  layers: readonly LayerBlob[];
  config?: ContainerConfig;
}): AssembledImage {
  const config: ImageConfigJson = {
    architecture: spec.platform.architecture,
    ...(spec.platform.variant !== undefined ? { variant: spec.platform.variant } : {}),
    os: spec.platform.os,
    created: CREATED,
    config: spec.config ?? { Env: [DEFAULT_PATH_ENV], Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: spec.layers.map((l) => l.diffId) },
    history: spec.layers.map((l) => ({ created: CREATED, created_by: l.comment })),
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDescriptor: Descriptor = {
    mediaType: spec.format === 'docker' ? MEDIA_TYPES.dockerConfig : MEDIA_TYPES.ociConfig,
    digest: sha256Digest(configBytes),
    size: configBytes.length,
  };
  const layers: ImageLayerInfo[] = spec.layers.map((l) => ({
    mediaType: layerMediaType(spec.format, l.compression),
    digest: l.digest,
    size: l.size,
    diffId: l.diffId,
  }));
  const manifestMediaType = spec.format === 'docker' ? MEDIA_TYPES.dockerManifest : MEDIA_TYPES.ociManifest;
  const manifest = {
    schemaVersion: 2,
    mediaType: manifestMediaType,
    config: configDescriptor,
    layers: layers.map(({ mediaType, digest, size }) => ({ mediaType, digest, size })),
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const blobs = new Map<string, Buffer>([[configDescriptor.digest, configBytes]]);
  for (const l of spec.layers) blobs.set(l.digest, l.blob);
  return {
    format: spec.format,
    platform: spec.platform,
    config,
    configBytes,
    configDescriptor,
    layers,
    manifestBytes,
    manifestDescriptor: { mediaType: manifestMediaType, digest: sha256Digest(manifestBytes), size: manifestBytes.length },
    blobs,
  };
}

export interface AssembledIndex {
  manifestBytes: Buffer;
  manifestDescriptor: Descriptor;
  images: AssembledImage[];
}

export function assembleIndex(images: readonly AssembledImage[]): AssembledIndex {
  const index = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociIndex,
    manifests: images.map((img) => ({ ...img.manifestDescriptor, platform: img.platform })),
  };
  const manifestBytes = Buffer.from(JSON.stringify(index));
  return {
    manifestBytes,
    manifestDescriptor: { mediaType: MEDIA_TYPES.ociIndex, digest: sha256Digest(manifestBytes), size: manifestBytes.length },
    images: [...images],
  };
}

// ---------------------------------------------------------------------------------------
// Pushing over the distribution API

/** Where a push goes: a registry's base URL and, when it has one, its login. */
export type RegistryTarget = Pick<RunningRegistry, 'url' | 'auth'>;

async function registryFetch(registry: RegistryTarget, target: string | URL, init: RequestInit = {}): Promise<Response> {
  const url = new URL(target, registry.url);
  // Tests must only ever talk to loopback; an odd Location header must not send us elsewhere.
  if (url.hostname !== '127.0.0.1') throw new Error(`refusing non-loopback registry URL ${url.href}`);
  const headers = new Headers(init.headers);
  const auth = basicAuthHeader(registry);
  if (auth !== undefined) headers.set('Authorization', auth);
  return fetch(url, { ...init, headers, redirect: 'manual' });
}

async function expectStatus(res: Response, ok: readonly number[], what: string): Promise<void> {
  if (ok.includes(res.status)) return;
  const body = await res.text().catch(() => '');
  throw new Error(`${what}: HTTP ${res.status} ${body.slice(0, 500)}`);
}

/** Upload one blob unless the repository already has it (monolithic POST + PUT). */
export async function pushBlob(registry: RegistryTarget, name: string, digest: string, data: Buffer): Promise<void> {
  const head = await registryFetch(registry, `/v2/${name}/blobs/${digest}`, { method: 'HEAD' });
  if (head.status === 200) return;
  const start = await registryFetch(registry, `/v2/${name}/blobs/uploads/`, { method: 'POST' });
  await expectStatus(start, [202], `start upload of ${digest} to ${name}`);
  await start.arrayBuffer();
  const location = start.headers.get('Location');
  if (location === null) throw new Error(`registry gave no upload Location for ${name}`);
  const put = new URL(location, registry.url);
  put.searchParams.set('digest', digest);
  const res = await registryFetch(registry, put, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: new Uint8Array(data),
  });
  await expectStatus(res, [201], `upload of ${digest} to ${name}`);
  await res.arrayBuffer();
}

/** PUT a manifest under a tag or digest; returns the digest the registry computed. */
export async function pushManifest(registry: RegistryTarget, name: string, reference: string, desc: Descriptor, bytes: Buffer): Promise<string> {
  const res = await registryFetch(registry, `/v2/${name}/manifests/${reference}`, {
    method: 'PUT',
    headers: { 'Content-Type': desc.mediaType },
    body: new Uint8Array(bytes),
  });
  await expectStatus(res, [201], `push manifest ${name}:${reference}`);
  await res.arrayBuffer();
  const digest = res.headers.get('Docker-Content-Digest');
  if (digest !== desc.digest) throw new Error(`registry stored ${name}:${reference} as ${digest ?? '(no digest)'}, expected ${desc.digest}`);
  return digest;
}

/** Push all blobs, then the manifest (registries reject manifests whose blobs are missing). */
export async function pushImage(registry: RegistryTarget, name: string, reference: string, img: AssembledImage): Promise<void> {
  for (const [digest, data] of img.blobs) await pushBlob(registry, name, digest, data);
  await pushManifest(registry, name, reference, img.manifestDescriptor, img.manifestBytes);
}

/** Children go in by digest first: the registry verifies an index's manifests exist. */
export async function pushIndex(registry: RegistryTarget, name: string, reference: string, index: AssembledIndex): Promise<void> {
  for (const img of index.images) await pushImage(registry, name, img.manifestDescriptor.digest, img);
  await pushManifest(registry, name, reference, index.manifestDescriptor, index.manifestBytes);
}

// ---------------------------------------------------------------------------------------
// The standard test images

const root = { uid: 0, gid: 0, uname: 'root', gname: 'root' } as const;
const nobody = { uid: 65534, gid: 65534, uname: 'nobody', gname: 'nobody' } as const;
const dir = (name: string, mode = 0o755, owner: typeof root | typeof nobody = root): TarEntry => ({ type: 'dir', name, mode, ...owner });
const file = (name: string, content: string | Buffer, mode = 0o644, owner: typeof root | typeof nobody = root): TarEntry => ({
  type: 'file',
  name,
  content,
  mode,
  ...owner,
});

export const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home/nobody:/bin/sh\n';
export const GROUP = 'root:x:0:\nnobody:x:65534:\n';
export const SECRET = 'secret\n';

async function busyboxApplets(): Promise<string[]> {
  const { stdout } = await runTool(BUSYBOX_BINARY, ['--list']);
  const names = stdout.split('\n').map((s) => s.trim()).filter((s) => s !== '' && s !== 'busybox' && !s.includes('/'));
  return [...new Set(names)].sort();
}

function busyboxEntries(binary: Buffer, applets: readonly string[]): TarEntry[] {
  return [
    dir('bin/'),
    file('bin/busybox', binary, 0o755),
    // Relative targets resolve the same inside the container and in an unpacked layer dir on the host.
    ...applets.map((a): TarEntry => ({ type: 'symlink', name: `bin/${a}`, target: 'busybox', ...root })),
    dir('dev/'),
    dir('etc/'),
    file('etc/group', GROUP),
    file('etc/passwd', PASSWD),
    dir('home/'),
    dir('home/nobody/', 0o700, nobody),
    file('home/nobody/secret', SECRET, 0o600, nobody),
    dir('proc/'),
    dir('root/', 0o700),
    dir('sys/'),
    dir('tmp/', 0o1777),
    dir('usr/'),
    dir('var/'),
  ];
}

const layer2Entries: TarEntry[] = [
  dir('data/'),
  file('data/keep', 'keep\n'),
  file('data/todelete', 'gone\n'),
  { type: 'hardlink', name: 'data/hardlink', target: 'data/keep', ...root },
  dir('opq/'),
  file('opq/a', 'a\n'),
  file('opq/b', 'b\n'),
];

// OCI/Docker whiteouts as they appear in registry layers: empty regular files with magic names.
const layer3Entries: TarEntry[] = [
  dir('bin/'),
  file('bin/.wh.vi', ''),
  dir('data/'),
  file('data/.wh.todelete', ''),
  dir('etc/'),
  file('etc/layer3', 'l3\n'),
  dir('opq/'),
  file('opq/.wh..wh..opq', ''),
  file('opq/c', 'c\n'),
];

export const platformString = (p: Platform): string => [p.os, p.architecture, p.variant].filter((x) => x !== undefined).join('/');
/** What /etc/platform holds in each multi-platform image: "linux/amd64\n", "linux/arm64\n". */
export const platformFileContent = (p: Platform): string => `${p.os}/${p.architecture}\n`;

export interface StandardImages {
  applets: string[];
  busybox: AssembledImage;
  busyboxUncompressed: AssembledImage;
  layers: AssembledImage;
  multi: AssembledIndex;
}

export const AMD64: Platform = { os: 'linux', architecture: 'amd64' };
export const ARM64: Platform = { os: 'linux', architecture: 'arm64', variant: 'v8' };

/** Build the standard images without pushing; each call rebuilds from scratch. */
export async function buildStandardImages(): Promise<StandardImages> {
  const [binary, applets] = await Promise.all([readFile(BUSYBOX_BINARY), busyboxApplets()]);
  const base = busyboxEntries(binary, applets);
  const busyboxLayer = buildLayer(base, { comment: 'burrow-test: busybox-static, passwd, /home/nobody' });
  const busyboxRaw = buildLayer(base, { comment: busyboxLayer.comment, compression: 'none' });
  const layer2 = buildLayer(layer2Entries, { comment: 'burrow-test: /data files, hard link, /opq/{a,b}' });
  const layer3 = buildLayer(layer3Entries, { comment: 'burrow-test: whiteouts (.wh.todelete, opaque /opq, .wh.vi)' });
  const platformImage = (p: Platform): AssembledImage =>
    assembleImage({
      format: 'oci',
      platform: p,
      layers: [busyboxLayer, buildLayer([dir('etc/'), file('etc/platform', platformFileContent(p))], { comment: `burrow-test: /etc/platform ${platformString(p)}` })],
    });
  return {
    applets,
    busybox: assembleImage({ format: 'docker', platform: AMD64, layers: [busyboxLayer] }),
    busyboxUncompressed: assembleImage({ format: 'docker', platform: AMD64, layers: [busyboxRaw] }),
    layers: assembleImage({ format: 'oci', platform: AMD64, layers: [busyboxLayer, layer2, layer3] }),
    multi: assembleIndex([platformImage(AMD64), platformImage(ARM64)]),
  };
}

// Building is independent of the registry, so one build serves every registry in this process.
let standard: Promise<StandardImages> | undefined;

// ---------------------------------------------------------------------------------------
// What tests get back

interface RefInfo {
  /** "127.0.0.1:PORT/burrow-test/busybox" */
  repository: string;
  /** Path on the registry, "burrow-test/busybox". */
  name: string;
  tag?: string;
  /** Tagged reference when there is a tag, else the digest reference. */
  reference: string;
  /** "127.0.0.1:PORT/burrow-test/busybox@sha256:…" */
  digestReference: string;
  manifestDigest: string;
  manifestMediaType: string;
  manifestSize: number;
}

export interface TestImage extends RefInfo {
  configDigest: string;
  configMediaType: string;
  config: ImageConfigJson;
  layers: ImageLayerInfo[];
  diffIds: string[];
  platform: Platform;
  /** Content of /etc/platform (multi-platform images only). */
  platformFile?: string;
}

export interface TestIndex extends RefInfo {
  /** One entry per platform, in index order; each has no tag, only a digest reference. */
  manifests: TestImage[];
}

export interface TestImages {
  /** "127.0.0.1:PORT" */
  registryHost: string;
  /** Applets symlinked to /bin/busybox in the base layer. */
  busyboxApplets: string[];
  /** burrow-test/busybox:latest — Docker schema2, one gzip layer. */
  busybox: TestImage;
  /** burrow-test/busybox:uncompressed — Docker schema2, same layer uncompressed (same config). */
  busyboxUncompressed: TestImage;
  /** burrow-test/layers:latest — OCI manifest, busybox + files/hard link + whiteouts. */
  layers: TestImage;
  /** burrow-test/multi:latest — OCI index, linux/amd64 and linux/arm64/v8. */
  multi: TestIndex;
}

function refInfo(registry: RunningRegistry, name: string, tag: string | undefined, desc: Descriptor): RefInfo {
  const repository = `${registry.host}/${name}`;
  const digestReference = `${repository}@${desc.digest}`;
  return {
    repository,
    name,
    ...(tag !== undefined ? { tag } : {}),
    reference: tag !== undefined ? `${repository}:${tag}` : digestReference,
    digestReference,
    manifestDigest: desc.digest,
    manifestMediaType: desc.mediaType,
    manifestSize: desc.size,
  };
}

function testImageInfo(registry: RunningRegistry, name: string, tag: string | undefined, img: AssembledImage, platformFile?: string): TestImage {
  return {
    ...refInfo(registry, name, tag, img.manifestDescriptor),
    configDigest: img.configDescriptor.digest,
    configMediaType: img.configDescriptor.mediaType,
    config: img.config,
    layers: img.layers,
    diffIds: img.config.rootfs.diff_ids,
    platform: img.platform,
    ...(platformFile !== undefined ? { platformFile } : {}),
  };
}

/** Build (once per process) and push the standard test images to `registry`. */
export async function buildTestImages(registry: RunningRegistry): Promise<TestImages> {
  standard ??= buildStandardImages();
  const s = await standard;
  const names = {
    busybox: `${TEST_NAMESPACE}/busybox`,
    layers: `${TEST_NAMESPACE}/layers`,
    multi: `${TEST_NAMESPACE}/multi`,
  };
  await pushImage(registry, names.busybox, 'latest', s.busybox);
  await pushImage(registry, names.busybox, 'uncompressed', s.busyboxUncompressed);
  await pushImage(registry, names.layers, 'latest', s.layers);
  await pushIndex(registry, names.multi, 'latest', s.multi);
  return {
    registryHost: registry.host,
    busyboxApplets: s.applets,
    busybox: testImageInfo(registry, names.busybox, 'latest', s.busybox),
    busyboxUncompressed: testImageInfo(registry, names.busybox, 'uncompressed', s.busyboxUncompressed),
    layers: testImageInfo(registry, names.layers, 'latest', s.layers),
    multi: {
      ...refInfo(registry, names.multi, 'latest', s.multi.manifestDescriptor),
      manifests: s.multi.images.map((img) => testImageInfo(registry, names.multi, undefined, img, platformFileContent(img.platform))),
    },
  };
}
