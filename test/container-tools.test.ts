import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerCli, dockerPyArchiveRoundTrip, rawRequest, runProcess } from './harness/clients.js';
import { isolatedTestbed } from './harness/isolated.js';
import { writeTar } from './harness/tar.js';
import { containerKit } from './harness/container-kit.js';

const bed = await isolatedTestbed();
const docker = dockerCli(bed.dockerHost);
const busybox = bed.images.busybox.reference;
const { uniqueName, removeAll } = containerKit(docker);
const images = new Set<string>();
let host = '';

async function ok(args: string[]): Promise<string> {
  const r = await docker(args);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

/** A long-running container (sleep) to copy into and out of. */
async function sleeper(prefix: string): Promise<string> {
  const name = uniqueName(prefix);
  await ok(['run', '-d', '--name', name, busybox, 'sleep', '300']);
  return name;
}

/** PUT /containers/{id}/archive with a raw tar body. */
function putArchive(container: string, path: string, body: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath: bed.socket, method: 'PUT', path: `/containers/${container}/archive?path=${encodeURIComponent(path)}`, headers: { 'Content-Type': 'application/x-tar', 'Content-Length': String(body.length) } },
      (res) => {
        let text = '';
        res.on('data', (b: Buffer) => (text += b.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

beforeAll(async () => {
  await ok(['pull', busybox]);
  host = await mkdtemp(join(tmpdir(), 'burrow-tools-'));
});

afterAll(async () => {
  await removeAll();
  for (const image of images) await docker(['rmi', '-f', image]);
  if (host) await rm(host, { recursive: true, force: true });
});

describe('docker cp', () => {
  it('copies a file, a directory and a symlink into a running container and back out', async () => {
    const c = await sleeper('cp');
    const src = join(host, 'in');
    await mkdir(join(src, 'dir', 'sub'), { recursive: true });
    await writeFile(join(src, 'file.txt'), 'file content\n');
    await writeFile(join(src, 'dir', 'sub', 'nested.txt'), 'nested\n');
    await symlink('file.txt', join(src, 'link'));

    await ok(['cp', join(src, 'file.txt'), `${c}:/tmp/file.txt`]);
    await ok(['cp', join(src, 'dir'), `${c}:/tmp/`]);
    await ok(['cp', join(src, 'link'), `${c}:/tmp/link`]);

    const out = join(host, 'out');
    await mkdir(out);
    await ok(['cp', `${c}:/tmp/file.txt`, join(out, 'file.txt')]);
    expect(await readFile(join(out, 'file.txt'), 'utf8')).toBe('file content\n');
    await ok(['cp', `${c}:/tmp/dir`, join(out, 'dir')]);
    expect(await readFile(join(out, 'dir', 'sub', 'nested.txt'), 'utf8')).toBe('nested\n');
    await ok(['cp', `${c}:/tmp/link`, join(out, 'link')]);
    expect((await lstat(join(out, 'link'))).isSymbolicLink()).toBe(true);
    expect(await readlink(join(out, 'link'))).toBe('file.txt');
    // -L follows the link inside the container.
    await ok(['cp', '-L', `${c}:/tmp/link`, join(out, 'followed')]);
    expect(await readFile(join(out, 'followed'), 'utf8')).toBe('file content\n');
    // An image symlink (/bin/sh -> busybox) comes out as a link.
    await ok(['cp', `${c}:/bin/sh`, join(out, 'sh')]);
    expect(await readlink(join(out, 'sh'))).toBe('busybox');
  });

  it('copies into and out of a stopped container, which then sees the file', async () => {
    const name = uniqueName('cp-stopped');
    await ok(['create', '--name', name, busybox, 'cat', '/data/hello.txt']);
    await writeFile(join(host, 'hello.txt'), 'hello stopped\n');
    await ok(['cp', join(host, 'hello.txt'), `${name}:/root/`]);
    const back = join(host, 'back.txt');
    await ok(['cp', `${name}:/root/hello.txt`, back]);
    expect(await readFile(back, 'utf8')).toBe('hello stopped\n');
    await mkdir(join(host, 'data'));
    await writeFile(join(host, 'data', 'hello.txt'), 'from data\n');
    await ok(['cp', join(host, 'data'), `${name}:/`]);
    const run = await docker(['start', '-a', name]);
    expect(run.stdout).toBe('from data\n');
    expect(run.code).toBe(0);
  });

  it('fails with dockerd\'s message for a missing path', async () => {
    const c = await sleeper('cp-missing');
    const r = await docker(['cp', `${c}:/no/such/file`, join(host, 'never')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`Could not find the file /no/such/file in container ${c}`);
    const head = await rawRequest(bed.socket, 'HEAD', `/containers/${c}/archive?path=/no/such/file`);
    expect(head.status).toBe(404);
  });

  it('answers HEAD with the path stat header and PUT with dockerd\'s errors', async () => {
    const c = await sleeper('cp-stat');
    const head = await rawRequest(bed.socket, 'HEAD', `/containers/${c}/archive?path=/etc`);
    expect(head.status).toBe(200);
    const stat = JSON.parse(Buffer.from(String(head.headers['x-docker-container-path-stat']), 'base64').toString()) as Record<string, unknown>;
    expect(stat.name).toBe('etc');
    expect(Number(stat.mode) >= 2 ** 31).toBe(true);
    expect(Number(stat.mode) % 512).toBe(0o755);
    const sh = await rawRequest(bed.socket, 'HEAD', `/containers/${c}/archive?path=/bin/sh`);
    const link = JSON.parse(Buffer.from(String(sh.headers['x-docker-container-path-stat']), 'base64').toString()) as Record<string, unknown>;
    expect(link.linkTarget).toBe('/bin/busybox');
    expect(Number(link.mode) & 2 ** 27).toBeTruthy();

    const tar = writeTar([{ type: 'file', name: 'x', content: 'x' }]);
    const notDir = await putArchive(c, '/etc/passwd', tar);
    expect(notDir.status).toBe(400);
    expect(JSON.parse(notDir.body)).toEqual({ message: 'extraction point is not a directory' });
    const missing = await putArchive(c, '/nope', tar);
    expect(missing.status).toBe(404);
    const ro = uniqueName('cp-ro');
    await ok(['create', '--read-only', '--name', ro, busybox, 'true']);
    const refused = await putArchive(ro, '/tmp', tar);
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toEqual({ message: 'container rootfs is marked read-only' });
  });

  it('writes nothing outside the container for a hostile tar, and resolves symlinks inside the root', async () => {
    const c = await sleeper('cp-hostile');
    const marker = `burrow-escape-${process.pid}`;
    const hostile = writeTar([
      { type: 'file', name: `../../${marker}`, content: 'escaped' },
      { type: 'file', name: `../../../../../../../../tmp/${marker}`, content: 'escaped' },
      { type: 'symlink', name: 'up', target: '/tmp' },
      { type: 'file', name: `up/${marker}`, content: 'through the new link' },
      { type: 'file', name: 'fine.txt', content: 'fine' },
    ]);
    const r = await putArchive(c, '/', hostile);
    expect(r.status).toBe(400);
    expect(existsSync(join('/tmp', marker))).toBe(false);
    const found = await runProcess('find', [bed.privateDir, '-name', marker]);
    expect(found.stdout.trim()).toBe('');

    // An absolute symlink already in the container resolves inside its root, not on the host.
    expect((await putArchive(c, '/', writeTar([{ type: 'symlink', name: 'abs', target: '/tmp' }]))).status).toBe(200);
    expect((await putArchive(c, '/abs', writeTar([{ type: 'file', name: marker, content: 'inside' }]))).status).toBe(200);
    expect(existsSync(join('/tmp', marker))).toBe(false);
    await ok(['cp', `${c}:/tmp/${marker}`, join(host, marker)]);
    expect(await readFile(join(host, marker), 'utf8')).toBe('inside');
  });
});

describe('docker cp from a container being removed', () => {
  it('finishes the archive it started while rm -f waits for it, as dockerd holds the container for the copy', async () => {
    for (const running of [true, false]) {
      const name = uniqueName(running ? 'cprm-run' : 'cprm-stopped');
      await ok(['run', '-d', '--name', name, busybox, 'sh', '-c', `head -c ${24 << 20} /dev/urandom > /big; touch /ready; ${running ? 'sleep 300' : 'true'}`]);
      if (running) {
        for (let i = 0; i < 300 && (await docker(['exec', name, 'test', '-e', '/ready'])).code !== 0; i++) await new Promise((r) => setTimeout(r, 100));
      } else await ok(['wait', name]);
      // The client reads a little, stops reading while the container is force-removed, then reads the rest.
      let got = 0;
      let failed: unknown;
      let removedAt = 0;
      let resumedAt = 0;
      let removal: Promise<{ code: number | null; stderr: string }> | undefined;
      const ended = new Promise<void>((resolve) => {
        const req = request({ socketPath: bed.socket, path: `/containers/${name}/archive?path=/big` }, (res) => {
          expect(res.statusCode).toBe(200);
          res.once('data', (b: Buffer) => {
            got += b.length;
            res.pause();
            removal = docker(['rm', '-f', name]).then((r) => {
              removedAt = Date.now();
              return r;
            });
            setTimeout(() => {
              resumedAt = Date.now();
              res.on('data', (c: Buffer) => (got += c.length));
              res.resume();
            }, 1500);
          });
          res.on('end', () => resolve());
          res.on('error', (err) => {
            failed = err;
            resolve();
          });
          res.on('aborted', () => {
            failed = new Error('aborted');
            resolve();
          });
        });
        req.on('error', (err) => {
          failed = err;
          resolve();
        });
        req.end();
      });
      await ended;
      expect(failed, running ? 'running' : 'stopped').toBeUndefined();
      // The file, its header and the tar's end: all of it.
      expect(got).toBeGreaterThanOrEqual((24 << 20) + 512 + 1024);
      const rm = await removal;
      expect(rm?.code, rm?.stderr).toBe(0);
      // The removal waited for the client to read the archive (24 MiB do not fit in the pipes and socket buffers).
      expect(removedAt).toBeGreaterThanOrEqual(resumedAt);
      expect((await docker(['inspect', name])).code).not.toBe(0);
    }
  });
});

describe('PUT archive compression', () => {
  it('extracts gzip, bzip2 and xz tars', async () => {
    const c = await sleeper('cp-compressed');
    for (const [tool, flag] of [['gzip', '-c'], ['bzip2', '-c'], ['xz', '-c']] as const) {
      const plain = join(host, `${tool}.tar`);
      await writeFile(plain, writeTar([{ type: 'file', name: `${tool}.txt`, content: `${tool}\n` }]));
      const packed = await new Promise<Buffer>((resolve, reject) => {
        const chunks: Buffer[] = [];
        const child = spawn(tool, [flag, plain]);
        child.stdout.on('data', (b: Buffer) => chunks.push(b));
        child.on('error', reject);
        child.on('close', () => resolve(Buffer.concat(chunks)));
      });
      expect((await putArchive(c, '/tmp', packed)).status).toBe(200);
      await ok(['cp', `${c}:/tmp/${tool}.txt`, join(host, `${tool}.out`)]);
      expect(await readFile(join(host, `${tool}.out`), 'utf8')).toBe(`${tool}\n`);
    }
  });
});

describe('diff, export, commit', () => {
  it('docker diff lists added, changed and deleted files', async () => {
    const name = uniqueName('diff');
    await ok(['run', '--name', name, busybox, 'sh', '-c', 'echo new > /added; echo more >> /etc/passwd; rm /etc/group; mkdir -p /newdir/sub']);
    const diff = (await ok(['diff', name])).trim().split('\n');
    expect(diff).toEqual(['A /added', 'C /etc', 'D /etc/group', 'C /etc/passwd', 'A /newdir', 'A /newdir/sub']);
  });

  it('a container that never ran has no changes (null, as dockerd) and commits to an image with no new layer', async () => {
    const name = uniqueName('fresh');
    await ok(['create', '--name', name, busybox, 'true']);
    const r = await rawRequest(bed.socket, 'GET', `/containers/${name}/changes`);
    expect(r.status).toBe(200);
    expect(r.body).toBe('null');
    const image = `burrow-commit-fresh-${process.pid}:v1`;
    images.add(image);
    await ok(['commit', name, image]);
    const layers = async (ref: string): Promise<string> => (await ok(['image', 'inspect', '--format', '{{len .RootFS.Layers}}', ref])).trim();
    expect(await layers(image)).toBe(await layers(busybox));
  });

  it('docker export | tar t lists the rootfs', async () => {
    const name = uniqueName('export');
    await ok(['run', '--name', name, busybox, 'touch', '/exported-marker']);
    const tarFile = join(host, 'export.tar');
    await ok(['export', '-o', tarFile, name]);
    const list = await runProcess('tar', ['-tf', tarFile]);
    const names = list.stdout.split('\n');
    expect(names).toContain('bin/busybox');
    expect(names).toContain('etc/passwd');
    expect(names).toContain('exported-marker');
  });

  it('docker commit makes an image that runs and sees the change', async () => {
    const name = uniqueName('commit');
    const image = `burrow-commit-${process.pid}:v1`;
    images.add(image);
    await ok(['run', '--name', name, busybox, 'sh', '-c', 'echo committed > /hello; rm /etc/group']);
    const id = (await ok(['commit', '--change', 'CMD ["cat","/hello"]', '-m', 'a message', name, image])).trim();
    expect(id).toMatch(/^sha256:[a-f0-9]{64}$/);
    const run = await docker(['run', '--rm', image]);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('committed\n');
    const gone = await docker(['run', '--rm', image, 'ls', '/etc/group']);
    expect(gone.code).not.toBe(0);
    const history = await ok(['history', '--no-trunc', '--format', '{{.CreatedBy}}|{{.Comment}}', image]);
    expect(history.split('\n')[0]).toBe('sh -c echo committed > /hello; rm /etc/group|a message');
    const cmd = await ok(['image', 'inspect', '--format', '{{json .Config.Cmd}}', image]);
    expect(cmd.trim()).toBe('["cat","/hello"]');
  });

  it('commit freezes a running container for the commit (pause=true, the default) and leaves it running', async () => {
    const c = await sleeper('commit-live');
    await ok(['exec', c, 'sh', '-c', 'echo live > /live']);
    const image = `burrow-commit-live-${process.pid}:v1`;
    images.add(image);
    const since = Date.now() / 1000;
    await ok(['commit', c, image]);
    const noPause = `burrow-commit-live-${process.pid}:v2`;
    images.add(noPause);
    await ok(['commit', '--pause=false', c, noPause]);
    const until = (Date.now() / 1000 + 0.2).toFixed(3);
    const events = await ok(['events', '--since', since.toFixed(3), '--until', until, '--filter', `container=${c}`, '--format', '{{.Action}}']);
    // dockerd's order: the commit event before the thaw; the second commit froze nothing.
    expect(events.trim().split('\n')).toEqual(['pause', 'commit', 'unpause', 'commit']);
    expect((await ok(['inspect', '--format', '{{.State.Status}} {{.State.Paused}}', c])).trim()).toBe('running false');
    expect((await docker(['run', '--rm', noPause, 'cat', '/live'])).stdout).toBe('live\n');
  });

  // A hundred commits of one container, which its lock takes one at a time: minutes on a loaded host.
  it('commits a container that exits while it is being frozen for the commit, never answering 500', { timeout: 240_000 }, async () => {
    for (let i = 0; i < 4; i++) {
      const c = uniqueName('commit-exiting');
      await ok(['run', '-d', '--name', c, busybox, 'sh', '-c', `echo ${i} > /mark; sleep 0.${i + 2}`]);
      // Commits every 20 ms across the container's exit: some find it running and then not.
      const replies = await Promise.all(
        Array.from({ length: 25 }, async (_, k) => {
          await new Promise((r) => setTimeout(r, k * 20));
          return rawRequest(bed.socket, 'POST', `/commit?container=${c}&pause=true`);
        }),
      );
      for (const r of replies) expect(r.status, r.body).toBe(201);
      const image = (JSON.parse((replies[replies.length - 1] as { body: string }).body) as { Id: string }).Id;
      expect((await docker(['run', '--rm', image, 'cat', '/mark'])).stdout).toBe(`${i}\n`);
      for (const r of replies) await docker(['rmi', '-f', (JSON.parse(r.body) as { Id: string }).Id]);
    }
  });
});

describe('docker-py', () => {
  it('put_archive and get_archive', async () => {
    const c = await sleeper('py');
    const r = await dockerPyArchiveRoundTrip(bed.dockerHost, c, '/tmp', true);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('py.txt py.txt 12 from python');
  });
});
