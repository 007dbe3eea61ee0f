/**
 * Proves the test bed itself: a local registry starts unprivileged, the hand-built images
 * push cleanly, and the registry serves exactly the bytes and digests we computed.
 * Uses plain fetch so a bug in Burrow's own pull code cannot hide a broken fixture.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildStandardImages, buildTestImages, MEDIA_TYPES, type TestImages } from './harness/images.js';
import { basicAuthHeader, startRegistry, type RunningRegistry } from './harness/registry.js';

const sha256 = (data: Uint8Array): string => 'sha256:' + createHash('sha256').update(data).digest('hex');

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Member names of an uncompressed ustar archive, honouring pax `path` records. */
function tarNames(tar: Buffer): string[] {
  const names: string[] = [];
  let pending: string | undefined;
  for (let off = 0; off + 512 <= tar.length; ) {
    const header = tar.subarray(off, off + 512);
    if (header.every((b) => b === 0)) break;
    const size = parseInt(header.toString('ascii', 124, 136).replace(/\0.*$/, '').trim() || '0', 8);
    const type = header.toString('ascii', 156, 157);
    const body = tar.subarray(off + 512, off + 512 + size);
    if (type === 'x') pending = /\d+ path=([^\n]*)\n/.exec(body.toString('utf8'))?.[1];
    else {
      names.push(pending ?? header.toString('utf8', 0, 100).replace(/\0.*$/s, ''));
      pending = undefined;
    }
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return names;
}

describe('test registry and images', () => {
  let dir: string;
  let registry: RunningRegistry;
  let images: TestImages;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'burrow-registry-'));
    registry = await startRegistry({ dir });
    images = await buildTestImages(registry);
  }, 60_000);

  afterAll(async () => {
    if (registry) {
      await registry.stop();
      expect(processExists(registry.pid)).toBe(false);
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('listens on loopback only', () => {
    expect(registry.host).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(registry.url).toBe(`http://${registry.host}`);
    expect(images.busybox.reference).toBe(`${registry.host}/burrow-test/busybox:latest`);
  });

  it('serves the busybox schema2 manifest under the computed digest', async () => {
    const res = await fetch(`${registry.url}/v2/burrow-test/busybox/manifests/latest`, {
      headers: { Accept: MEDIA_TYPES.dockerManifest },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toBe(MEDIA_TYPES.dockerManifest);
    expect(res.headers.get('Docker-Content-Digest')).toBe(images.busybox.manifestDigest);
    const body = new Uint8Array(await res.arrayBuffer());
    expect(sha256(body)).toBe(images.busybox.manifestDigest);
    const manifest = JSON.parse(Buffer.from(body).toString('utf8')) as { config: { digest: string }; layers: { digest: string }[] };
    expect(manifest.config.digest).toBe(images.busybox.configDigest);
    expect(manifest.layers.map((l) => l.digest)).toEqual(images.busybox.layers.map((l) => l.digest));
  });

  it('serves blobs whose bytes hash to their digests, and layers unpack to the right diff ids', async () => {
    const layer = images.busybox.layers[0];
    const res = await fetch(`${registry.url}/v2/burrow-test/busybox/blobs/${layer.digest}`);
    expect(res.status).toBe(200);
    const blob = Buffer.from(await res.arrayBuffer());
    expect(sha256(blob)).toBe(layer.digest);
    expect(blob.length).toBe(layer.size);
    const tar = gunzipSync(blob);
    expect(sha256(tar)).toBe(layer.diffId);
    const names = tarNames(tar);
    expect(names).toEqual(expect.arrayContaining(['bin/busybox', 'bin/sh', 'bin/vi', 'etc/passwd', 'home/nobody/secret', 'tmp/']));

    const cfgRes = await fetch(`${registry.url}/v2/burrow-test/busybox/blobs/${images.busybox.configDigest}`);
    const config = JSON.parse(await cfgRes.text()) as { architecture: string; os: string; rootfs: { diff_ids: string[] }; config: { Cmd: string[] } };
    expect(config).toMatchObject({ architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] } });
    expect(config.rootfs.diff_ids).toEqual([layer.diffId]);
  });

  it('serves the uncompressed variant with diff id == blob digest', async () => {
    const img = images.busyboxUncompressed;
    expect(img.layers[0].mediaType).toBe(MEDIA_TYPES.dockerLayer);
    expect(img.layers[0].digest).toBe(img.layers[0].diffId);
    expect(img.diffIds).toEqual(images.busybox.diffIds);
    const res = await fetch(`${registry.url}/v2/burrow-test/busybox/manifests/uncompressed`, { headers: { Accept: MEDIA_TYPES.dockerManifest } });
    expect(res.headers.get('Docker-Content-Digest')).toBe(img.manifestDigest);
  });

  it('serves the OCI layers image with whiteouts in the top layer', async () => {
    const img = images.layers;
    const res = await fetch(`${registry.url}/v2/burrow-test/layers/manifests/latest`, { headers: { Accept: MEDIA_TYPES.ociManifest } });
    expect(res.status).toBe(200);
    expect(res.headers.get('Docker-Content-Digest')).toBe(img.manifestDigest);
    expect(img.layers).toHaveLength(3);
    expect(img.layers.every((l) => l.mediaType === MEDIA_TYPES.ociLayerGzip)).toBe(true);
    expect(img.layers[0].digest).toBe(images.busybox.layers[0].digest);
    const top = await fetch(`${registry.url}/v2/burrow-test/layers/blobs/${img.layers[2].digest}`);
    const names = tarNames(gunzipSync(Buffer.from(await top.arrayBuffer())));
    expect(names).toEqual(expect.arrayContaining(['data/.wh.todelete', 'opq/.wh..wh..opq', 'opq/c', 'bin/.wh.vi']));
  });

  it('serves the multi-platform index listing amd64 and arm64/v8', async () => {
    const res = await fetch(`${registry.url}/v2/burrow-test/multi/manifests/latest`, { headers: { Accept: MEDIA_TYPES.ociIndex } });
    expect(res.status).toBe(200);
    expect(res.headers.get('Docker-Content-Digest')).toBe(images.multi.manifestDigest);
    const index = (await res.json()) as { mediaType: string; manifests: { digest: string; platform: { os: string; architecture: string; variant?: string } }[] };
    expect(index.mediaType).toBe(MEDIA_TYPES.ociIndex);
    expect(index.manifests.map((m) => m.platform)).toEqual([
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64', variant: 'v8' },
    ]);
    expect(index.manifests.map((m) => m.digest)).toEqual(images.multi.manifests.map((m) => m.manifestDigest));

    const arm = images.multi.manifests[1];
    expect(arm.platformFile).toBe('linux/arm64\n');
    const child = await fetch(`${registry.url}/v2/burrow-test/multi/manifests/${arm.manifestDigest}`, { headers: { Accept: MEDIA_TYPES.ociManifest } });
    expect(child.status).toBe(200);
    const cfg = await fetch(`${registry.url}/v2/burrow-test/multi/blobs/${arm.configDigest}`);
    expect(await cfg.json()).toMatchObject({ architecture: 'arm64', variant: 'v8', os: 'linux' });
  });

  it('builds deterministically and re-pushes idempotently', async () => {
    const rebuilt = await buildStandardImages();
    expect(rebuilt.busybox.manifestDescriptor.digest).toBe(images.busybox.manifestDigest);
    expect(rebuilt.layers.manifestDescriptor.digest).toBe(images.layers.manifestDigest);
    expect(rebuilt.multi.manifestDescriptor.digest).toBe(images.multi.manifestDigest);
    expect(await buildTestImages(registry)).toEqual(images);
  });
});

describe('test registry with htpasswd auth', () => {
  it('rejects anonymous requests and accepts the configured user', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'burrow-registry-auth-'));
    const registry = await startRegistry({ dir, auth: { username: 'burrow', password: 's3cret pa$$' } });
    try {
      expect((await fetch(`${registry.url}/v2/`)).status).toBe(401);
      const wrong = await fetch(`${registry.url}/v2/`, { headers: { Authorization: 'Basic ' + Buffer.from('burrow:nope').toString('base64') } });
      expect(wrong.status).toBe(401);
      const ok = await fetch(`${registry.url}/v2/`, { headers: { Authorization: basicAuthHeader(registry) ?? '' } });
      expect(ok.status).toBe(200);
    } finally {
      await registry.stop();
      await rm(dir, { recursive: true, force: true });
    }
    expect(processExists(registry.pid)).toBe(false);
  }, 30_000);
});
