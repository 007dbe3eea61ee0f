import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import { dockerCli, dockerPy, rawRequest } from './harness/clients.js';
import { AMD64, assembleImage, buildLayer, pushImage, sha256Digest, type AssembledImage } from './harness/images.js';
import { writeTar } from './harness/tar.js';
import { execFileSync } from 'node:child_process';
import { startRegistry, type RunningRegistry } from './harness/registry.js';
import { startDaemon } from './harness/daemon.js';
import { request } from 'node:http';
import { isolatedTestbed } from './harness/isolated.js';

const bed = await isolatedTestbed();
const docker = dockerCli(bed.dockerHost);
const imgs = bed.images;
const registryDir = join(dirname(bed.scratch), 'registry');
const registry = { ...bed.registry, port: Number(bed.registry.host.split(':')[1]), pid: -1, logFile: '', stop: async () => undefined } as RunningRegistry;

interface Inspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Architecture: string;
  Os: string;
  Size: number;
  RootFS: { Type: string; Layers: string[] };
  GraphDriver: { Name: string; Data: Record<string, string> };
  Metadata: { LastTagTime: string };
}

async function inspect(name: string): Promise<Inspect> {
  const r = await docker(['image', 'inspect', name]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return (JSON.parse(r.stdout) as Inspect[])[0];
}

function jsonLines(body: string): Record<string, unknown>[] {
  return body.split(/\r?\n/).filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function rawPull(ref: string, headers: Record<string, string> = {}): Promise<{ status: number; messages: Record<string, unknown>[] }> {
  const r = await rawRequest(bed.socket, 'POST', `/v1.50/images/create?fromImage=${encodeURIComponent(ref)}`, undefined, headers);
  return { status: r.status, messages: r.status === 200 ? jsonLines(r.body) : [JSON.parse(r.body) as Record<string, unknown>] };
}

const rmi = (...names: string[]) => docker(['rmi', '-f', ...names]);

describe('docker pull / images / inspect / tag / rmi', () => {
  const ref = imgs.busybox.reference;

  it('docker pull streams dockerd progress and ends with the Status line', async () => {
    await rmi(ref);
    const r = await docker(['pull', ref]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`latest: Pulling from ${imgs.busybox.name}`);
    expect(r.stdout).toContain(`Digest: ${imgs.busybox.manifestDigest}`);
    expect(r.stdout).toContain(`Status: Downloaded newer image for ${ref}`);
    expect(r.stdout.trim().split('\n').pop()).toBe(ref);

    const again = await rawPull(ref);
    expect(again.status).toBe(200);
    const statuses = again.messages.map((m) => m.status);
    expect(statuses).toContain('Already exists');
    expect(statuses[statuses.length - 1]).toBe(`Status: Image is up to date for ${ref}`);
  });

  it('raw pull sends per-layer progress in dockerd wording', async () => {
    await rmi(imgs.busyboxUncompressed.reference);
    await rmi(ref);
    const r = await rawPull(ref);
    const statuses = r.messages.map((m) => m.status);
    expect(r.messages[0]).toEqual({ status: `Pulling from ${imgs.busybox.name}`, id: 'latest' });
    for (const s of ['Pulling fs layer', 'Downloading', 'Verifying Checksum', 'Download complete', 'Extracting', 'Pull complete']) expect(statuses).toContain(s);
    const dl = r.messages.find((m) => m.status === 'Downloading') as { progress: string; progressDetail: { current: number; total: number }; id: string };
    expect(dl.id).toBe(imgs.busybox.layers[0].digest.slice(7, 19));
    expect(dl.progressDetail.total).toBe(imgs.busybox.layers[0].size);
    expect(dl.progress).toMatch(/^\[=*> *\] +[\d.]+[kMG]?B\/[\d.]+[kMG]?B$/);
  });

  it('docker images --format and a reference filter', async () => {
    const r = await docker(['images', '--format', '{{.Repository}}|{{.Tag}}|{{.ID}}', '--filter', `reference=${imgs.busybox.repository}`]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([`${imgs.busybox.repository}|latest|${imgs.busybox.configDigest.slice(7, 19)}`]);
    const none = await docker(['images', '-q', '--filter', 'reference=nothing-like-this']);
    expect(none.stdout.trim()).toBe('');
    const info = await docker(['info', '--format', '{{.Images}}']);
    expect(Number(info.stdout.trim())).toBeGreaterThanOrEqual(1);
  });

  it('docker inspect: Id is the config digest, RepoDigests, RootFS diff ids', async () => {
    const i = await inspect(ref);
    expect(i.Id).toBe(imgs.busybox.configDigest);
    expect(i.RepoTags).toEqual([ref]);
    expect(i.RepoDigests).toEqual([imgs.busybox.digestReference]);
    expect(i.RootFS).toEqual({ Type: 'layers', Layers: imgs.busybox.diffIds });
    expect(i.Architecture).toBe('amd64');
    expect(i.Os).toBe('linux');
    expect(i.Size).toBeGreaterThan(500_000);
    expect(i.GraphDriver.Name).toMatch(/^(overlay2|fuse-overlayfs)$/);
    expect(await lstat(i.GraphDriver.Data.UpperDir).then((s) => s.isDirectory())).toBe(true);
    // Short ID, digest reference and full ID all resolve.
    expect((await inspect(imgs.busybox.configDigest.slice(7, 19))).Id).toBe(i.Id);
    expect((await inspect(imgs.busybox.digestReference)).Id).toBe(i.Id);
    const missing = await docker(['image', 'inspect', 'no-such-image:nope']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('No such image: no-such-image:nope');
    const raw = await rawRequest(bed.socket, 'GET', '/v1.50/images/no-such-image/json');
    expect(raw.status).toBe(404);
    expect(JSON.parse(raw.body)).toEqual({ message: 'No such image: no-such-image' });
    const hist = await docker(['history', '--no-trunc', '--format', '{{.ID}} {{.CreatedBy}}', ref]);
    expect(hist.code).toBe(0);
    expect(hist.stdout.trim().split('\n')[0]).toBe(`${imgs.busybox.configDigest} ${imgs.busybox.config.history[0].created_by}`);
  });

  it('docker tag and docker rmi (untag, then delete)', async () => {
    const t = await docker(['tag', ref, 'burrow-tagged/bb:v1']);
    expect(t.stderr).toBe('');
    expect(t.code).toBe(0);
    expect((await inspect('burrow-tagged/bb:v1')).RepoTags.sort()).toEqual(['burrow-tagged/bb:v1', ref].sort());
    const untag = await docker(['rmi', 'burrow-tagged/bb:v1']);
    expect(untag.code).toBe(0);
    expect(untag.stdout.trim()).toBe('Untagged: burrow-tagged/bb:v1');
    const conflictTag = await docker(['tag', ref, 'burrow-tagged/other:v2']);
    expect(conflictTag.code).toBe(0);
    const byId = await docker(['rmi', imgs.busybox.configDigest.slice(7, 19)]);
    expect(byId.code).not.toBe(0);
    expect(byId.stderr).toContain('image is referenced in multiple repositories');
    await docker(['rmi', 'burrow-tagged/other:v2']);
    const del = await docker(['rmi', ref]);
    expect(del.stderr).toBe('');
    expect(del.code).toBe(0);
    expect(del.stdout).toContain(`Untagged: ${ref}`);
    expect(del.stdout).toContain(`Untagged: ${imgs.busybox.digestReference}`);
    expect(del.stdout).toContain(`Deleted: ${imgs.busybox.configDigest}`);
    const gone = await docker(['images', '-q', '--filter', `reference=${imgs.busybox.repository}`]);
    expect(gone.stdout.trim()).toBe('');
  });
});

describe('platforms and layer formats', () => {
  it('docker pull --platform linux/arm64 of an index picks arm64; default picks amd64', async () => {
    const ref = imgs.multi.reference;
    const arm = imgs.multi.manifests.find((m) => m.platform.architecture === 'arm64');
    const amd = imgs.multi.manifests.find((m) => m.platform.architecture === 'amd64');
    const r = await docker(['pull', '--platform', 'linux/arm64', ref]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Digest: ${imgs.multi.manifestDigest}`);
    const a = await inspect(ref);
    expect(a.Id).toBe(arm?.configDigest);
    expect(a.Architecture).toBe('arm64');
    const d = await docker(['pull', ref]);
    expect(d.code).toBe(0);
    const b = await inspect(ref);
    expect(b.Id).toBe(amd?.configDigest);
    expect(b.Architecture).toBe('amd64');
    const none = await docker(['pull', '--platform', 'linux/s390x', ref]);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('no matching manifest for linux/s390x in the manifest list entries');
    await rmi(ref, arm?.configDigest ?? '');
  });

  it('an uncompressed layer pulls to the same image as the gzip one', async () => {
    const r = await docker(['pull', imgs.busyboxUncompressed.reference]);
    expect(r.code).toBe(0);
    expect((await inspect(imgs.busyboxUncompressed.reference)).Id).toBe(imgs.busyboxUncompressed.configDigest);
  });

  it('a zstd layer pulls (decompressed with the zstd tool, diff id checked)', async () => {
    const unique = randomBytes(8).toString('hex');
    const tar = writeTar([{ type: 'file', name: 'zstd-file', content: `${unique}\n` }]);
    const blob = execFileSync('zstd', ['-q', '-c'], { input: tar });
    const layer = { tar, blob, compression: 'gzip' as const, digest: sha256Digest(blob), size: blob.length, diffId: sha256Digest(tar), comment: 'zstd' };
    const base = assembleImage({ format: 'oci', platform: AMD64, layers: [layer] });
    const manifest = JSON.parse(base.manifestBytes.toString()) as { layers: { mediaType: string }[] };
    manifest.layers[0].mediaType = 'application/vnd.oci.image.layer.v1.tar+zstd';
    const manifestBytes = Buffer.from(JSON.stringify(manifest));
    const img: AssembledImage = { ...base, manifestBytes, manifestDescriptor: { ...base.manifestDescriptor, digest: sha256Digest(manifestBytes), size: manifestBytes.length } };
    const ref = `${bed.registry.host}/burrow-test/zstd-${unique}:latest`;
    await pushImage(registry, `burrow-test/zstd-${unique}`, 'latest', img);
    const r = await docker(['pull', ref]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const i = await inspect(ref);
    expect(await readFile(join(i.GraphDriver.Data.UpperDir, 'zstd-file'), 'utf8')).toBe(`${unique}\n`);
    await rmi(ref);
  });

  it('whiteouts are stored in kernel overlay format', async () => {
    const ref = imgs.layers.reference;
    const r = await docker(['pull', ref]);
    expect(r.code).toBe(0);
    const i = await inspect(ref);
    expect(i.RootFS.Layers).toEqual(imgs.layers.diffIds);
    const top = i.GraphDriver.Data.UpperDir;
    const wh = await lstat(join(top, 'data', 'todelete'));
    expect(wh.isCharacterDevice()).toBe(true);
    expect(wh.rdev).toBe(0);
    expect((await lstat(join(top, 'bin', 'vi'))).isCharacterDevice()).toBe(true);
    const names = await readdir(join(top, 'opq'));
    expect(names).toEqual(['c']);
    expect(existsSync(join(top, 'data', '.wh.todelete'))).toBe(false);
    const { stdout } = await promisify(execFile)('getfattr', ['--only-values', '-n', 'user.overlay.opaque', join(top, 'opq')]);
    expect(stdout).toBe('y');
    // The lower layer keeps its hard link and its files.
    const lower = i.GraphDriver.Data.LowerDir.split(':');
    expect(lower).toHaveLength(2);
    const keep = await lstat(join(lower[0], 'data', 'keep'));
    expect(keep.nlink).toBe(2);
    // The busybox layer is shared with the busybox images: stored once.
    expect(lower[1]).toBe((await inspect(imgs.busyboxUncompressed.reference)).GraphDriver.Data.UpperDir);
  });
});

describe('shared work', () => {
  it('two concurrent pulls of one image both finish and store it once', async () => {
    const ref = imgs.layers.reference;
    await rmi(ref, imgs.busybox.reference, imgs.busyboxUncompressed.reference);
    const [a, b] = await Promise.all([rawPull(ref), rawPull(ref)]);
    for (const r of [a, b]) {
      expect(r.status).toBe(200);
      expect(r.messages.filter((m) => m.error !== undefined)).toEqual([]);
      expect(String(r.messages[r.messages.length - 1].status)).toMatch(/^Status: (Downloaded newer image|Image is up to date) for /);
    }
    expect((await inspect(ref)).Id).toBe(imgs.layers.configDigest);
  });
});

describe('crash safety', () => {
  it('kill -9 during a pull leaves a consistent store that pulls again', async () => {
    const dir = join(bed.scratch, `crash-${randomBytes(4).toString('hex')}`);
    const first = await startDaemon({ dir });
    try {
      // Kill the daemon as soon as the pull stream starts: layers are mid-download or mid-unpack.
      await new Promise<void>((resolve) => {
        const req = request({ socketPath: first.socket, method: 'POST', path: `/v1.50/images/create?fromImage=${encodeURIComponent(imgs.layers.reference)}` }, (res) => {
          res.once('data', () => void first.kill().then(resolve));
          res.on('error', () => undefined);
        });
        req.on('error', () => resolve());
        req.end();
      });
    } finally {
      await first.kill();
    }
    const second = await startDaemon({ dir });
    try {
      const cli = dockerCli(second.dockerHost);
      const listed = await cli(['images', '-q']);
      expect(listed.code).toBe(0);
      const ids = listed.stdout.trim() === '' ? [] : listed.stdout.trim().split('\n');
      expect(ids.every((id) => imgs.layers.configDigest.startsWith(`sha256:${id}`))).toBe(true);
      expect(await readdir(join(second.dataRoot, 'images', 'tmp'))).toEqual([]);
      const r = await cli(['pull', imgs.layers.reference]);
      expect(r.code).toBe(0);
      const i = JSON.parse((await cli(['image', 'inspect', imgs.layers.reference])).stdout) as Inspect[];
      expect(i[0].Id).toBe(imgs.layers.configDigest);
      expect((await lstat(join(i[0].GraphDriver.Data.UpperDir, 'data', 'todelete'))).isCharacterDevice()).toBe(true);
    } finally {
      expect(await second.stop()).toBe(0);
    }
  });
});

describe('hostile and broken registries', () => {
  it('a tampered blob fails the pull with a digest error and leaves no trace', async () => {
    const unique = randomBytes(16).toString('hex');
    const layer = buildLayer([{ type: 'file', name: 'tampered', content: `${unique}\n${'x'.repeat(4096)}` }], { comment: 'tampered' });
    const img = assembleImage({ format: 'docker', platform: AMD64, layers: [layer] });
    const name = `burrow-test/tampered-${unique.slice(0, 8)}`;
    await pushImage(registry, name, 'latest', img);
    const hex = layer.digest.slice(7);
    const data = join(registryDir, 'storage', 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
    const bytes = await readFile(data);
    bytes[bytes.length - 20] ^= 0xff;
    await writeFile(data, bytes);
    const ref = `${bed.registry.host}/${name}:latest`;
    const r = await docker(['pull', ref]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`filesystem layer verification failed for digest ${layer.digest}`);
    const list = await docker(['images', '-q', '--filter', `reference=${bed.registry.host}/${name}`]);
    expect(list.stdout.trim()).toBe('');
    const byId = await docker(['image', 'inspect', img.configDescriptor.digest]);
    expect(byId.code).not.toBe(0);
  });

  // The layer is unpacked while it downloads: a broken one must still fail whole, once, with Go's words.
  it('a cut-off gzip layer the registry serves as it was pushed fails with unexpected EOF, not retried, no trace', async () => {
    const unique = randomBytes(8).toString('hex');
    const whole = buildLayer([{ type: 'file', name: `cut-${unique}`, content: randomBytes(64 * 1024).toString('hex') }], { comment: 'cut' });
    const blob = whole.blob.subarray(0, Math.floor(whole.blob.length / 2));
    const layer = { ...whole, blob, digest: sha256Digest(blob), size: blob.length };
    const img = assembleImage({ format: 'oci', platform: AMD64, layers: [layer] });
    const name = `burrow-test/cut-${unique}`;
    await pushImage(registry, name, 'latest', img);
    const pull = await docker(['pull', `${bed.registry.host}/${name}:latest`]);
    expect(pull.code).not.toBe(0);
    expect(pull.stderr).toContain('unexpected EOF');
    expect(pull.stdout).not.toContain('Retrying');
    expect((await docker(['image', 'inspect', img.configDescriptor.digest])).code).not.toBe(0);
  });

  it('a layer whose content is not the diff ID the config names fails the pull and leaves no trace', async () => {
    const unique = randomBytes(8).toString('hex');
    const real = buildLayer([{ type: 'file', name: `real-${unique}`, content: 'real' }], { comment: 'real' });
    const claimed = buildLayer([{ type: 'file', name: `claimed-${unique}`, content: 'claimed' }], { comment: 'claimed' });
    const img = assembleImage({ format: 'docker', platform: AMD64, layers: [{ ...real, diffId: claimed.diffId }] });
    const name = `burrow-test/diffid-${unique}`;
    await pushImage(registry, name, 'latest', img);
    const pull = await docker(['pull', `${bed.registry.host}/${name}:latest`]);
    expect(pull.code).not.toBe(0);
    expect(pull.stderr).toContain(`layer ${claimed.diffId} does not match the content of ${real.digest}`);
    expect((await docker(['image', 'inspect', img.configDescriptor.digest])).code).not.toBe(0);
  });

  it('a hostile layer never writes outside its directory', async () => {
    const unique = randomBytes(8).toString('hex');
    const outside = join(bed.scratch, `hostile-${unique}`);
    await mkdir(outside, { recursive: true });
    const layer = buildLayer(
      [
        { type: 'file', name: `../escape-${unique}`, content: 'x' },
        { type: 'file', name: `a/../../escape2-${unique}`, content: 'x' },
        { type: 'file', name: `${outside}/abs`, content: 'x' },
        { type: 'symlink', name: 'link', target: outside },
        { type: 'file', name: 'link/pwned', content: 'x' },
        { type: 'symlink', name: 'rel', target: '../../../../../../../../..' + outside },
        { type: 'file', name: 'rel/pwned2', content: 'x' },
        { type: 'file', name: 'ok', content: 'fine' },
      ],
      { comment: 'hostile' },
    );
    const img = assembleImage({ format: 'oci', platform: AMD64, layers: [layer] });
    const name = `burrow-test/hostile-${unique}`;
    await pushImage(registry, name, 'latest', img);
    const pull = await docker(['pull', `${bed.registry.host}/${name}:latest`]);
    // GNU tar refuses the `..` members, so the pull fails as a whole; what matters is where nothing went.
    expect(pull.code).not.toBe(0);
    expect(pull.stderr).toContain(`"../escape-${unique}" is outside of the destination`);
    expect(await readdir(outside)).toEqual([]);
    const dataRoot = join(dirname(bed.scratch), 'daemon', 'data');
    // Subuid-owned dirs are unreadable to the test user; find's exit status says nothing then.
    const found = await promisify(execFile)('find', [dataRoot, '-name', `escape*-${unique}`]).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }));
    expect(found.stdout.trim()).toBe('');
    expect(existsSync(join(dirname(bed.scratch), `escape-${unique}`))).toBe(false);
    await rmi(`${bed.registry.host}/${name}:latest`);
  });
});

describe('library clients and auth headers', () => {
  it('dockerode pull + followProgress finishes', async () => {
    const client = new Docker({ socketPath: bed.socket });
    await rmi(imgs.busybox.reference);
    const stream = await client.pull(imgs.busybox.reference);
    const events = await new Promise<{ status?: string }[]>((resolve, reject) => {
      client.modem.followProgress(stream, (err: Error | null, out: { status?: string }[]) => (err ? reject(err) : resolve(out)));
    });
    expect(events[events.length - 1].status).toBe(`Status: Downloaded newer image for ${imgs.busybox.reference}`);
    const list = await client.listImages({ filters: JSON.stringify({ reference: [imgs.busybox.repository] }) });
    expect(list.map((i) => i.Id)).toEqual([imgs.busybox.configDigest]);
    expect(list[0]).toMatchObject({ Containers: -1, SharedSize: -1 });
  });

  it('docker-py images.pull() and images.list()', async () => {
    const script = [
      'import docker, json, os',
      'c = docker.DockerClient(base_url=os.environ["DOCKER_HOST"])',
      `img = c.images.pull("${imgs.busybox.repository}", tag="latest")`,
      `print(json.dumps({"id": img.id, "tags": img.tags, "listed": [i.id for i in c.images.list(name="${imgs.busybox.repository}")]}))`,
    ].join('\n');
    const r = await dockerPy(bed.dockerHost, script);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { id: string; tags: string[]; listed: string[] };
    expect(out.id).toBe(imgs.busybox.configDigest);
    expect(out.tags).toContain(imgs.busybox.reference);
    expect(out.listed).toEqual([imgs.busybox.configDigest]);
  });

  it('X-Registry-Auth {} , garbage and empty still pull', async () => {
    for (const value of ['e30=', 'garbage!!', '', 'e30']) {
      const r = await rawPull(imgs.busybox.reference, { 'X-Registry-Auth': value });
      expect(r.status).toBe(200);
      expect(r.messages[r.messages.length - 1].status).toBe(`Status: Image is up to date for ${imgs.busybox.reference}`);
    }
  });

  it('basic auth from X-Registry-Auth reaches a registry that demands it', async () => {
    const authRegistry = await startRegistry({ dir: join(bed.scratch, `auth-registry-${randomBytes(4).toString('hex')}`), auth: { username: 'burrow', password: 'p@ss:w/rd+' } });
    try {
      const layer = buildLayer([{ type: 'file', name: 'authed', content: 'yes\n' }], { comment: 'authed' });
      const img = assembleImage({ format: 'docker', platform: AMD64, layers: [layer] });
      await pushImage(authRegistry, 'burrow-test/authed', 'latest', img);
      const ref = `${authRegistry.host}/burrow-test/authed:latest`;
      const anonymous = await rawPull(ref);
      expect(anonymous.status).toBe(404);
      expect(String(anonymous.messages[0].message)).toContain('pull access denied');
      const header = Buffer.from(JSON.stringify({ username: 'burrow', password: 'p@ss:w/rd+', serveraddress: authRegistry.host })).toString('base64url');
      const r = await rawPull(ref, { 'X-Registry-Auth': header });
      expect(r.status).toBe(200);
      expect(r.messages[r.messages.length - 1].status).toBe(`Status: Downloaded newer image for ${ref}`);
      await rmi(ref);
    } finally {
      await authRegistry.stop();
    }
  });

  it('a missing tag is an HTTP 404 before any stream, a bad name a 400', async () => {
    const missing = await rawPull(`${imgs.busybox.repository}:nope`);
    expect(missing.status).toBe(404);
    expect(String(missing.messages[0].message)).toContain('not found');
    const bad = await rawPull('Busybox');
    expect(bad.status).toBe(400);
    expect(bad.messages[0].message).toBe('invalid reference format: repository name (library/Busybox) must be lowercase');
  });
});
