/**
 * Leases on layers and images (rootless/images/leases.ts): a docker rmi racing a build or a pull
 * that relies on the removed image's layers must not break it. The races are made deterministic
 * by holding an HTTP answer the operation waits for (an ADD URL, a registry blob behind a proxy)
 * while the rmi runs; no timing is assumed.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageStore } from '../rootless/images/store.js';
import { dockerCli } from './harness/clients.js';
import { isolatedTestbed } from './harness/isolated.js';
import { buildContexts } from './harness/build-context.js';

const bed = await isolatedTestbed();
const docker = dockerCli(bed.dockerHost);
const busybox = bed.images.busybox.reference;
const legacy = { DOCKER_BUILDKIT: '0' };
const { context, cleanup: removeContexts } = buildContexts('burrow-leases-ctx');

/** A request the test answers when it chooses; `arrived` resolves once the daemon asked. */
interface Held {
  arrived: Promise<void>;
  release: () => void;
}

function gate(): { held: Held; arrive: () => void; released: Promise<void> } {
  let arrive = (): void => undefined;
  let release = (): void => undefined;
  const arrived = new Promise<void>((r) => (arrive = r));
  const released = new Promise<void>((r) => (release = r));
  return { held: { arrived, release }, arrive, released };
}

// ADD http://…/slow/<name>: answered only when the test releases it.
const slow = new Map<string, ReturnType<typeof gate>>();
const files = createServer((req: IncomingMessage, res: ServerResponse) => {
  const g = slow.get(req.url ?? '');
  if (!g) {
    res.statusCode = 404;
    return res.end('no such file\n');
  }
  g.arrive();
  void g.released.then(() => res.end(`served ${req.url}\n`));
});

// A registry proxy that holds GETs of one blob until released, so a pull is caught mid-way.
let holdBlob: { digest: string; g: ReturnType<typeof gate> } | undefined;
const registryUrl = new URL(bed.registry.url);
const proxy = createServer((req, res) => {
  const forward = (): void => {
    const up = request(
      { host: registryUrl.hostname, port: registryUrl.port, method: req.method, path: req.url, headers: { ...req.headers, host: registryUrl.host } },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  };
  const hold = holdBlob;
  if (hold && req.method === 'GET' && req.url?.endsWith(`/blobs/${hold.digest}`)) {
    hold.g.arrive();
    void hold.g.released.then(forward);
    return;
  }
  forward();
});

let filesBase = '';
let proxyHost = '';

async function ok(args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const r = await docker(args, env ? { env } : {});
  expect(r.code, `docker ${args.join(' ')}: ${r.stderr}${r.stdout}`).toBe(0);
  return r.stdout;
}

beforeAll(async () => {
  await new Promise<void>((r) => files.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  filesBase = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
  proxyHost = `127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});

/** Each race starts from busybox alone, whatever an earlier test (or a failure in it) left. */
async function fresh(): Promise<void> {
  await ok(['image', 'prune', '-af']);
  await ok(['pull', busybox]);
}

afterAll(async () => {
  for (const g of slow.values()) g.held.release();
  holdBlob?.g.held.release();
  files.closeAllConnections();
  proxy.closeAllConnections();
  await new Promise((r) => files.close(r));
  await new Promise((r) => proxy.close(r));
  await removeContexts();
});

describe('image leases', () => {
  it('a classic build survives docker rmi -f of its base image mid-build, and its result runs', async () => {
    await fresh();
    for (let round = 0; round < 2; round++) {
      const path = `/slow/file-${round}`;
      const g = gate();
      slow.set(path, g);
      const dir = await context({ Dockerfile: `FROM ${busybox}\nADD ${filesBase}${path} /got.txt\nRUN cat /got.txt > /copy.txt\n` });
      const build = docker(['build', '--no-cache', '-t', `leased-build:${round}`, dir], { env: legacy });
      // The build has resolved its base and is inside the ADD step: nothing but its lease holds the base now.
      await g.held.arrived;
      const baseId = (await ok(['image', 'inspect', '-f', '{{.Id}}', busybox])).trim();
      if (round === 0) {
        // By ID the leased base is refused, even forced, as an image a running container uses.
        const byId = await docker(['rmi', '-f', baseId]);
        expect(byId.code).not.toBe(0);
        expect(byId.stderr).toContain(`unable to delete ${baseId.slice(7, 19)} (cannot be forced) - image is being used by an operation in progress`);
      } else {
        // docker system prune's image part: every unused image goes, but not one a build holds.
        await ok(['image', 'prune', '-af']);
        expect((await ok(['image', 'inspect', '-f', '{{.Id}}', baseId])).trim()).toBe(baseId);
      }
      const rmi = await docker(['rmi', '-f', busybox]);
      expect(rmi.code, rmi.stderr).toBe(0);
      expect(rmi.stdout).toContain(`Untagged: ${busybox}`);
      g.held.release();
      const built = await build;
      expect(built.code, `${built.stderr}${built.stdout}`).toBe(0);
      expect(await ok(['run', '--rm', `leased-build:${round}`, 'cat', '/copy.txt'])).toBe(`served ${path}\n`);
      // The base, untagged under the build, comes back by a pull for the next round.
      await ok(['pull', busybox]);
      await ok(['rmi', `leased-build:${round}`]);
    }
  });

  it('a pull of an image sharing layers with one removed meanwhile completes and runs (a few rounds)', async () => {
    const layers = bed.images.layers;
    const pulled = `${proxyHost}/${layers.name}:${layers.tag ?? 'latest'}`;
    await fresh();
    for (let round = 0; round < 3; round++) {
      // The base layer is shared with busybox (stored: "Already exists"); the second layer is held.
      holdBlob = { digest: layers.layers[1].digest, g: gate() };
      const pull = docker(['pull', pulled]);
      await holdBlob.g.held.arrived;
      const rmi = await docker(['rmi', busybox]);
      expect(rmi.code, rmi.stderr).toBe(0);
      expect(rmi.stdout).toContain('Deleted:');
      holdBlob.g.held.release();
      const done = await pull;
      expect(done.code, `${done.stderr}${done.stdout}`).toBe(0);
      expect(done.stdout).toContain('Already exists');
      holdBlob = undefined;
      expect(await ok(['run', '--rm', pulled, 'cat', '/etc/passwd'])).toContain('root:');
      // Removing the pulled image now frees the shared layer for real: nothing holds it.
      await ok(['rmi', pulled]);
      await ok(['pull', busybox]);
      expect(await ok(['run', '--rm', busybox, 'true'])).toBe('');
    }
  });
});

describe('image store leases and sweeps (in-process store)', () => {
  const config = (diffIds: string[]): Buffer => Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: diffIds } }));
  const hex = (c: string): string => c.repeat(64);

  async function stageLayer(store: ImageStore, chain: string): Promise<void> {
    const staged = await store.tempDir('test');
    await mkdir(join(staged, 'diff'));
    await writeFile(join(staged, 'diff', 'f'), chain);
    await store.commitLayer(staged, { chainId: chain, diffId: chain, size: 1 });
  }

  it('rmi keeps a leased layer until the lease ends, then frees it; open sweeps orphans and tmp/', async () => {
    const root = await mkdtemp(join(tmpdir(), 'burrow-leases-store-'));
    try {
      const store = await ImageStore.open(root);
      const layer = `sha256:${hex('a')}`;
      const id = `sha256:${hex('1')}`;
      await stageLayer(store, layer);
      await store.putConfig(id, config([layer]));
      await store.addImage(id, [layer], []);
      const lease = store.lease();
      lease.layers([layer]);
      expect(await store.deleteImage(id)).toEqual([]);
      expect(store.has(id)).toBe(false);
      expect(store.hasLayer(layer)).toBe(true);
      expect((await readdir(join(root, 'layers'))).includes(hex('a'))).toBe(true);
      await lease.release();
      expect(store.hasLayer(layer)).toBe(false);
      expect((await readdir(join(root, 'layers'))).includes(hex('a'))).toBe(false);
      expect(store.leases.count()).toBe(0);

      // A leased image is not deleted at all (the operation holding it builds on it).
      const held = store.lease();
      await stageLayer(store, layer);
      await store.putConfig(id, config([layer]));
      await store.addImage(id, [layer], []);
      store.leaseImage(held, id);
      expect(await store.deleteImage(id)).toEqual([]);
      expect(store.has(id)).toBe(true);
      await held.release();
      expect(store.hasLayer(layer)).toBe(true);

      // An interrupted pull's committed layer (no image names it) and its tmp/ work are garbage at open.
      const orphan = `sha256:${hex('b')}`;
      await stageLayer(store, orphan);
      await mkdir(join(root, 'tmp', 'pull-interrupted', 'layer'), { recursive: true });
      const reopened = await ImageStore.open(root);
      expect(reopened.hasLayer(orphan)).toBe(false);
      expect(reopened.hasLayer(layer)).toBe(true);
      expect(await readdir(join(root, 'layers'))).toEqual([hex('a')]);
      expect(await readdir(join(root, 'tmp'))).toEqual([]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
