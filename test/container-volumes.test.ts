import { mkdtemp, stat, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerCli, rawRequest, runProcess } from './harness/clients.js';
import { isolatedTestbed } from './harness/isolated.js';
import { containerKit } from './harness/container-kit.js';
import { removeTree } from './harness/cleanup.js';

const bed = await isolatedTestbed();
const docker = dockerCli(bed.dockerHost);
const busybox = bed.images.busybox.reference;
const tag = `${process.pid}`;

const { uniqueName: name, created: containers, ok, removeAll } = containerKit(docker);
const volumes = new Set<string>();
const dirs: string[] = [];

beforeAll(async () => {
  await ok(['pull', busybox]);
});

afterAll(async () => {
  await removeAll();
  for (const v of volumes) await docker(['volume', 'rm', '-f', v]);
  for (const d of dirs) await removeTree(d);
});

describe('volumes in containers', () => {
  it('a named volume written by one container is read by another, survives rm, and is in use while referenced', async () => {
    const vol = `data-${tag}`;
    volumes.add(vol);
    const writer = name('writer');
    await ok(['run', '--name', writer, '-v', `${vol}:/data`, busybox, 'sh', '-c', 'echo kept > /data/file']);
    expect(await ok(['volume', 'ls', '--format', '{{.Name}}'])).toContain(vol);
    const refused = await rawRequest(bed.socket, 'DELETE', `/volumes/${vol}`);
    expect(refused.status).toBe(409);
    await ok(['rm', writer]);
    containers.delete(writer);
    expect(await ok(['run', '--rm', '-v', `${vol}:/data`, busybox, 'cat', '/data/file'])).toBe('kept');
    const reader = name('inspect-mounts');
    await ok(['run', '--name', reader, '-v', `${vol}:/data:ro`, busybox, 'true']);
    const mounts = JSON.parse(await ok(['inspect', '--format', '{{json .Mounts}}', reader])) as Record<string, unknown>[];
    expect(mounts).toEqual([expect.objectContaining({ Type: 'volume', Name: vol, Destination: '/data', RW: false, Driver: 'local' })]);
  });

  it('a bind mount: files written by the container root belong to the user on the host; :ro refuses writes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'burrow-bind-'));
    dirs.push(dir);
    await ok(['run', '--rm', '-v', `${dir}:/data`, busybox, 'sh', '-c', 'echo from-container > /data/out']);
    const st = await stat(join(dir, 'out'));
    expect(st.uid).toBe(process.getuid?.());
    expect(await readFile(join(dir, 'out'), 'utf8')).toBe('from-container\n');
    await writeFile(join(dir, 'in'), 'from-host\n');
    expect(await ok(['run', '--rm', '-v', `${dir}:/data:ro`, busybox, 'cat', '/data/in'])).toBe('from-host');
    const ro = await docker(['run', '--rm', '-v', `${dir}:/data:ro`, busybox, 'sh', '-c', 'echo x > /data/nope']);
    expect(ro.code).not.toBe(0);
    expect(ro.stderr).toMatch(/Read-only file system/);
  });

  it("an image VOLUME gets an anonymous volume holding the image's content; rm -v removes it", async () => {
    const base = name('volume-base');
    await ok(['run', '--name', base, busybox, 'sh', '-c', 'mkdir -p /var/data && echo seeded > /var/data/seed']);
    const image = `burrow-test/with-volume:${tag}`;
    await ok(['commit', '--change', 'VOLUME /var/data', base, image]);
    const user = name('volume-user');
    expect(await ok(['run', '--name', user, image, 'cat', '/var/data/seed'])).toBe('seeded');
    const anon = await ok(['inspect', '--format', '{{range .Mounts}}{{.Name}}{{end}}', user]);
    expect(anon).toMatch(/^[0-9a-f]{64}$/);
    expect(await ok(['volume', 'ls', '-q'])).toContain(anon);
    await ok(['rm', '-v', user]);
    containers.delete(user);
    expect(await ok(['volume', 'ls', '-q'])).not.toContain(anon);
    await ok(['rmi', image]);
  });

  it('--tmpfs limits its size; --mount volume-nocopy leaves a new volume empty', async () => {
    const full = await docker(['run', '--rm', '--tmpfs', '/scratch:size=1m', busybox, 'sh', '-c', 'dd if=/dev/zero of=/scratch/big bs=1024 count=2048']);
    expect(full.code).not.toBe(0);
    expect(full.stderr).toMatch(/No space left on device/);
    const vol = `nocopy-${tag}`;
    volumes.add(vol);
    expect(await ok(['run', '--rm', '--mount', `type=volume,src=${vol},dst=/home,volume-nocopy`, busybox, 'ls', '-A', '/home'])).toBe('');
    const copied = `copy-${tag}`;
    volumes.add(copied);
    expect(await ok(['run', '--rm', '--mount', `type=volume,src=${copied},dst=/home`, busybox, 'ls', '/home'])).toBe('nobody');
  });
});

describe('volume events and --volumes-from', () => {
  it('docker events --filter type=volume shows create, mount, unmount and destroy', async () => {
    const since = (Date.now() / 1000).toFixed(3);
    const vol = `ev-${tag}`;
    volumes.add(vol);
    await ok(['volume', 'create', vol]);
    const c = name('ev-user');
    const id = await ok(['run', '-d', '--name', c, '-v', `${vol}:/data:ro`, busybox, 'true']);
    await ok(['wait', c]);
    await ok(['rm', c]);
    containers.delete(c);
    await ok(['volume', 'rm', vol]);
    const until = (Date.now() / 1000 + 0.2).toFixed(3);
    const lines = (await ok(['events', '--since', since, '--until', until, '--filter', 'type=volume', '--filter', `volume=${vol}`, '--format', '{{json .}}'])).split('\n');
    const seen = lines.map((l) => JSON.parse(l) as { Action: string; Actor: { ID: string; Attributes: Record<string, string> } });
    expect(seen.map((e) => [e.Action, e.Actor.ID, e.Actor.Attributes])).toEqual([
      ['create', vol, { driver: 'local' }],
      ['mount', vol, { container: id, destination: '/data', driver: 'local', propagation: '', 'read/write': 'false' }],
      ['unmount', vol, { container: id, driver: 'local' }],
      ['destroy', vol, { driver: 'local' }],
    ]);
  });

  it('--volumes-from shares the other container\'s volumes and binds; :ro makes them read-only', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'burrow-volfrom-'));
    dirs.push(dir);
    await writeFile(join(dir, 'bound'), 'from-bind\n');
    const vol = `shared-${tag}`;
    volumes.add(vol);
    const src = name('vf-src');
    await ok(['run', '--name', src, '-v', `${vol}:/shared`, '-v', '/anon', '-v', `${dir}:/bind`, busybox, 'sh', '-c', 'echo named > /shared/f && echo anonymous > /anon/g']);
    const anon = await ok(['inspect', '--format', '{{range .Mounts}}{{if eq .Destination "/anon"}}{{.Name}}{{end}}{{end}}', src]);
    const user = name('vf-user');
    expect(await ok(['run', '--name', user, '--volumes-from', src, busybox, 'cat', '/shared/f', '/anon/g', '/bind/bound'])).toBe('named\nanonymous\nfrom-bind');
    const mounts = JSON.parse(await ok(['inspect', '--format', '{{json .Mounts}}', user])) as { Destination: string; Name?: string; RW: boolean }[];
    expect(mounts.map((m) => m.Destination).sort()).toEqual(['/anon', '/bind', '/shared']);
    expect(mounts.find((m) => m.Destination === '/anon')?.Name).toBe(anon);
    const ro = await docker(['run', '--rm', '--volumes-from', `${src}:ro`, busybox, 'sh', '-c', 'echo x > /shared/f']);
    expect(ro.code).not.toBe(0);
    expect(ro.stderr).toMatch(/Read-only file system/);
    // The anonymous volume is shared, so removing the first container with -v keeps it for the second.
    await ok(['rm', '-v', src]);
    containers.delete(src);
    expect(await ok(['volume', 'ls', '-q'])).toContain(anon);
    await ok(['rm', '-v', user]);
    containers.delete(user);
    expect(await ok(['volume', 'ls', '-q'])).not.toContain(anon);
    const missing = await docker(['create', '--volumes-from', `no-such-${tag}`, busybox, 'true']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain(`No such container: no-such-${tag}`);
  });
});

describe('docker-compose with a named volume', () => {
  it('keeps data across down/up and removes it with down -v', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'burrow-compose-vol-'));
    dirs.push(dir);
    const project = `cvol${tag}`;
    await writeFile(
      join(dir, 'docker-compose.yml'),
      ["version: '3.8'", 'services:', '  app:', `    image: ${busybox}`, "    command: ['sleep', '1000']", '    volumes:', '      - store:/store', 'volumes:', '  store: {}', ''].join('\n'),
    );
    const compose = (args: string[]) => runProcess('docker-compose', ['-f', join(dir, 'docker-compose.yml'), '-p', project, ...args], { env: { DOCKER_HOST: bed.dockerHost }, timeoutMs: 120_000 });
    try {
      expect((await compose(['up', '-d'])).code).toBe(0);
      expect((await compose(['exec', '-T', 'app', 'sh', '-c', 'echo persisted > /store/f'])).code).toBe(0);
      expect((await compose(['down'])).code).toBe(0);
      expect((await compose(['up', '-d'])).code).toBe(0);
      const read = await compose(['exec', '-T', 'app', 'cat', '/store/f']);
      expect(read.stdout.trim()).toBe('persisted');
      expect((await compose(['down', '-v'])).code).toBe(0);
      expect(await ok(['volume', 'ls', '--format', '{{.Name}}'])).not.toContain(`${project}_store`);
    } finally {
      await compose(['down', '-v']);
    }
  });
});
