import { chmod, mkdtemp, readdir, stat, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { request, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerCli, dockerPy, dockerPyArchiveRoundTrip, rawRequest, runProcess } from './harness/clients.js';
import { isolatedTestbed } from './harness/isolated.js';
import { containerKit, waitFor } from './harness/container-kit.js';
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

describe('docker cp sees volumes and bind mounts', () => {
  /** A bind source the container's root (the test user) and the daemon can write. */
  async function bindDir(prefix: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    await chmod(dir, 0o777);
    dirs.push(dir);
    return dir;
  }

  async function localFile(content: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'burrow-cp-src-'));
    dirs.push(dir);
    await chmod(dir, 0o777);
    const file = join(dir, 'f.txt');
    await writeFile(file, content);
    return file;
  }

  /** `docker cp container:path` into a fresh local dir; the copied entry's host path. */
  async function copyOut(container: string, path: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'burrow-cp-out-'));
    dirs.push(dir);
    await chmod(dir, 0o777);
    await ok(['cp', `${container}:${path}`, join(dir, 'out')]);
    return join(dir, 'out');
  }

  /** Mount lines of the daemon's mount namespace (the daemon process lives in it). */
  const daemonMounts = async (): Promise<string[]> => (await readFile(`/proc/${bed.daemonPid}/mountinfo`, 'utf8')).split('\n').filter((l) => l !== '');

  it('copies into and out of a named volume and a bind mount of a running container, leaving no mount behind', async () => {
    const vol = `cp-vol-${tag}`;
    volumes.add(vol);
    const dir = await bindDir('burrow-cp-bind-');
    const c = name('cp-running');
    await ok(['run', '-d', '--name', c, '-v', `${vol}:/vol`, '-v', `${dir}:/bind`, busybox, 'sh', '-c', 'echo made > /vol/made.txt && echo made-bind > /bind/made.txt && sleep 300']);
    await waitFor(async () => (await docker(['exec', c, 'test', '-f', '/bind/made.txt'])).code === 0);
    const id = await ok(['inspect', '--format', '{{.Id}}', c]);
    const merged = (await daemonMounts()).find((l) => l.includes(`/containers/${id}/merged `));
    // The daemon's namespace is where the container's overlay is mounted: what is seen here is the view's trace.
    expect(merged).toBeDefined();
    const containerMounts = await ok(['exec', c, 'cat', '/proc/self/mountinfo']);

    const src = await localFile('copied in\n');
    await ok(['cp', src, `${c}:/vol/in.txt`]);
    await ok(['cp', src, `${c}:/bind/in.txt`]);
    expect(await ok(['exec', c, 'cat', '/vol/in.txt', '/bind/in.txt'])).toBe('copied in\ncopied in');
    expect(await readFile(join(dir, 'in.txt'), 'utf8')).toBe('copied in\n');

    expect(await readFile(await copyOut(c, '/vol/made.txt'), 'utf8')).toBe('made\n');
    expect(await readFile(await copyOut(c, '/bind/made.txt'), 'utf8')).toBe('made-bind\n');
    expect((await readdir(await copyOut(c, '/vol'))).sort()).toEqual(['in.txt', 'made.txt']);
    // A symlink in the rootfs into the volume is followed in the container's view.
    await ok(['exec', c, 'ln', '-s', '/vol', '/to-vol']);
    expect(await readFile(await copyOut(c, '/to-vol/made.txt'), 'utf8')).toBe('made\n');

    // While a GET's body is open (and unread) the helper serving it has the volumes attached in a mount
    // namespace of its own: neither the daemon's namespace, nor `merged`, nor the container shows them;
    // a client that goes away takes it down.
    await ok(['exec', c, 'dd', 'if=/dev/zero', 'of=/vol/big', 'bs=1M', 'count=64']);
    const held = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request({ socketPath: bed.socket, method: 'GET', path: `/containers/${c}/archive?path=/vol` }, resolve);
      req.on('error', reject);
      req.end();
    });
    held.pause();
    expect(held.statusCode).toBe(200);
    expect((await daemonMounts()).filter((l) => l.includes(`/containers/${id}/merged/`))).toEqual([]);
    expect(await ok(['exec', c, 'cat', '/proc/self/mountinfo'])).toBe(containerMounts);
    held.destroy();
    await ok(['exec', c, 'rm', '/vol/big']);

    // Nothing stays mounted: not in the daemon's namespace, not in the container.
    // (A client may stop reading at the tar's end marker, before the daemon has unmounted: waited for.)
    const left = async (): Promise<string[]> => (await daemonMounts()).filter((l) => l.includes(`/containers/${id}/merged/`));
    await waitFor(async () => (await left()).length === 0).catch(async () => expect(await left()).toEqual([]));
    expect(await ok(['exec', c, 'cat', '/proc/self/mountinfo'])).toBe(containerMounts);
    // The files went into the volume and the bind, not into the container's own layer.
    const diff = await ok(['diff', c]);
    expect(diff).not.toMatch(/in\.txt|made\.txt/);
    // A second round and a forced removal work as usual.
    await ok(['cp', src, `${c}:/vol/again.txt`]);
    await ok(['rm', '-f', c]);
    containers.delete(c);
    expect(await ok(['run', '--rm', '-v', `${vol}:/vol`, busybox, 'cat', '/vol/in.txt', '/vol/again.txt'])).toBe('copied in\ncopied in');
    expect(await readFile(join(dir, 'made.txt'), 'utf8')).toBe('made-bind\n');
  });

  it('copies into and out of the volumes of a stopped container', async () => {
    const vol = `cp-stopped-${tag}`;
    volumes.add(vol);
    const dir = await bindDir('burrow-cp-stopped-');
    const c = name('cp-stopped');
    const script = 'cat /vol/in.txt /bind/in.txt 2>/dev/null; echo made > /vol/made.txt; echo made-bind > /bind/made.txt';
    await ok(['run', '--name', c, '-v', `${vol}:/vol`, '-v', `${dir}:/bind`, busybox, 'sh', '-c', script]);
    expect(await readFile(await copyOut(c, '/vol/made.txt'), 'utf8')).toBe('made\n');
    expect(await readFile(await copyOut(c, '/bind/made.txt'), 'utf8')).toBe('made-bind\n');
    await ok(['cp', await localFile('while stopped\n'), `${c}:/vol/in.txt`]);
    await ok(['cp', await localFile('while stopped too\n'), `${c}:/bind/in.txt`]);
    expect(await readFile(join(dir, 'in.txt'), 'utf8')).toBe('while stopped too\n');
    expect(await ok(['start', '-a', c])).toBe('while stopped\nwhile stopped too');
    const left = async (): Promise<string[]> => (await daemonMounts()).filter((l) => l.includes(dir) || l.includes(vol));
    await waitFor(async () => (await left()).length === 0).catch(async () => expect(await left()).toEqual([]));
  });

  it("refuses a copy into a read-only volume or bind with dockerd's message; a --read-only container takes one into a writable volume", async () => {
    const vol = `cp-ro-${tag}`;
    volumes.add(vol);
    const dir = await bindDir('burrow-cp-ro-');
    await writeFile(join(dir, 'kept.txt'), 'kept\n');
    const c = name('cp-ro');
    await ok(['run', '-d', '--name', c, '-v', `${vol}:/data:ro`, '-v', `${dir}:/rob:ro`, busybox, 'sleep', '300']);
    const src = await localFile('refused\n');
    for (const dest of ['/data/', '/rob/', '/rob/kept.txt']) {
      const refused = await docker(['cp', src, `${c}:${dest}`]);
      expect(refused.code, dest).not.toBe(0);
      expect(refused.stderr).toContain('mounted volume is marked read-only');
    }
    expect((await readdir(dir)).sort()).toEqual(['kept.txt']);
    expect(await readFile(join(dir, 'kept.txt'), 'utf8')).toBe('kept\n');
    // Reading from a read-only mount is fine.
    expect(await readFile(await copyOut(c, '/rob/kept.txt'), 'utf8')).toBe('kept\n');

    const rdo = name('cp-readonly-rootfs');
    const rw = `cp-rw-${tag}`;
    volumes.add(rw);
    await ok(['run', '-d', '--read-only', '--name', rdo, '-v', `${rw}:/data`, busybox, 'sleep', '300']);
    await ok(['cp', src, `${rdo}:/data/in.txt`]);
    expect(await ok(['exec', rdo, 'cat', '/data/in.txt'])).toBe('refused');
    const rootfs = await docker(['cp', src, `${rdo}:/tmp/`]);
    expect(rootfs.code).not.toBe(0);
    expect(rootfs.stderr).toContain('container rootfs is marked read-only');

    const py = await dockerPy(
      bed.dockerHost,
      `
import docker, io, tarfile
client = docker.from_env()
def tar(name, data):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w') as t:
        info = tarfile.TarInfo(name); info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    return buf.getvalue()
for name, path in ((${JSON.stringify(c)}, '/data'), (${JSON.stringify(rdo)}, '/tmp')):
    try:
        client.containers.get(name).put_archive(path, tar('x.txt', b'x'))
        print('accepted')
    except docker.errors.APIError as e:
        print(e.status_code, e.explanation)
`,
    );
    expect(py.stderr).toBe('');
    expect(py.stdout.trim().split('\n')).toEqual(['403 mounted volume is marked read-only', '403 container rootfs is marked read-only']);
  });

  it('docker-py put_archive and get_archive on a volume path', async () => {
    const vol = `cp-py-${tag}`;
    volumes.add(vol);
    const c = name('cp-py');
    await ok(['run', '-d', '--name', c, '-v', `${vol}:/vol`, busybox, 'sleep', '300']);
    const r = await dockerPyArchiveRoundTrip(bed.dockerHost, c, '/vol', false);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('py.txt py.txt 12 from python');
    expect(await ok(['run', '--rm', '-v', `${vol}:/vol`, busybox, 'cat', '/vol/py.txt'])).toBe('from python');
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
