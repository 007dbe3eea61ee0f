/**
 * Disk usage as the docker CLI reads it: `docker system df` (images, containers, volumes, build
 * cache), `docker ps -s` and `docker inspect -s`, and `docker builder prune` freeing what df said
 * was reclaimable.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerCli, rawRequest } from './harness/clients.js';
import { containerKit } from './harness/container-kit.js';
import { isolatedTestbed } from './harness/isolated.js';

const bed = await isolatedTestbed();
const docker = dockerCli(bed.dockerHost);
const kit = containerKit(docker);
const busybox = bed.images.busybox.reference;
const MIB = 1024 * 1024;

interface DfJson {
  LayersSize: number;
  Images: { Id: string; Size: number; SharedSize: number; Containers: number; RepoTags: string[] }[] | null;
  Containers: { Id: string; SizeRw: number; SizeRootFs: number }[] | null;
  Volumes: unknown[] | null;
  BuildCache: { ID: string; Size: number; InUse: boolean; Shared: boolean; Type: string; Description: string; Parents: string[] | null }[] | null;
}

async function df(query = ''): Promise<DfJson> {
  const r = await rawRequest(bed.socket, 'GET', `/v1.50/system/df${query}`);
  expect(r.status, r.body).toBe(200);
  return JSON.parse(r.body) as DfJson;
}

let writer = '';
let ctx = '';

beforeAll(async () => {
  await kit.ok(['pull', busybox]);
  writer = kit.uniqueName('writer');
  await kit.ok(['run', '--name', writer, busybox, 'sh', '-c', `head -c ${2 * MIB} /dev/zero > /blob`]);
  ctx = await mkdtemp(join(tmpdir(), 'burrow-df-ctx-'));
  await writeFile(join(ctx, 'Dockerfile'), `FROM ${busybox}\nRUN head -c ${MIB} /dev/zero > /one\nRUN head -c ${MIB} /dev/zero > /two\nENV DONE=1\n`);
});

afterAll(async () => {
  await kit.removeAll();
  await rm(ctx, { recursive: true, force: true });
});

describe('disk usage', () => {
  it('docker ps -s and docker inspect -s give the writable layer and the virtual size', async () => {
    const size = await kit.ok(['inspect', '-s', '--format', '{{.SizeRw}} {{.SizeRootFs}}', writer]);
    const [rw, rootfs] = size.split(' ').map(Number);
    expect(rw).toBeGreaterThanOrEqual(2 * MIB);
    expect(rw).toBeLessThan(2 * MIB + 64 * 1024);
    expect(rootfs).toBeGreaterThan(rw);
    const ps = await kit.ok(['ps', '-a', '-s', '--filter', `name=${writer}`, '--format', '{{.Size}}']);
    expect(ps.trim()).toMatch(/^2\.\d+MB \(virtual \d+(\.\d+)?[kMG]?B\)$/);
    const plain = await rawRequest(bed.socket, 'GET', `/v1.50/containers/${writer}/json`);
    expect(JSON.parse(plain.body)).not.toHaveProperty('SizeRw');
  });

  it('docker system df counts images, containers and their sizes; type= limits the sections', async () => {
    const all = await df();
    const image = all.Images?.find((i) => i.RepoTags.includes(busybox));
    expect(image?.Containers).toBe(1);
    expect(image?.Size).toBeGreaterThan(0);
    expect(all.LayersSize).toBeGreaterThanOrEqual(image?.Size ?? Infinity);
    const id = await kit.ok(['inspect', '--format', '{{.Id}}', writer]);
    expect(all.Containers?.find((c) => c.Id === id)?.SizeRw).toBeGreaterThanOrEqual(2 * MIB);
    const onlyImages = await df('?type=image');
    expect(onlyImages.Containers).toBeNull();
    expect(onlyImages.BuildCache).toBeNull();
    const table = await kit.ok(['system', 'df', '--format', '{{.Type}}={{.TotalCount}}']);
    expect(table).toContain('Images=1');
    expect(table).toContain('Containers=1');
  });

  it('a classic build shows up as build cache; builder prune frees what df called reclaimable', async () => {
    const tag = kit.uniqueName('dfbuild');
    const built = await docker(['build', '-t', tag, ctx], { env: { DOCKER_BUILDKIT: '0' } });
    expect(built.code, built.stderr).toBe(0);
    // While the tagged image holds the steps' layers, pruning the cache would free nothing.
    const whileTagged = (await df('?type=build-cache')).BuildCache ?? [];
    expect(whileTagged.filter((r) => r.Size > 0).length).toBeGreaterThanOrEqual(2);
    expect(whileTagged.filter((r) => r.Size > 0).every((r) => r.Shared)).toBe(true);
    // With the tag gone (--no-prune keeps the steps), the steps hold their layers alone.
    await kit.ok(['rmi', '--no-prune', tag]);
    const cache = (await df('?type=build-cache')).BuildCache ?? [];
    const layered = cache.filter((r) => r.Size >= MIB);
    expect(layered.length).toBeGreaterThanOrEqual(2);
    expect(cache.every((r) => r.Type === 'regular')).toBe(true);
    expect(cache.some((r) => r.Description.includes('head -c'))).toBe(true);
    const reclaimable = cache.filter((r) => !r.InUse && !r.Shared).reduce((n, r) => n + r.Size, 0);
    expect(reclaimable).toBeGreaterThanOrEqual(2 * MIB);
    const verbose = await kit.ok(['system', 'df', '-v']);
    expect(verbose).toContain('Build cache usage');

    const prune = await rawRequest(bed.socket, 'POST', '/v1.50/build/prune');
    const report = JSON.parse(prune.body) as { SpaceReclaimed: number; CachesDeleted: string[] };
    expect(report.SpaceReclaimed).toBe(reclaimable);
    expect((await df('?type=build-cache')).BuildCache).toEqual([]);
  });
});
