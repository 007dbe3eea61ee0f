import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { execFileSync } from 'node:child_process';
import Docker from 'dockerode';
import { describe, expect, inject, it } from 'vitest';
import { dockerCli, dockerPy, rawRequest, runProcess } from './harness/clients.js';
import { startDaemon } from './harness/daemon.js';
import { AMD64, assembleImage, buildLayer, pushImage, sha256Digest } from './harness/images.js';
import { startRegistry, type RunningRegistry } from './harness/registry.js';
import { writeTar } from './harness/tar.js';
import { runTool } from '../rootless/exec.js';

const bed = inject('testbed');
const docker = dockerCli(bed.dockerHost);
const imgs = bed.images;
const registry = { ...bed.registry, port: Number(bed.registry.host.split(':')[1]), pid: -1, logFile: '', stop: async () => undefined } as RunningRegistry;
const unique = (): string => randomBytes(6).toString('hex');

interface Inspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Comment: string;
  Config: Record<string, unknown>;
  RootFS: { Layers: string[] };
}

async function inspect(name: string, cli = docker): Promise<Inspect> {
  const r = await cli(['image', 'inspect', name]);
  expect(r.stderr).toBe('');
  return (JSON.parse(r.stdout) as Inspect[])[0];
}

async function scratchDir(prefix: string): Promise<string> {
  const dir = join(bed.scratch, `${prefix}-${unique()}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

/** A small rootfs tar with one unique file, gzipped, on disk. */
async function rootfsTar(dir: string, content: string): Promise<string> {
  const file = join(dir, 'rootfs.tar.gz');
  await writeFile(file, gzipSync(writeTar([{ type: 'dir', name: 'etc/' }, { type: 'file', name: 'etc/marker', content }])));
  return file;
}

interface FreshImage {
  /** "burrow-test/<prefix>-<hex>" */
  name: string;
  reference: string;
  configDigest: string;
  diffIds: string[];
}

/**
 * A unique image pushed to the test registry and pulled: the shared busybox images belong to
 * images.test.ts, which runs alongside and asserts on their tags.
 */
async function freshImage(prefix: string, layerCount = 1): Promise<FreshImage> {
  const u = unique();
  const layers = Array.from({ length: layerCount }, (_, i) => buildLayer([{ type: 'file', name: `layer-${i}`, content: `${prefix} ${u} ${i}\n` }], { comment: `${prefix} ${i}` }));
  const img = assembleImage({ format: 'docker', platform: AMD64, layers });
  const name = `burrow-test/${prefix}-${u}`;
  await pushImage(registry, name, 'latest', img);
  const reference = `${bed.registry.host}/${name}:latest`;
  const r = await docker(['pull', reference]);
  expect(r.code).toBe(0);
  return { name, reference, configDigest: img.configDescriptor.digest, diffIds: img.config.rootfs.diff_ids };
}

async function registryManifest(reg: Pick<RunningRegistry, 'url' | 'auth'>, name: string, ref: string): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' };
  if (reg.auth) headers.Authorization = 'Basic ' + Buffer.from(`${reg.auth.username}:${reg.auth.password}`).toString('base64');
  return fetch(`${reg.url}/v2/${name}/manifests/${ref}`, { headers });
}

describe('docker push and docker login', () => {
  it('push of a pulled image mounts its layer from the source repository, then finds it there', async () => {
    const src = await freshImage('mount-src');
    const name = `burrow-test/pushed-${unique()}`;
    const target = `${bed.registry.host}/${name}:v1`;
    expect((await docker(['tag', src.reference, target])).code).toBe(0);
    const r = await docker(['push', target]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`The push refers to repository [${bed.registry.host}/${name}]`);
    expect(r.stdout).toContain(`Mounted from ${src.name}`);
    const final = /v1: digest: (sha256:[a-f0-9]{64}) size: (\d+)/.exec(r.stdout);
    expect(final).not.toBeNull();
    const res = await registryManifest(bed.registry, name, 'v1');
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-content-digest')).toBe(final?.[1]);
    expect((await res.arrayBuffer()).byteLength).toBe(Number(final?.[2]));
    expect((await inspect(target)).RepoDigests).toContain(`${bed.registry.host}/${name}@${final?.[1]}`);

    const again = await docker(['push', target]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Layer already exists');
    await docker(['rmi', '-f', src.configDigest]);
  });

  it('raw push streams Preparing/Pushing/Pushed and the aux digest; an imported image is gzipped on the fly', async () => {
    const dir = await scratchDir('push-import');
    const name = `burrow-test/imported-${unique()}`;
    const target = `${bed.registry.host}/${name}:latest`;
    const imp = await docker(['import', await rootfsTar(dir, `push ${name}\n`), target]);
    expect(imp.code).toBe(0);
    const id = imp.stdout.trim();
    const r = await rawRequest(bed.socket, 'POST', `/v1.50/images/${target.replace(/:latest$/, '')}/push?tag=latest`, undefined, { 'X-Registry-Auth': 'e30=' });
    expect(r.status).toBe(200);
    const msgs = r.body.split(/\r?\n/).filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
    const statuses = msgs.map((m) => m.status);
    expect(msgs.filter((m) => m.error !== undefined)).toEqual([]);
    for (const s of ['Preparing', 'Pushing', 'Pushed']) expect(statuses).toContain(s);
    const pushing = msgs.find((m) => m.status === 'Pushing') as { progressDetail: { current: number; total: number } };
    expect(pushing.progressDetail.total).toBeGreaterThan(0);
    const aux = msgs.find((m) => m.aux !== undefined) as { aux: { Tag: string; Digest: string; Size: number } };
    expect(aux.aux.Tag).toBe('latest');
    // The registry's copy pulls back to the same image (config and diff IDs unchanged by the gzip).
    expect((await docker(['rmi', target])).code).toBe(0);
    const pull = await docker(['pull', target]);
    expect(pull.stderr).toBe('');
    expect((await inspect(target)).Id).toBe(id);
    await docker(['rmi', target]);
  });

  it('push of a tag that does not exist reports the error in the stream', async () => {
    const r = await docker(['push', `${bed.registry.host}/burrow-test/never-${unique()}:nope`]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('An image does not exist locally with the tag');
  });

  it('docker login against an htpasswd registry, then push; bad password is unauthorized', async () => {
    const auth = { username: 'pusher', password: 'pa:ss/w+rd' };
    const authReg = await startRegistry({ dir: await scratchDir('auth-registry'), auth });
    try {
      const cli = dockerCli(bed.dockerHost);
      const bad = await cli(['login', '-u', auth.username, '--password-stdin', authReg.host], { input: 'wrong' });
      expect(bad.code).not.toBe(0);
      expect(bad.stderr.toLowerCase()).toContain('unauthorized');
      const raw = await rawRequest(bed.socket, 'POST', '/v1.50/auth', JSON.stringify({ username: auth.username, password: 'wrong', serveraddress: authReg.host }));
      expect(raw.status).toBe(401);
      expect(JSON.parse(raw.body).message).toMatch(/unauthorized/i);

      const target = `${authReg.host}/burrow-test/secret-${unique()}:v1`;
      const src = await freshImage('login-src');
      expect((await cli(['tag', src.reference, target])).code).toBe(0);
      const anonymous = await cli(['push', target]);
      expect(anonymous.code).not.toBe(0);

      const ok = await cli(['login', '-u', auth.username, '--password-stdin', authReg.host], { input: auth.password });
      expect(ok.code).toBe(0);
      expect(ok.stdout).toContain('Login Succeeded');
      const good = await rawRequest(bed.socket, 'POST', '/v1.50/auth', JSON.stringify({ username: auth.username, password: auth.password, serveraddress: authReg.host }));
      expect(JSON.parse(good.body)).toEqual({ Status: 'Login Succeeded', IdentityToken: '' });

      const pushed = await cli(['push', target]);
      expect(pushed.stderr).toBe('');
      expect(pushed.code).toBe(0);
      expect(pushed.stdout).toMatch(/Pushed|Layer already exists/);
      const res = await registryManifest(authReg, target.slice(authReg.host.length + 1).split(':')[0], 'v1');
      expect(res.status).toBe(200);
      await cli(['rmi', '-f', src.configDigest]);
    } finally {
      await authReg.stop();
    }
  });
});

describe('docker save and docker load', () => {
  it('docker save -o, rmi, docker load -i restores the image; the archive has docker and OCI layouts', async () => {
    const dir = await scratchDir('save');
    const ref = (await freshImage('save', 3)).reference;
    const before = await inspect(ref);
    const file = join(dir, 'out.tar');
    const save = await docker(['save', '-o', file, ref]);
    expect(save.stderr).toBe('');
    expect(save.code).toBe(0);
    const listing = execFileSync('tar', ['-tf', file]).toString().split('\n');
    for (const f of ['manifest.json', 'index.json', 'oci-layout', 'repositories']) expect(listing).toContain(f);
    expect(listing).toContain(`blobs/sha256/${before.Id.slice(7)}`);

    expect((await docker(['rmi', ref])).code).toBe(0);
    const load = await docker(['load', '-i', file]);
    expect(load.stderr).toBe('');
    expect(load.code).toBe(0);
    expect(load.stdout).toContain(`Loaded image: ${ref}`);
    const after = await inspect(ref);
    expect(after.Id).toBe(before.Id);
    expect(after.RootFS.Layers).toEqual(before.RootFS.Layers);
    await docker(['rmi', ref]);
  });

  it('docker save | docker load through a pipe, and by ID', async () => {
    const img = await freshImage('pipe');
    const ref = img.reference;
    const env = { DOCKER_HOST: bed.dockerHost };
    const piped = await runProcess('sh', ['-c', `docker save "${ref}" | docker load`], { env });
    expect(piped.code).toBe(0);
    expect(piped.stdout).toContain(`Loaded image: ${ref}`);
    const byId = await runProcess('sh', ['-c', `docker save "${img.configDigest}" | docker load`], { env });
    expect(byId.code).toBe(0);
    expect(byId.stdout).toContain(`Loaded image ID: ${img.configDigest}`);
    await docker(['rmi', ref]);
  });

  it('docker-py images.get().save() writes an archive dockerode loads back', async () => {
    const dir = await scratchDir('py-save');
    const img = await freshImage('py-save');
    const ref = img.reference;
    const file = join(dir, 'py.tar');
    const script = [
      'import docker, os',
      'c = docker.DockerClient(base_url=os.environ["DOCKER_HOST"])',
      `with open(${JSON.stringify(file)}, "wb") as f:`,
      `    for chunk in c.images.get(${JSON.stringify(ref)}).save():`,
      '        f.write(chunk)',
    ].join('\n');
    const py = await dockerPy(bed.dockerHost, script);
    expect(py.stderr).toBe('');
    expect(py.code).toBe(0);
    const client = new Docker({ socketPath: bed.socket });
    const tagged = `burrow-load/dockerode-${unique()}:v1`;
    await client.getImage(ref).tag({ repo: tagged.split(':')[0], tag: 'v1' });
    const stream = await client.getImage(tagged).get();
    const saved = join(dir, 'dockerode.tar');
    await new Promise<void>((resolve, reject) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => void writeFile(saved, Buffer.concat(chunks)).then(resolve, reject));
      stream.on('error', reject);
    });
    await docker(['rmi', tagged]);
    for (const [archive, expected] of [
      [file, `Loaded image ID: ${img.configDigest}`],
      [saved, `Loaded image: ${tagged}`],
    ] as const) {
      const res = await client.loadImage(createReadStream(archive));
      const text = await new Promise<string>((resolve, reject) => {
        let out = '';
        res.on('data', (c: Buffer) => (out += c.toString()));
        res.on('end', () => resolve(out));
        res.on('error', reject);
      });
      expect(text).not.toContain('error');
      expect(text).toContain(expected);
    }
    expect((await inspect(tagged)).Id).toBe(img.configDigest);
    await docker(['rmi', '-f', img.configDigest]);
  });

  it('an OCI layout archive loads, named by its containerd annotation', async () => {
    const dir = await scratchDir('oci');
    const layer = buildLayer([{ type: 'file', name: 'oci-file', content: `${unique()}\n` }], { comment: 'oci' });
    const img = assembleImage({ format: 'oci', platform: AMD64, layers: [layer] });
    const name = `docker.io/burrow-load/oci-${unique()}:v2`;
    const index = { schemaVersion: 2, manifests: [{ ...img.manifestDescriptor, annotations: { 'io.containerd.image.name': name, 'org.opencontainers.image.ref.name': 'v2' } }] };
    const entries = [
      { type: 'file' as const, name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
      { type: 'file' as const, name: 'index.json', content: JSON.stringify(index) },
      { type: 'file' as const, name: `blobs/sha256/${img.manifestDescriptor.digest.slice(7)}`, content: img.manifestBytes },
      ...[...img.blobs].map(([digest, data]) => ({ type: 'file' as const, name: `blobs/sha256/${digest.slice(7)}`, content: data })),
    ];
    const file = join(dir, 'oci.tar');
    await writeFile(file, writeTar(entries));
    const r = await docker(['load', '-i', file]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`Loaded image: ${name.replace('docker.io/', '')}`);
    expect((await inspect(name)).Id).toBe(img.configDescriptor.digest);
    await docker(['rmi', name]);
  });

  it('a load archive with ../ members is refused and writes nothing outside', async () => {
    const dir = await scratchDir('hostile-load');
    const marker = `evil-${unique()}`;
    const body = writeTar([
      { type: 'file', name: `../../${marker}`, content: 'x' },
      { type: 'file', name: 'manifest.json', content: '[]' },
    ]);
    const r = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ socketPath: bed.socket, method: 'POST', path: '/v1.50/images/load?quiet=1', headers: { 'Content-Type': 'application/x-tar' } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      req.end(body);
    });
    expect(r.body).toMatch(/Member name contains '\.\.'|error/i);
    expect(r.body).not.toContain('Loaded image');
    const found = await runTool('find', [bed.scratch, '/tmp', '-maxdepth', '3', '-name', marker], { allowFailure: true });
    expect(found.stdout.trim()).toBe('');
    expect(existsSync(join(dir, marker))).toBe(false);
  });
});

describe('docker import', () => {
  it('imports a gzip rootfs with --change, and an xz one from stdin', async () => {
    const dir = await scratchDir('import');
    const ref = `burrow-import/changes-${unique()}:v1`;
    const r = await docker([
      'import',
      '--change', 'CMD ["/bin/sh","-c","echo hi"]',
      '--change', 'ENV A=b C="d e"',
      '--change', 'EXPOSE 8080 53/udp',
      '--change', 'LABEL burrow.test=import',
      '--change', 'WORKDIR /srv',
      '--change', 'USER 1000',
      '--change', 'VOLUME /data',
      '--change', 'STOPSIGNAL SIGINT',
      '--change', 'ENTRYPOINT ["/bin/tini"]',
      await rootfsTar(dir, 'imported\n'),
      ref,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^sha256:[a-f0-9]{64}$/);
    const i = await inspect(ref);
    expect(i.Id).toBe(r.stdout.trim());
    expect(i.Config).toMatchObject({
      Cmd: ['/bin/sh', '-c', 'echo hi'],
      Entrypoint: ['/bin/tini'],
      Env: ['A=b', 'C=d e'],
      ExposedPorts: { '8080/tcp': {}, '53/udp': {} },
      Labels: { 'burrow.test': 'import' },
      WorkingDir: '/srv',
      User: '1000',
      Volumes: { '/data': {} },
      StopSignal: 'SIGINT',
    });
    const hist = await docker(['history', '--format', '{{.Comment}}', ref]);
    expect(hist.stdout.trim()).toBe('Imported from -');

    const plain = writeTar([{ type: 'file', name: 'xz-file', content: 'xz\n' }]);
    const xzFile = join(dir, 'rootfs.tar.xz');
    await writeFile(xzFile, execFileSync('xz', ['-c'], { input: plain }));
    const xzRef = `burrow-import/xz-${unique()}:latest`;
    const fromStdin = await runProcess('sh', ['-c', `docker import - ${xzRef} < "${xzFile}"`], { env: { DOCKER_HOST: bed.dockerHost } });
    expect(fromStdin.stderr).toBe('');
    expect(fromStdin.code).toBe(0);
    expect((await inspect(xzRef)).RootFS.Layers).toEqual([sha256Digest(plain)]);

    const badChange = await docker(['import', '--change', 'RUN rm -rf /', xzFile, 'burrow-import/bad:v1']);
    expect(badChange.code).not.toBe(0);
    expect(badChange.stderr).toContain('run is not a valid change command');
    await docker(['rmi', ref, xzRef]);
  });

  it('imports from a URL (gzip and plain, redirects, no scheme) with dockerd\'s progress; the image runs; a 404 is dockerd\'s error', async () => {
    const u = unique();
    const plain = writeTar([
      { type: 'dir', name: 'bin/' },
      { type: 'file', name: 'bin/busybox', content: await readFile('/bin/busybox'), mode: 0o755 },
      { type: 'symlink', name: 'bin/sh', target: 'busybox' },
      { type: 'symlink', name: 'bin/cat', target: 'busybox' },
      { type: 'dir', name: 'etc/' },
      { type: 'file', name: 'etc/marker', content: `from url ${u}\n` },
    ]);
    const gz = gzipSync(plain);
    const server = createServer((req, res) => {
      if (req.url === '/rootfs.tar.gz') {
        res.setHeader('Content-Type', 'application/gzip');
        return res.end(gz);
      }
      // Chunked, without Content-Length: the progress has no total.
      if (req.url === '/rootfs.tar') {
        res.write(plain.subarray(0, 4096));
        return res.end(plain.subarray(4096));
      }
      if (req.url === '/moved') {
        res.statusCode = 302;
        res.setHeader('Location', '/rootfs.tar.gz');
        return res.end();
      }
      res.statusCode = 404;
      return res.end('no such rootfs\n');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const refs: string[] = [];
    try {
      // docker CLI: a gzip rootfs with a change, then run with the CMD it set.
      const ref = `burrow-import/url-${u}:v1`;
      refs.push(ref);
      const r = await docker(['import', `http://${host}/rootfs.tar.gz`, ref, '--change', 'CMD ["/bin/sh"]']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Downloading from http://${host}/rootfs.tar.gz`);
      const id = r.stdout.trim().split('\n').pop();
      expect(id).toMatch(/^sha256:[a-f0-9]{64}$/);
      const i = await inspect(ref);
      expect(i.Id).toBe(id);
      expect(i.Config.Cmd).toEqual(['/bin/sh']);
      expect(i.Comment).toBe(`Imported from http://${host}/rootfs.tar.gz`);
      expect(i.RootFS.Layers).toEqual([sha256Digest(plain)]);
      const run = await docker(['run', '--rm', '-i', ref], { input: 'cat /etc/marker\n' });
      expect(run.stderr).toBe('');
      expect(run.stdout).toBe(`from url ${u}\n`);

      // No scheme: http:// is assumed, the comment names the source as given. dockerd's stream:
      // "Downloading from", "Importing" progress (total -1 without Content-Length), {}, the ID.
      const plainRef = `burrow-import/url-plain-${u}`;
      refs.push(`${plainRef}:v2`);
      const raw = await rawRequest(bed.socket, 'POST', `/v1.50/images/create?fromSrc=${encodeURIComponent(`${host}/rootfs.tar`)}&repo=${plainRef}&tag=v2`);
      expect(raw.status).toBe(200);
      const msgs = raw.body.split('\r\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(msgs[0]).toEqual({ status: `Downloading from http://${host}/rootfs.tar` });
      const importing = msgs.filter((m) => m.status === 'Importing');
      expect(importing.length).toBeGreaterThan(0);
      expect(importing.at(-1)?.progressDetail).toEqual({ current: plain.length, total: -1 });
      expect(msgs.slice(-2)[0]).toEqual({});
      const plainId = msgs.at(-1)?.status as string;
      expect(plainId).toMatch(/^sha256:[a-f0-9]{64}$/);
      const pi = await inspect(`${plainRef}:v2`);
      expect(pi.Id).toBe(plainId);
      expect(pi.Comment).toBe(`Imported from ${host}/rootfs.tar`);
      expect(pi.RootFS.Layers).toEqual([sha256Digest(plain)]);

      // docker-py, through a redirect, with a message and a change.
      const pyRef = `burrow-import/url-py-${u}`;
      refs.push(`${pyRef}:v3`);
      const script = [
        'import docker, os',
        'c = docker.APIClient(base_url=os.environ["DOCKER_HOST"])',
        `print(c.import_image_from_url(${JSON.stringify(`http://${host}/moved`)}, repository=${JSON.stringify(pyRef)}, tag="v3", changes=["ENV FROM=url"]))`,
      ].join('\n');
      const py = await dockerPy(bed.dockerHost, script);
      expect(py.stderr).toBe('');
      expect(py.code).toBe(0);
      const pyi = await inspect(`${pyRef}:v3`);
      expect(py.stdout).toContain(pyi.Id);
      expect(pyi.Config.Env).toEqual(['FROM=url']);
      expect(pyi.RootFS.Layers).toEqual([sha256Digest(plain)]);

      // A 404 fails before anything is streamed: dockerd's GetWithStatusError, as an HTTP 404.
      const missing = `http://${host}/missing.tar.gz`;
      const notFound = `failed to GET ${missing} with status 404 Not Found: no such rootfs`;
      const bad = await docker(['import', missing, `burrow-import/missing-${u}`]);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr.trim()).toBe(`Error response from daemon: ${notFound}`);
      const bad404 = await rawRequest(bed.socket, 'POST', `/v1.50/images/create?fromSrc=${encodeURIComponent(missing)}`);
      expect(bad404.status).toBe(404);
      expect(JSON.parse(bad404.body)).toEqual({ message: notFound });
      expect((await docker(['image', 'inspect', `burrow-import/missing-${u}`])).code).not.toBe(0);
      // A bad change is found once the server answered, so it comes inside the stream, as in dockerd.
      const badChange = await rawRequest(bed.socket, 'POST', `/v1.50/images/create?fromSrc=${encodeURIComponent(`http://${host}/rootfs.tar.gz`)}&changes=${encodeURIComponent('RUN true')}`);
      expect(badChange.status).toBe(200);
      expect(badChange.body).toContain(`{"status":"Downloading from http://${host}/rootfs.tar.gz"}`);
      expect(badChange.body).toContain('"error":"run is not a valid change command"');
    } finally {
      server.close();
      await docker(['rmi', ...refs]);
    }
  });
});

describe('docker image prune', () => {
  it('removes dangling images only by default, unused tagged ones with -a (scoped by label)', async () => {
    const dir = await scratchDir('prune');
    const label = `burrow.prune=${unique()}`;
    const tar = await rootfsTar(dir, `prune ${label}\n`);
    const dangling = (await docker(['import', '--change', `LABEL ${label}`, '--change', 'CMD ["a"]', tar])).stdout.trim();
    const taggedRef = `burrow-prune/kept-${unique()}:v1`;
    const tagged = (await docker(['import', '--change', `LABEL ${label}`, '--change', 'CMD ["b"]', tar, taggedRef])).stdout.trim();
    expect(dangling).toMatch(/^sha256:/);
    expect(tagged).toMatch(/^sha256:/);

    const first = await docker(['image', 'prune', '-f', '--filter', `label=${label}`]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`deleted: ${dangling}`);
    expect(first.stdout).not.toContain(tagged);
    expect((await docker(['image', 'inspect', dangling])).code).not.toBe(0);
    expect((await inspect(taggedRef)).Id).toBe(tagged);

    const raw = await rawRequest(bed.socket, 'POST', `/v1.50/images/prune?filters=${encodeURIComponent(JSON.stringify({ dangling: ['false'], label: [label] }))}`);
    expect(raw.status).toBe(200);
    const report = JSON.parse(raw.body) as { ImagesDeleted: Record<string, string>[]; SpaceReclaimed: number };
    expect(report.ImagesDeleted).toContainEqual({ Untagged: taggedRef });
    expect(report.ImagesDeleted).toContainEqual({ Deleted: tagged });
    expect(report.SpaceReclaimed).toBeGreaterThan(0);
    const none = await rawRequest(bed.socket, 'POST', `/v1.50/images/prune?filters=${encodeURIComponent(JSON.stringify({ label: [label] }))}`);
    expect(JSON.parse(none.body)).toEqual({ ImagesDeleted: null, SpaceReclaimed: 0 });
  });
});

describe('search and distribution', () => {
  it('docker search against a registry without a search API answers an empty list', async () => {
    const r = await docker(['search', `${bed.registry.host}/busybox`]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const raw = await rawRequest(bed.socket, 'GET', `/v1.50/images/search?term=${encodeURIComponent('127.0.0.1:1/nothing')}`);
    expect(raw.status).toBe(200);
    expect(JSON.parse(raw.body)).toEqual([]);
  });

  it('GET /distribution/{name}/json describes an index and a single manifest', async () => {
    const multi = await rawRequest(bed.socket, 'GET', `/v1.50/distribution/${imgs.multi.reference}/json`);
    expect(multi.status).toBe(200);
    const m = JSON.parse(multi.body) as { Descriptor: { digest: string; mediaType: string; size: number }; Platforms: { architecture: string; os: string }[] };
    expect(m.Descriptor).toEqual({ mediaType: imgs.multi.manifestMediaType, digest: imgs.multi.manifestDigest, size: imgs.multi.manifestSize });
    expect(m.Platforms.map((p) => p.architecture).sort()).toEqual(['amd64', 'arm64']);
    const single = await rawRequest(bed.socket, 'GET', `/v1.50/distribution/${imgs.busybox.reference}/json`);
    expect(JSON.parse(single.body)).toMatchObject({ Descriptor: { digest: imgs.busybox.manifestDigest }, Platforms: [{ architecture: 'amd64', os: 'linux' }] });
    const missing = await rawRequest(bed.socket, 'GET', `/v1.50/distribution/${imgs.busybox.repository}:nope/json`);
    expect(missing.status).toBe(404);
  });
});

describe('config file', () => {
  it('registry-mirrors serve docker.io pulls and /info reports mirrors and insecure registries', async () => {
    const dir = await scratchDir('config');
    await mkdir(join(dir, 'xdg-config', 'burrow'), { recursive: true });
    await writeFile(
      join(dir, 'xdg-config', 'burrow', 'config.json'),
      JSON.stringify({ 'registry-mirrors': [bed.registry.url], 'insecure-registries': ['10.9.0.0/16', 'myregistry.example:5000'] }),
    );
    const name = `mirrored-${unique()}`;
    const layer = buildLayer([{ type: 'file', name: 'mirrored', content: `${name}\n` }], { comment: 'mirrored' });
    const img = assembleImage({ format: 'docker', platform: AMD64, layers: [layer] });
    await pushImage(registry, `library/${name}`, 'latest', img);
    const daemon = await startDaemon({ dir: join(dir, 'daemon'), env: { XDG_CONFIG_HOME: join(dir, 'xdg-config') } });
    try {
      const cli = dockerCli(daemon.dockerHost);
      const info = await cli(['info', '--format', '{{json .RegistryConfig}}']);
      const rc = JSON.parse(info.stdout) as { Mirrors: string[]; InsecureRegistryCIDRs: string[]; IndexConfigs: Record<string, { Secure: boolean }> };
      expect(rc.Mirrors).toEqual([`${bed.registry.url}/`]);
      expect(rc.InsecureRegistryCIDRs).toContain('10.9.0.0/16');
      expect(rc.IndexConfigs['myregistry.example:5000'].Secure).toBe(false);
      const pull = await cli(['pull', name]);
      expect(pull.stderr).toBe('');
      expect(pull.code).toBe(0);
      expect(pull.stdout).toContain(`Status: Downloaded newer image for ${name}:latest`);
      expect((await inspect(name, cli)).Id).toBe(img.configDescriptor.digest);
    } finally {
      expect(await daemon.stop()).toBe(0);
    }
  });

  it('a broken config file stops the daemon with a clear message', async () => {
    const dir = await scratchDir('bad-config');
    await mkdir(join(dir, 'xdg-config', 'burrow'), { recursive: true });
    await writeFile(join(dir, 'xdg-config', 'burrow', 'config.json'), '{"registry-mirrors": "not-a-list"}');
    const err = await startDaemon({ dir: join(dir, 'daemon'), env: { XDG_CONFIG_HOME: join(dir, 'xdg-config') }, timeoutMs: 20_000 }).then(
      async (d) => {
        await d.stop();
        return '';
      },
      (e: Error) => e.message,
    );
    expect(err).toContain('"registry-mirrors" must be a list');
    expect(await readdir(dir)).toContain('daemon');
  });
});
