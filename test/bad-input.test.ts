/**
 * Bad input gets dockerd's 4xx, never a 500 (issue 14): each case here was once answered 500 (or
 * not at all), and is now refused with dockerd's status and words. Device nodes in import/load
 * archives are skipped as rootless dockerd skips them, so such images still run.
 */
import { randomBytes } from 'node:crypto';
import { readFile, mkdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { dockerCli, rawRequest, type RawResponse } from './harness/clients.js';
import { AMD64, assembleImage, buildLayer } from './harness/images.js';
import { writeTar, type TarEntry } from './harness/tar.js';

const bed = inject('testbed');
const docker = dockerCli(bed.dockerHost);
const busybox = bed.images.busybox.reference;
const unique = (prefix: string): string => `${prefix}-${randomBytes(5).toString('hex')}`;
const message = (r: RawResponse): string => (JSON.parse(r.body) as { message: string }).message;

/** A request with a binary body (rawRequest sends strings). */
function send(method: string, path: string, body: Buffer | string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: bed.socket, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (b: Buffer) => chunks.push(b));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function expectRefused(r: RawResponse, status: number, text: string): void {
  expect(r.status, r.body).toBe(status);
  expect(message(r)).toBe(text);
}

const created: string[] = [];
let box: string;
let scratch: string;

beforeAll(async () => {
  scratch = join(bed.scratch, unique('bad-input'));
  await mkdir(scratch, { recursive: true });
  expect((await docker(['pull', busybox])).code).toBe(0);
  box = unique('bad-box');
  created.push(box);
  const r = await docker(['run', '-d', '--name', box, busybox, 'sleep', '999']);
  expect(r.code, r.stderr).toBe(0);
});

afterAll(async () => {
  if (created.length > 0) await docker(['rm', '-f', ...created]);
});

describe('container create and update', () => {
  it('HostConfig.Mounts: [null] is a zero Mount, refused with dockerd 400 words', async () => {
    const r = await rawRequest(bed.socket, 'POST', '/containers/create', JSON.stringify({ Image: busybox, Cmd: ['true'], HostConfig: { Mounts: [null] } }));
    expectRefused(r, 400, 'invalid mount config for type "": field Target must not be empty');
  });

  it('update with out-of-range resources answers dockerd 400s, not cgroup write errors', async () => {
    const update = (body: unknown): Promise<RawResponse> => rawRequest(bed.socket, 'POST', `/containers/${box}/update`, JSON.stringify(body));
    expectRefused(await update({ CpuShares: -1 }), 400, 'invalid CPU shares (-1): value must be a positive integer');
    expectRefused(await update({ Memory: -1 }), 400, 'Minimum memory limit allowed is 6MB');
    expectRefused(await update({ MemoryReservation: 1000 }), 400, 'Minimum memory reservation allowed is 6MB');
    expectRefused(await update({ Memory: 10_000_000, MemoryReservation: 20_000_000 }), 400, 'Minimum memory limit can not be less than memory reservation limit, see usage');
    expectRefused(await update({ CpusetCpus: 'abc' }), 400, 'Invalid value abc for cpuset cpus: invalid format: abc');
    expect(message(await update({ CpusetCpus: '4096' }))).toMatch(/^Requested CPUs are not available - requested 4096, available: 0(-\d+)?$/);
    expectRefused(await update({ BlkioWeight: -1 }), 400, 'invalid JSON: BlkioWeight must be >= 0');
    // PidsLimit below -1 means "unlimited" to dockerd's update, as -1 and 0 do.
    expect((await update({ PidsLimit: -5 })).status).toBe(200);
    const ok = await update({ CpuShares: 512 });
    expect(ok.status, ok.body).toBe(200);
    // The refused updates were not stored.
    const inspect = await docker(['inspect', '-f', '{{.HostConfig.CpuShares}}/{{.HostConfig.MemoryReservation}}/{{.HostConfig.CpusetCpus}}', box]);
    expect(inspect.stdout.trim()).toBe('512/0/');
  });
});

describe('container archive paths', () => {
  it('a NUL byte in the path is a 400 for HEAD, GET and PUT', async () => {
    const head = await rawRequest(bed.socket, 'HEAD', `/containers/${box}/archive?path=%00`);
    expect(head.status).toBe(400);
    const get = await rawRequest(bed.socket, 'GET', `/containers/${box}/archive?path=/tmp%00x`);
    expectRefused(get, 400, 'invalid path "/tmp\\u0000x": a path cannot contain a NUL byte');
    const put = await send('PUT', `/containers/${box}/archive?path=/tmp%00x`, writeTar([{ type: 'file', name: 'f', content: 'x' }]), { 'Content-Type': 'application/x-tar' });
    expectRefused(put, 400, 'invalid path "/tmp\\u0000x": a path cannot contain a NUL byte');
  });
});

describe('volume names', () => {
  it('a 300-character name is a 400 for volume create and for docker run -v', async () => {
    const name = 'v'.repeat(300);
    const text = `create ${name}: volume name is too long, names should be at most 255 characters`;
    expectRefused(await rawRequest(bed.socket, 'POST', '/volumes/create', JSON.stringify({ Name: name })), 400, text);
    const run = await docker(['run', '--rm', '-v', `${name}:/x`, busybox, 'true']);
    expect(run.code).toBe(125);
    expect(run.stderr).toContain(text);
    // 255 characters is still a name the local driver can hold.
    const longest = `a${randomBytes(127).toString('hex')}`;
    const ok = await docker(['volume', 'create', longest]);
    expect(ok.stderr).toBe('');
    expect((await docker(['volume', 'rm', longest])).code).toBe(0);
  });
});

describe('POST /auth', () => {
  it('no body is dockerd 400; a null body (no credentials) against Docker Hub is its 401', async () => {
    expectRefused(await rawRequest(bed.socket, 'POST', '/auth', ''), 400, 'invalid X-Registry-Auth header: EOF');
    expectRefused(await send('POST', '/auth', ''), 400, 'invalid X-Registry-Auth header: EOF');
    expectRefused(await rawRequest(bed.socket, 'POST', '/auth', 'null'), 401, 'login attempt to https://registry-1.docker.io/v2/ failed with status: 401 Unauthorized');
  });
});

describe('hostile archives for import and load', () => {
  const garbage = randomBytes(4096);
  const truncated = (): Buffer => writeTar([{ type: 'file', name: 'big', content: randomBytes(8192) }]).subarray(0, 3000);

  it('docker import of garbage or a truncated tar is a 400 in Go archive/tar words', async () => {
    const post = (body: Buffer): Promise<RawResponse> => send('POST', '/images/create?fromSrc=-&repo=bad-import', body, { 'Content-Type': 'application/x-tar' });
    expectRefused(await post(garbage), 400, 'archive/tar: invalid tar header');
    expectRefused(await post(truncated()), 400, 'unexpected EOF');
    const file = join(scratch, 'garbage.tar');
    await writeFile(file, garbage);
    const cli = await docker(['import', file]);
    expect(cli.code).not.toBe(0);
    expect(cli.stderr.trim()).toBe('Error response from daemon: archive/tar: invalid tar header');
  });

  it('docker load of garbage or a truncated tar fails with dockerd wording, inside the 200 stream as dockerd sends every load error', async () => {
    const post = (body: Buffer): Promise<RawResponse> => send('POST', '/images/load?quiet=1', body, { 'Content-Type': 'application/x-tar' });
    const inStream = (r: RawResponse, text: string): void => {
      expect(r.status, r.body).toBe(200);
      expect(JSON.parse(r.body.trim())).toEqual({ errorDetail: { message: text }, error: text });
    };
    inStream(await post(garbage), 'Error processing tar file(exit status 1): archive/tar: invalid tar header');
    inStream(await post(truncated()), 'Error processing tar file(exit status 1): unexpected EOF');
  });
});

describe('device nodes in import and load', () => {
  let base: TarEntry[];
  beforeAll(async () => {
    const binary = await readFile('/usr/bin/busybox');
    base = [
      { type: 'dir', name: 'bin/' },
      { type: 'file', name: 'bin/busybox', content: binary, mode: 0o755 },
      ...['sh', 'cat', 'ls', 'true'].map((a): TarEntry => ({ type: 'symlink', name: `bin/${a}`, target: 'busybox' })),
    ];
  });
  const devices: TarEntry[] = [
    { type: 'dir', name: 'dev/' },
    { type: 'chardev', name: 'dev/console', devmajor: 5, devminor: 1, mode: 0o600 },
    { type: 'blockdev', name: 'dev/sda', devmajor: 8, devminor: 0, mode: 0o660 },
    { type: 'dir', name: 'etc/' },
    { type: 'file', name: 'etc/after-devices', content: 'still here\n' },
  ];

  it('docker import of a tree holding ./dev/console skips the device and the image runs', async () => {
    const file = join(scratch, 'rootfs-with-dev.tar');
    await writeFile(file, writeTar([...base, ...devices].map((e) => ({ ...e, name: `./${e.name}` }))));
    const ref = `bad-input/import-dev:${unique('t')}`;
    const imported = await docker(['import', file, ref]);
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);
    const run = await docker(['run', '--rm', ref, 'cat', '/etc/after-devices']);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('still here\n');
    await docker(['rmi', ref]);
  });

  it('docker load of an image whose layer holds device nodes loads and runs', async () => {
    const layers = [buildLayer(base, { comment: 'busybox' }), buildLayer(devices, { comment: 'devices', compression: 'none' })];
    const img = assembleImage({ format: 'docker', platform: AMD64, layers, config: { Env: ['PATH=/bin'], Cmd: ['sh'] } });
    const ref = `bad-input/load-dev:${unique('t')}`;
    const manifest = [{ Config: 'config.json', RepoTags: [ref], Layers: layers.map((_, i) => `layer${i}.tar`) }];
    const archive = writeTar([
      { type: 'file', name: 'manifest.json', content: JSON.stringify(manifest) },
      { type: 'file', name: 'config.json', content: img.configBytes },
      ...layers.map((l, i): TarEntry => ({ type: 'file', name: `layer${i}.tar`, content: l.blob })),
    ]);
    const file = join(scratch, 'load-with-dev.tar');
    await writeFile(file, archive);
    const load = await docker(['load', '-i', file]);
    expect(load.stderr).toBe('');
    expect(load.stdout).toContain(`Loaded image: ${ref}`);
    const run = await docker(['run', '--rm', ref, 'cat', '/etc/after-devices']);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('still here\n');
    await docker(['rmi', ref]);
  });
});

describe('a client that half-closes after its request', () => {
  /** Writes the request, then end()s the socket at once (as `nc -N` does), and reads what comes back. */
  function halfClosed(text: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const sock = connect(bed.socket);
      const chunks: Buffer[] = [];
      sock.on('data', (b: Buffer) => chunks.push(b));
      sock.on('error', reject);
      sock.on('close', () => resolve(Buffer.concat(chunks).toString()));
      sock.setTimeout(20_000, () => sock.destroy());
      sock.end(text);
    });
  }

  it('still gets the reply (and the connection closes after it)', async () => {
    const stop = await halfClosed('POST /containers/no-such-container-x/stop HTTP/1.1\r\nHost: d\r\nContent-Length: 0\r\n\r\n');
    expect(stop).toMatch(/^HTTP\/1\.1 404 /);
    expect(stop).toContain('No such container: no-such-container-x');
    const name = unique('half');
    created.push(name);
    expect((await docker(['create', '--name', name, busybox, 'true'])).code).toBe(0);
    const rename = await halfClosed(`POST /containers/${name}/rename?name=${name}-2 HTTP/1.1\r\nHost: d\r\nContent-Length: 0\r\n\r\n`);
    expect(rename).toMatch(/^HTTP\/1\.1 204 /);
    created.push(`${name}-2`);
  });

  it('on a hijacked exec the half-close still only closes stdin', async () => {
    const r = await docker(['exec', '-i', box, 'cat'], { input: 'through stdin\n' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('through stdin\n');
  });
});
