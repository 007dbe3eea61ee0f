import { afterAll, describe, expect, it } from 'vitest';
import { isolatedTestbed } from './harness/isolated.js';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerCli, dockerPy, rawRequest, runProcess } from './harness/clients.js';
import { repoRoot, startDaemon } from './harness/daemon.js';
import { assertMatchesSchema } from './harness/schemas.js';
import { volumeSchema } from '../openapi/volumes.js';

const bed = await isolatedTestbed();
const docker = dockerCli(bed.dockerHost);
/** Every volume a test makes carries this label, so concurrent suites never see each other's volumes. */
const TAG = `burrow.test.volumes=${process.pid}`;

const dirs: string[] = [];
async function scratch(prefix: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  await docker(['volume', 'prune', '--force', '--all', '--filter', `label=${TAG}`]);
  for (const d of dirs) {
    // Content copied or chowned into subuids can only be deleted from inside a user namespace.
    const ok = await rm(d, { recursive: true, force: true }).then(() => true, () => false);
    if (!ok) await runProcess('unshare', ['--user', '--map-auto', '--map-root-user', 'rm', '-rf', d]);
  }
});

async function ok(args: string[]): Promise<string> {
  const r = await docker(args);
  expect(r.stderr, args.join(' ')).toBe('');
  expect(r.code, args.join(' ')).toBe(0);
  return r.stdout.trim();
}

describe('docker volume (CLI)', () => {
  it('create with labels, inspect, and create again returns the same volume', async () => {
    expect(await ok(['volume', 'create', '--label', TAG, '--label', 'color=blue', 'cli-vol-1'])).toBe('cli-vol-1');
    const [v] = JSON.parse(await ok(['volume', 'inspect', 'cli-vol-1'])) as Record<string, unknown>[];
    assertMatchesSchema(volumeSchema, v);
    expect(v).toMatchObject({ Name: 'cli-vol-1', Driver: 'local', Scope: 'local', Labels: { color: 'blue' }, Options: {} });
    expect(String(v?.Mountpoint)).toMatch(/\/volumes\/cli-vol-1\/_data$/);
    expect(String(v?.CreatedAt)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(await ok(['volume', 'create', '--label', TAG, 'cli-vol-1'])).toBe('cli-vol-1');
    expect(await ok(['volume', 'inspect', '--format', '{{.Labels.color}}', 'cli-vol-1'])).toBe('blue');
  });

  it('create -o type=tmpfs keeps its options; unmountable types are refused clearly', async () => {
    await ok(['volume', 'create', '--label', TAG, '-o', 'type=tmpfs', '-o', 'o=size=1m', 'cli-tmpfs']);
    expect(JSON.parse(await ok(['volume', 'inspect', '--format', '{{json .Options}}', 'cli-tmpfs']))).toEqual({ type: 'tmpfs', o: 'size=1m' });
    const nfs = await docker(['volume', 'create', '-o', 'type=nfs', '-o', 'o=addr=127.0.0.1', '-o', 'device=:/export', 'cli-nfs']);
    expect(nfs.code).not.toBe(0);
    expect(nfs.stderr).toContain('volume type "nfs" is not supported by the rootless engine');
    const bind = await docker(['volume', 'create', '-o', 'type=none', '-o', 'o=bind', '-o', 'device=/root', 'cli-bind-root']);
    expect(bind.code).not.toBe(0);
    expect(bind.stderr).toMatch(/bind source path \/root is not readable by the user running the rootless engine|bind source path does not exist/);
    const host = await scratch('burrow-vol-bind-');
    await ok(['volume', 'create', '--label', TAG, '-o', 'type=none', '-o', 'o=bind', '-o', `device=${host}`, 'cli-bind']);
  });

  it('ls with filters and --format', async () => {
    await ok(['volume', 'create', '--label', TAG, '--label', 'color=red', 'cli-vol-2']);
    const byLabel = await ok(['volume', 'ls', '--filter', `label=${TAG}`, '--filter', 'label=color=red', '--format', '{{.Name}} {{.Driver}}']);
    expect(byLabel.split('\n')).toEqual(['cli-vol-2 local']);
    const byName = await ok(['volume', 'ls', '-q', '--filter', 'name=cli-vol-']);
    expect(byName.split('\n')).toEqual(expect.arrayContaining(['cli-vol-1', 'cli-vol-2']));
    expect(await ok(['volume', 'ls', '-q', '--filter', 'driver=nfs'])).toBe('');
    const dangling = await ok(['volume', 'ls', '-q', '--filter', 'dangling=true', '--filter', `label=${TAG}`]);
    expect(dangling.split('\n')).toContain('cli-vol-2');
    expect(await ok(['volume', 'ls', '-q', '--filter', 'dangling=false', '--filter', `label=${TAG}`])).toBe('');
    const json = JSON.parse((await ok(['volume', 'ls', '--filter', 'name=cli-vol-2', '--format', 'json'])).split('\n')[0] ?? '{}') as Record<string, unknown>;
    expect(json).toMatchObject({ Name: 'cli-vol-2', Driver: 'local', Scope: 'local' });
  });

  it('rm removes; a missing volume is an error with dockerd text; rm -f of a missing one succeeds', async () => {
    await ok(['volume', 'create', '--label', TAG, 'cli-rm']);
    expect(await ok(['volume', 'rm', 'cli-rm'])).toBe('cli-rm');
    const again = await docker(['volume', 'rm', 'cli-rm']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('get cli-rm: no such volume');
    const inspect = await docker(['volume', 'inspect', 'cli-rm']);
    expect(inspect.code).not.toBe(0);
    expect(inspect.stderr).toContain('no such volume');
    expect((await docker(['volume', 'rm', '-f', 'cli-rm'])).code).toBe(0);
  });

  it('prune removes anonymous volumes only, and named ones with --all', async () => {
    const label = `prune=${process.pid}`;
    await ok(['volume', 'create', '--label', TAG, '--label', label, 'prune-named']);
    const anon = await ok(['volume', 'create', '--label', TAG, '--label', label, '--label', 'com.docker.volume.anonymous=']);
    expect(anon).toMatch(/^[0-9a-f]{64}$/);
    const first = await ok(['volume', 'prune', '--force', '--filter', `label=${label}`]);
    expect(first).toContain(anon);
    expect(first).not.toContain('prune-named');
    expect(await ok(['volume', 'ls', '-q', '--filter', `label=${label}`])).toBe('prune-named');
    const all = await ok(['volume', 'prune', '--force', '--all', '--filter', `label=${label}`]);
    expect(all).toContain('prune-named');
    expect(await ok(['volume', 'ls', '-q', '--filter', `label=${label}`])).toBe('');
  });

  it('refuses invalid names with dockerd wording, and ../ cannot escape the volumes directory', async () => {
    const short = await docker(['volume', 'create', 'x']);
    expect(short.code).not.toBe(0);
    expect(short.stderr).toContain('create x: volume name is too short, names should be at least two alphanumeric characters');
    const slash = await docker(['volume', 'create', 'x/y']);
    expect(slash.stderr).toContain(
      'create x/y: "x/y" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path',
    );
    const escape = await rawRequest(bed.socket, 'POST', '/v1.50/volumes/create', JSON.stringify({ Name: '../../escape' }));
    expect(escape.status).toBe(400);
    expect(JSON.parse(escape.body).message).toContain('"../../escape" includes invalid characters');
    for (const [method, path] of [['GET', '/volumes/..%2F..%2Fimages'], ['DELETE', '/volumes/..%2Fvolumes'], ['DELETE', '/volumes/..']]) {
      const r = await rawRequest(bed.socket, method, path);
      expect(r.status, `${method} ${path}`).toBe(404);
    }
    expect(existsSync(join(tmpdir(), 'escape'))).toBe(false);
  });
});

describe('volume API', () => {
  it('create answers 201 with the Volume; list answers Volumes and Warnings; inspect 404 text', async () => {
    const created = await rawRequest(bed.socket, 'POST', '/v1.50/volumes/create', JSON.stringify({ Name: 'api-vol', Labels: { [TAG.split('=')[0] ?? '']: String(process.pid) } }));
    expect(created.status).toBe(201);
    assertMatchesSchema(volumeSchema, JSON.parse(created.body));
    const list = await rawRequest(bed.socket, 'GET', `/v1.50/volumes?filters=${encodeURIComponent(JSON.stringify({ name: ['api-vol'] }))}`);
    expect(list.status).toBe(200);
    const body = JSON.parse(list.body) as { Volumes: { Name: string }[]; Warnings: string[] };
    expect(body.Warnings).toEqual([]);
    expect(body.Volumes.map((v) => v.Name)).toEqual(['api-vol']);
    const missing = await rawRequest(bed.socket, 'GET', '/v1.50/volumes/nope-vol');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toEqual({ message: 'get nope-vol: no such volume' });
    const del = await rawRequest(bed.socket, 'DELETE', '/v1.50/volumes/api-vol');
    expect(del.status).toBe(204);
    expect((await rawRequest(bed.socket, 'DELETE', '/v1.50/volumes/api-vol')).status).toBe(404);
    const plugin = await rawRequest(bed.socket, 'POST', '/v1.50/volumes/create', JSON.stringify({ Name: 'plug-vol', Driver: 'convoy' }));
    expect(plugin.status).toBe(404);
    expect(JSON.parse(plugin.body).message).toBe('error looking up volume plugin convoy: plugin "convoy" not found');
  });

  it('/system/df reports volumes with UsageData', async () => {
    await ok(['volume', 'create', '--label', TAG, 'df-vol']);
    const r = await rawRequest(bed.socket, 'GET', '/v1.50/system/df');
    expect(r.status).toBe(200);
    const df = JSON.parse(r.body) as { Volumes: { Name: string; UsageData: { Size: number; RefCount: number } }[]; Images: unknown[] };
    expect(df.Images).toEqual([]);
    expect(df.Volumes.find((v) => v.Name === 'df-vol')?.UsageData).toEqual({ Size: 0, RefCount: 0 });
    const only = JSON.parse((await rawRequest(bed.socket, 'GET', '/v1.50/system/df?type=image')).body) as { Volumes: unknown };
    expect(only.Volumes).toBeNull();
    const cli = await docker(['system', 'df', '-v']);
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain('df-vol');
  });
});

describe('docker-py volumes', () => {
  it('create/list/get/remove/prune', async () => {
    const [key, value] = TAG.split('=');
    const script = `
import docker, json, os
c = docker.DockerClient(base_url=os.environ["DOCKER_HOST"])
v = c.volumes.create(name="py-vol", labels={"${key}": "${value}", "py": "1"})
out = {"created": v.name, "labels": v.attrs["Labels"]}
out["listed"] = sorted(x.name for x in c.volumes.list(filters={"label": "py=1"}))
out["got"] = c.volumes.get("py-vol").attrs["Mountpoint"].endswith("/py-vol/_data")
anon = c.volumes.create(labels={"${key}": "${value}", "py": "1", "com.docker.volume.anonymous": ""})
out["pruned"] = c.volumes.prune(filters={"label": "py=1"})["VolumesDeleted"] == [anon.name]
c.volumes.get("py-vol").remove()
try:
    c.volumes.get("py-vol")
    out["gone"] = False
except docker.errors.NotFound:
    out["gone"] = True
print(json.dumps(out))
`;
    const r = await dockerPy(bed.dockerHost, script);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ created: 'py-vol', labels: { [key ?? '']: value, py: '1' }, listed: ['py-vol'], got: true, pruned: true, gone: true });
  });
});

describe('volume data is never lost', () => {
  it('survives a clean restart and kill -9 of the daemon', async () => {
    const dir = await scratch('burrow-vol-daemon-');
    let daemon = await startDaemon({ dir });
    try {
      const cli = dockerCli(daemon.dockerHost);
      expect((await cli(['volume', 'create', '--label', 'keep=1', 'keeper'])).code).toBe(0);
      const mountpoint = (await cli(['volume', 'inspect', '--format', '{{.Mountpoint}}', 'keeper'])).stdout.trim();
      // The volume's root is the user on the host, so the user can put data there directly.
      await writeFile(join(mountpoint, 'data.txt'), 'hello');
      expect(await daemon.stop()).toBe(0);

      daemon = await startDaemon({ dir });
      const again = dockerCli(daemon.dockerHost);
      expect((await again(['volume', 'inspect', '--format', '{{.Labels.keep}} {{.Mountpoint}}', 'keeper'])).stdout.trim()).toBe(`1 ${mountpoint}`);
      expect(await readFile(join(mountpoint, 'data.txt'), 'utf8')).toBe('hello');
      expect((await again(['volume', 'create', 'just-before-crash'])).code).toBe(0);
      await daemon.kill();

      daemon = await startDaemon({ dir });
      const third = dockerCli(daemon.dockerHost);
      expect((await third(['volume', 'ls', '-q'])).stdout.trim().split('\n').sort()).toEqual(['just-before-crash', 'keeper']);
      expect(await readFile(join(mountpoint, 'data.txt'), 'utf8')).toBe('hello');
      expect((await third(['volume', 'rm', 'keeper', 'just-before-crash'])).code).toBe(0);
      expect(existsSync(mountpoint)).toBe(false);
    } finally {
      await daemon.stop();
    }
  });
});

describe('volume driver mounts inside a user namespace', () => {
  it('tmpfs size limits, bind-style volumes, copy-up with ownership, :U chown, in-use refusal', async () => {
    const dir = await scratch('burrow-vol-probe-');
    const probe = join(repoRoot, 'dist', 'test', 'harness', 'volume-probe.js');
    const r = await runProcess('unshare', ['--user', '--map-auto', '--map-root-user', '--mount', process.execPath, probe, dir]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      tmpfsMounted: true,
      tmpfsSecondPrepareSamePath: true,
      tmpfsOverflow: 'ENOSPC',
      tmpfsUnmountedOnRemove: true,
      bindSeesHost: 'precious',
      hostDataAfterRemove: 'precious',
      missingDevice: `bind source path does not exist: ${join(dir, 'nope')}`,
      copied: true,
      copiedOwner: '1000:1000',
      copiedRootMode: '750',
      copiedAgainIntoNonEmpty: false,
      chownedOwner: '2000:3000',
      inUse: '409 remove copyvol: volume is in use - [c1, c2]',
      left: [],
    });
  });
});
