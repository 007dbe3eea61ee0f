import { describe, expect, inject, it } from 'vitest';
import Docker from 'dockerode';
import { dockerCli, dockerPy, rawRequest } from './harness/clients.js';
import { assertMatchesSchema } from './harness/schemas.js';
import { errorResponseSchema, systemInfoSchema, systemVersionSchema } from '../openapi/system.js';

const bed = inject('testbed');
const docker = dockerCli(bed.dockerHost);

describe('docker CLI 28 against Burrow', () => {
  it('docker version negotiates API 1.50 and names the engine', async () => {
    const r = await docker(['version', '--format', '{{json .}}']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const v = JSON.parse(r.stdout) as { Client: { ApiVersion: string }; Server: { ApiVersion: string; Os: string; Version: string } };
    expect(v.Client.ApiVersion).toBe('1.50');
    expect(v.Server.ApiVersion).toBe('1.50');
    expect(v.Server.Os).toBe('linux');
    expect(v.Server.Version).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('docker info shows the storage driver, cgroup facts and the rootless security option', async () => {
    const r = await docker(['info', '--format', '{{json .}}']);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(info.Driver).toMatch(/^(overlay2|fuse-overlayfs)$/);
    expect(info.SecurityOptions).toContain('name=rootless');
    expect(info.SecurityOptions).toContain('name=seccomp,profile=builtin');
    expect(info.CgroupVersion).toBe('1');
    expect(info.CgroupDriver).toBe('cgroupfs');
    expect(info.MemoryLimit).toBe(true);
    expect(info.PidsLimit).toBe(true);
    expect(info.OSType).toBe('linux');
    const text = await docker(['info']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/Storage Driver: (overlay2|fuse-overlayfs)/);
    expect(text.stdout).toContain('rootless');
  });
});

describe('library clients', () => {
  it('dockerode ping, version and info', async () => {
    const client = new Docker({ socketPath: bed.socket });
    expect(String(await client.ping())).toBe('OK');
    const version = await client.version();
    expect(version.ApiVersion).toBe('1.50');
    const info = (await client.info()) as Record<string, unknown>;
    expect(info.Swarm).toMatchObject({ LocalNodeState: 'inactive' });
  });

  it('docker-py DockerClient.version()', async () => {
    const r = await dockerPy(bed.dockerHost, 'import docker, json; c = docker.DockerClient(base_url=__import__("os").environ["DOCKER_HOST"]); print(json.dumps(c.version()))');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ApiVersion: '1.50', Os: 'linux' });
  });
});

describe('API conventions', () => {
  it('refuses versions outside 1.24..1.50 with dockerd wording', async () => {
    const old = await rawRequest(bed.socket, 'GET', '/v1.23/version');
    expect(old.status).toBe(400);
    expect(JSON.parse(old.body)).toEqual({ message: 'client version 1.23 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version' });
    const future = await rawRequest(bed.socket, 'GET', '/v9.99/version');
    expect(future.status).toBe(400);
    expect(JSON.parse(future.body)).toEqual({ message: 'client version 9.99 is too new. Maximum supported API version is 1.50' });
  });

  it('serves /_ping under every accepted prefix with dockerd headers', async () => {
    for (const path of ['/_ping', '/v1.24/_ping', '/v1.41/_ping', '/v1.50/_ping']) {
      const r = await rawRequest(bed.socket, 'GET', path);
      expect(r.status, path).toBe(200);
      expect(r.body).toBe('OK');
      expect(r.headers['api-version']).toBe('1.50');
      // 2: test/run.sh installs buildkitd (test/buildkit.test.ts checks a daemon without it says 1).
      expect(r.headers['builder-version']).toBe('2');
      expect(r.headers['docker-experimental']).toBe('false');
      expect(r.headers.swarm).toBe('inactive');
      expect(r.headers.ostype).toBe('linux');
      expect(r.headers['cache-control']).toBe('no-cache, no-store, must-revalidate');
      expect(r.headers.pragma).toBe('no-cache');
      expect(r.headers.server).toMatch(/^Burrow\/\d+\.\d+\.\d+ \(linux\)$/);
    }
    for (const path of ['/_ping', '/v1.41/_ping']) {
      const head = await rawRequest(bed.socket, 'HEAD', path);
      expect(head.status, path).toBe(200);
      expect(head.headers['api-version']).toBe('1.50');
      expect(head.headers.swarm).toBe('inactive');
      // dockerd's HEAD handler sets these two itself (no body follows).
      expect(head.headers['content-length']).toBe('0');
      expect(head.headers['content-type']).toBe('text/plain; charset=utf-8');
    }
    // Forms the fast path leaves to the router still get the router's answers.
    const query = await rawRequest(bed.socket, 'GET', '/_ping?x=1');
    expect(query.status).toBe(200);
    expect(query.body).toBe('OK');
    expect(query.headers['api-version']).toBe('1.50');
    const old = await rawRequest(bed.socket, 'GET', '/v1.23/_ping');
    expect(old.status).toBe(400);
    expect(JSON.parse(old.body).message).toMatch(/^client version 1\.23 is too old/);
  });

  it('answers unknown routes and wrong methods with 404 page not found', async () => {
    for (const [method, path] of [['GET', '/nope'], ['GET', '/v1.50/containers/x/nope'], ['DELETE', '/version'], ['POST', '/_ping']]) {
      const r = await rawRequest(bed.socket, method, path);
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(JSON.parse(r.body)).toEqual({ message: 'page not found' });
      expect(r.headers['content-type']).toMatch(/^application\/json/);
      expect(r.headers['api-version']).toBe('1.50');
    }
  });

  it('answers swarm routes with 503 and plugins with an empty list', async () => {
    for (const [method, path] of [['GET', '/swarm'], ['GET', '/services'], ['GET', '/v1.41/nodes'], ['POST', '/swarm/init'], ['GET', '/secrets'], ['GET', '/configs'], ['GET', '/tasks']]) {
      const r = await rawRequest(bed.socket, method, path, method === 'POST' ? '{}' : undefined);
      expect(r.status, path).toBe(503);
      expect(JSON.parse(r.body).message).toMatch(/^This node is not a swarm manager\. Use "docker swarm init" or "docker swarm join"/);
    }
    const plugins = await rawRequest(bed.socket, 'GET', '/plugins');
    expect(plugins.status).toBe(200);
    expect(JSON.parse(plugins.body)).toEqual([]);
  });

  it('replies match the schemas in openapi/', async () => {
    const version = await rawRequest(bed.socket, 'GET', '/v1.50/version');
    assertMatchesSchema(systemVersionSchema, JSON.parse(version.body));
    const info = await rawRequest(bed.socket, 'GET', '/info');
    assertMatchesSchema(systemInfoSchema, JSON.parse(info.body));
    const missing = await rawRequest(bed.socket, 'GET', '/plugins/nope/json');
    expect(missing.status).toBe(404);
    assertMatchesSchema(errorResponseSchema, JSON.parse(missing.body));
  });
});
