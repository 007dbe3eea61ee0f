/**
 * Loopback registries are insecure the way dockerd treats them: HTTPS first without verifying the
 * certificate, plain HTTP only when the registry does not speak TLS. A docker-registry serving a
 * self-signed certificate (with htpasswd auth) takes login, push, pull, run, manifest lookups and
 * search through Burrow; the shared plain-HTTP registry keeps working from the same daemon.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerCli, rawRequest } from './harness/clients.js';
import { isolatedTestbed } from './harness/isolated.js';
import { startRegistry, type RunningRegistry } from './harness/registry.js';

const bed = await isolatedTestbed();
const docker = dockerCli(bed.dockerHost);
const unique = (): string => randomBytes(6).toString('hex');
const auth = { username: 'tls-user', password: 'se:cr/et+' };

/** X-Registry-Auth as the docker CLI sends it. */
const registryAuth = (registry: RunningRegistry): string =>
  Buffer.from(JSON.stringify({ username: auth.username, password: auth.password, serveraddress: registry.host })).toString('base64url');

describe('an insecure (loopback) registry serving HTTPS with a self-signed certificate', () => {
  let registry: RunningRegistry;

  beforeAll(async () => {
    const dir = join(bed.privateDir, `tls-registry-${unique()}`);
    await mkdir(dir, { recursive: true });
    registry = await startRegistry({ dir, tls: true, auth });
  }, 60_000);

  afterAll(async () => {
    await registry?.stop();
  });

  it('the fixture speaks TLS only: plain HTTP gets no registry API', async () => {
    expect(registry.url).toBe(`https://${registry.host}`);
    expect(registry.certificate).toContain('BEGIN CERTIFICATE');
    // Go answers plain HTTP on a TLS port with a 400 of its own; platform fetch refuses the unknown CA.
    const plain = await fetch(`http://${registry.host}/v2/`);
    await plain.arrayBuffer();
    expect(plain.status).toBe(400);
    await expect(fetch(`${registry.url}/v2/`)).rejects.toThrow();
  });

  it('the plain-HTTP loopback registry still works from the same daemon (pull falls back from HTTPS)', async () => {
    const r = await docker(['pull', bed.images.busybox.reference]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Status: Downloaded newer image for ${bed.images.busybox.reference}`);
  });

  it('docker login: a wrong password is unauthorized, the right one succeeds', async () => {
    const bad = await docker(['login', '-u', auth.username, '--password-stdin', registry.host], { input: 'wrong' });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.toLowerCase()).toContain('unauthorized');
    const raw = await rawRequest(bed.socket, 'POST', '/v1.50/auth', JSON.stringify({ username: auth.username, password: 'wrong', serveraddress: registry.host }));
    expect(raw.status).toBe(401);
    expect(JSON.parse(raw.body).message).toMatch(/unauthorized/i);

    const ok = await docker(['login', '-u', auth.username, '--password-stdin', registry.host], { input: auth.password });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('Login Succeeded');
  });

  it('docker push, rmi, pull and run an image through it', async () => {
    // The CLI sends the credentials stored by docker login above.
    const login = await docker(['login', '-u', auth.username, '--password-stdin', registry.host], { input: auth.password });
    expect(login.code).toBe(0);
    const pulled = await docker(['pull', bed.images.busybox.reference]);
    expect(pulled.code).toBe(0);
    const name = `burrow-test/tls-${unique()}`;
    const target = `${registry.host}/${name}:v1`;
    expect((await docker(['tag', bed.images.busybox.reference, target])).code).toBe(0);

    const push = await docker(['push', target]);
    expect(push.stderr).toBe('');
    expect(push.code).toBe(0);
    expect(push.stdout).toContain(`The push refers to repository [${registry.host}/${name}]`);
    const pushedDigest = /v1: digest: (sha256:[a-f0-9]{64}) size: \d+/.exec(push.stdout)?.[1];
    expect(pushedDigest).toBeDefined();

    // The registry has it, as seen over verified TLS with the fixture's own certificate as CA.
    const manifest = await fetchWithCa(registry, `/v2/${name}/manifests/v1`);
    expect(manifest.status).toBe(200);
    expect(manifest.headers['docker-content-digest']).toBe(pushedDigest);

    expect((await docker(['rmi', target])).code).toBe(0);
    const pull = await docker(['pull', target]);
    expect(pull.stderr).toBe('');
    expect(pull.code).toBe(0);
    expect(pull.stdout).toContain(`Digest: ${pushedDigest}`);
    expect(pull.stdout).toContain(`Status: Downloaded newer image for ${target}`);

    const run = await docker(['run', '--rm', target, 'echo', 'hello over tls']);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('hello over tls\n');

    // Manifest lookups (GET /distribution) go the same way.
    const dist = await rawRequest(bed.socket, 'GET', `/v1.50/distribution/${target}/json`, undefined, { 'X-Registry-Auth': registryAuth(registry) });
    expect(dist.status).toBe(200);
    expect(JSON.parse(dist.body)).toMatchObject({ Descriptor: { digest: pushedDigest }, Platforms: [{ architecture: 'amd64', os: 'linux' }] });
    await docker(['rmi', target]);
  });

  it('anonymous pulls are refused by the registry itself (an HTTP answer over TLS, no fallback to plain HTTP)', async () => {
    const raw = await rawRequest(bed.socket, 'POST', `/v1.50/images/create?fromImage=${encodeURIComponent(`${registry.host}/burrow-test/tls-anonymous`)}&tag=latest`);
    const text = raw.body;
    // dockerd's wording for a registry that refuses: access denied, not a transport error.
    expect(text).toMatch(/pull access denied|unauthorized/i);
    expect(text).not.toMatch(/ECONNREFUSED|fetch failed|400 Bad Request/);
  });

  it('docker search reaches it and answers an empty list (docker-registry has no search API)', async () => {
    const r = await docker(['search', `${registry.host}/busybox`]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    // It did ask, and over TLS: the registry serves nothing else.
    expect(await readFile(registry.logFile, 'utf8')).toMatch(/"GET \/v1\/search\?q=busybox/);
  });
});

/** A GET with the registry's self-signed certificate as the only trusted CA (and its basic auth). */
async function fetchWithCa(registry: RunningRegistry, path: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  const { get } = await import('node:https');
  return new Promise((resolve, reject) => {
    const req = get(
      `${registry.url}${path}`,
      {
        ca: registry.certificate,
        headers: {
          Accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json',
          Authorization: 'Basic ' + Buffer.from(`${auth.username}:${auth.password}`).toString('base64'),
        },
      },
      (res) => {
        res.resume();
        res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      },
    );
    req.once('error', reject);
  });
}
