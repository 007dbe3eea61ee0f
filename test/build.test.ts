import { chmod, rm, statfs, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import { dockerCli, dockerPy, rawRequest, runProcess } from './harness/clients.js';
import { isolatedTestbed } from './harness/isolated.js';
import { buildContexts } from './harness/build-context.js';
import { writeTar } from './harness/tar.js';

const bed = await isolatedTestbed();
const docker = dockerCli(bed.dockerHost);
const busybox = bed.images.busybox.reference;
const legacy = { DOCKER_BUILDKIT: '0' };

const { context, cleanup: removeContexts } = buildContexts('burrow-build-ctx');

async function inspect(name: string, format: string): Promise<string> {
  const r = await docker(['image', 'inspect', '--format', format, name]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

/** Container names/IDs on the daemon, to prove failed steps leave none. */
async function allContainers(): Promise<string[]> {
  const r = await docker(['ps', '-a', '-q', '--no-trunc']);
  return r.stdout.split('\n').filter((l) => l !== '');
}

beforeAll(async () => {
  const r = await docker(['pull', busybox]);
  expect(r.code, r.stderr).toBe(0);
});

afterAll(async () => {
  await removeContexts();
});

const MAIN_DOCKERFILE = `# syntax=docker/dockerfile:1
ARG BASE=${busybox}
FROM \${BASE}
ARG GREETING=hello
ENV APP_HOME=/srv/app \\
    MODE=prod
WORKDIR \${APP_HOME}
COPY --chown=65534:65534 greeting.txt ./
RUN echo "\${GREETING} from run" > /srv/app/run.txt && \\
    chown 65534 /srv/app/run.txt
USER 65534
CMD ["sh", "-c", "cat greeting.txt run.txt; echo mode=$MODE; id -u"]
EXPOSE 8080/tcp 53/udp
LABEL org.example.team="builders" version=1
HEALTHCHECK --interval=30s --timeout=5s --retries=2 CMD true
`;

describe('docker build (classic builder)', () => {
  it('builds every instruction; the image runs and inspect shows each setting; a rebuild uses the cache for every step', async () => {
    const dir = await context({ Dockerfile: MAIN_DOCKERFILE, 'greeting.txt': 'greetings\n', 'secret.txt': 'nope\n', '.dockerignore': 'secret.txt\n' });
    const first = await docker(['build', '-t', 't1', dir], { env: legacy });
    expect(first.code, first.stderr + first.stdout).toBe(0);
    expect(first.stdout).toMatch(/Step 1\/12 : ARG BASE=/);
    expect(first.stdout).toMatch(/ ---> Running in [0-9a-f]{12}\n/);
    expect(first.stdout).toMatch(/Removing intermediate container [0-9a-f]{12}\n/);
    expect(first.stdout).toMatch(/Successfully built [0-9a-f]{12}\n/);
    expect(first.stdout).toContain('Successfully tagged t1:latest');

    const run = await docker(['run', '--rm', 't1']);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('greetings\nhello from run\nmode=prod\n65534\n');
    const owner = await docker(['run', '--rm', 't1', 'stat', '-c', '%u:%g', '/srv/app/greeting.txt']);
    expect(owner.stdout.trim()).toBe('65534:65534');
    const ignored = await docker(['run', '--rm', 't1', 'ls', '/srv/app']);
    expect(ignored.stdout.split('\n')).not.toContain('secret.txt');

    expect(await inspect('t1', '{{json .Config.Env}}')).toContain('"APP_HOME=/srv/app"');
    expect(await inspect('t1', '{{json .Config.Env}}')).toContain('"MODE=prod"');
    expect(await inspect('t1', '{{.Config.WorkingDir}}')).toBe('/srv/app');
    expect(await inspect('t1', '{{.Config.User}}')).toBe('65534');
    expect(await inspect('t1', '{{json .Config.Cmd}}')).toBe('["sh","-c","cat greeting.txt run.txt; echo mode=$MODE; id -u"]');
    expect(JSON.parse(await inspect('t1', '{{json .Config.ExposedPorts}}'))).toEqual({ '8080/tcp': {}, '53/udp': {} });
    expect(JSON.parse(await inspect('t1', '{{json .Config.Labels}}'))).toEqual({ 'org.example.team': 'builders', version: '1' });
    expect(JSON.parse(await inspect('t1', '{{json .Config.Healthcheck}}'))).toEqual({ Test: ['CMD-SHELL', 'true'], Interval: 30e9, Timeout: 5e9, Retries: 2 });
    const history = await docker(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 't1']);
    expect(history.stdout).toContain('COPY --chown=65534:65534 file:');

    const second = await docker(['build', '-t', 't1', dir], { env: legacy });
    expect(second.code, second.stderr).toBe(0);
    const steps = second.stdout.match(/^Step \d+\/\d+ : /gm) ?? [];
    // Every step but the ARG before FROM and FROM itself is cached.
    expect(second.stdout.match(/ ---> Using cache/g)?.length).toBe(steps.length - 2);
    expect(second.stdout).not.toContain('Running in');
    expect(second.stdout.match(/Successfully built ([0-9a-f]{12})/)?.[1]).toBe(first.stdout.match(/Successfully built ([0-9a-f]{12})/)?.[1]);
    expect(await allContainers()).toEqual([]);
  });

  it('multi-stage: COPY --from a named stage, and --target stops at a stage', async () => {
    const dir = await context({
      Dockerfile: `FROM ${busybox} AS builder\nRUN mkdir /out && echo built > /out/artifact\nFROM ${busybox}\nCOPY --from=builder /out/artifact /artifact\nCMD ["cat", "/artifact"]\n`,
    });
    const r = await docker(['build', '-t', 'multi', dir], { env: legacy });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect((await docker(['run', '--rm', 'multi'])).stdout).toBe('built\n');
    // The CLI's default path: no DOCKER_BUILDKIT, no buildx; /_ping's Builder-Version 1 picks the classic builder.
    const t = await docker(['build', '--target', 'builder', '-t', 'multi-builder', dir]);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toContain('Step 1/2 :');
    expect((await docker(['run', '--rm', 'multi-builder', 'cat', '/out/artifact'])).stdout).toBe('built\n');
    expect((await docker(['run', '--rm', 'multi-builder', 'ls', '/artifact'])).code).not.toBe(0);
  });

  it('ONBUILD triggers run in the child; -q, --build-arg and --label', async () => {
    const parent = await context({ Dockerfile: `FROM ${busybox}\nONBUILD RUN echo triggered > /t\n` });
    expect((await docker(['build', '-t', 'onbuild-parent', parent], { env: legacy })).code).toBe(0);
    const child = await context({ Dockerfile: 'FROM onbuild-parent\nARG WHO=nobody\nRUN echo $WHO > /who\n' });
    const r = await docker(['build', '-q', '--build-arg', 'WHO=someone', '--label', 'extra=yes', '-t', 'onbuild-child', child], { env: legacy });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect((await docker(['run', '--rm', 'onbuild-child', 'cat', '/t', '/who'])).stdout).toBe('triggered\nsomeone\n');
    expect(await inspect('onbuild-child', '{{index .Config.Labels "extra"}}')).toBe('yes');
    expect(await inspect('onbuild-child', '{{json .Config.OnBuild}}')).toBe('null');
  });

  it('a failing RUN reports its exit code and leaves no container', async () => {
    const dir = await context({ Dockerfile: `FROM ${busybox}\nRUN echo before\nRUN exit 3\n` });
    const before = await allContainers();
    const r = await docker(['build', '-t', 'failing', dir], { env: legacy });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("The command '/bin/sh -c exit 3' returned a non-zero code: 3");
    expect(await allContainers()).toEqual(before);
    const raw = await rawRequest(bed.socket, 'POST', '/build?t=failing2', undefined, {});
    expect(raw.status).toBe(400);
  });

  it('docker-py images.build(path=…, tag=…)', async () => {
    const dir = await context({ Dockerfile: `FROM ${busybox}\nCOPY a.txt /a.txt\nCMD ["cat", "/a.txt"]\n`, 'a.txt': 'from python\n' });
    const r = await dockerPy(bed.dockerHost, `import docker\nc = docker.from_env()\nimg, logs = c.images.build(path=${JSON.stringify(dir)}, tag='pyimg')\nprint(img.id)\nprint(c.containers.run('pyimg', remove=True).decode(), end='')\n`);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^sha256:[0-9a-f]{64}\nfrom python\n$/);
  });

  it('dockerode buildImage of a tar stream (application/tar)', async () => {
    const client = new Docker({ socketPath: bed.socket });
    const tar = writeTar([
      { type: 'file', name: 'Dockerfile', content: `FROM ${busybox}\nADD bundle.tar /opt/\nRUN cat /opt/inner.txt\n` },
      { type: 'file', name: 'bundle.tar', content: writeTar([{ type: 'file', name: 'inner.txt', content: 'unpacked by ADD\n' }]) },
    ]);
    const stream = await client.buildImage(Readable.from([tar]), { t: 'dockerode-img' });
    const output = await new Promise<{ stream?: string; error?: string; aux?: { ID: string } }[]>((resolve, reject) => client.modem.followProgress(stream, (err, res) => (err ? reject(err) : resolve(res))));
    expect(output.some((m) => m.error)).toBe(false);
    expect(output.map((m) => m.stream ?? '').join('')).toContain('unpacked by ADD');
    expect(output.find((m) => m.aux)?.aux?.ID).toMatch(/^sha256:/);
    expect((await docker(['run', '--rm', 'dockerode-img', 'cat', '/opt/inner.txt'])).stdout).toBe('unpacked by ADD\n');
  });

  it('dockerode buildImage of a directory (a gzipped context): modes, times and links survive COPY', async () => {
    const client = new Docker({ socketPath: bed.socket });
    const dir = await context({ Dockerfile: `FROM ${busybox}\nCOPY app /app\nRUN /app/run.sh > /app/ran\n`, 'app/run.sh': '#!/bin/sh\necho ran\n' });
    await chmod(join(dir, 'app', 'run.sh'), 0o750);
    await utimes(join(dir, 'app', 'run.sh'), 1_600_000_000, 1_600_000_000);
    await symlink('run.sh', join(dir, 'app', 'start'));
    const stream = await client.buildImage({ context: dir, src: ['Dockerfile', 'app'] }, { t: 'dockerode-dir' });
    const output = await new Promise<{ error?: string }[]>((resolve, reject) => client.modem.followProgress(stream, (err, res) => (err ? reject(err) : resolve(res))));
    expect(output.find((m) => m.error)?.error).toBeUndefined();
    const r = await docker(['run', '--rm', 'dockerode-dir', 'sh', '-c', 'stat -c "%a %Y" /app/run.sh; readlink /app/start; cat /app/ran']);
    expect(r.stdout).toBe('750 1600000000\nrun.sh\nran\n');
  });

  it('-f names a Dockerfile outside the context, which the CLI sends inside the tar', async () => {
    const dir = await context({ 'data.txt': 'from the context\n' });
    const elsewhere = await context({ 'Build.file': `FROM ${busybox}\nCOPY data.txt /data.txt\nCMD ["cat", "/data.txt"]\n` });
    const r = await docker(['build', '-f', join(elsewhere, 'Build.file'), '-t', 'outside-dockerfile', dir], { env: legacy });
    expect(r.code, r.stderr).toBe(0);
    expect((await docker(['run', '--rm', 'outside-dockerfile'])).stdout).toBe('from the context\n');
  });

  it('docker-compose build of a one-service project', async () => {
    const dir = await context({
      'docker-compose.yml': `version: "3"\nservices:\n  web:\n    build: .\n    image: composed:latest\n`,
      Dockerfile: `FROM ${busybox}\nLABEL from=compose\n`,
    });
    const r = await runProcess('docker-compose', ['--project-directory', dir, '-f', join(dir, 'docker-compose.yml'), 'build'], { env: { DOCKER_HOST: bed.dockerHost } });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(await inspect('composed', '{{index .Config.Labels "from"}}')).toBe('compose');
  });

  it('rejects a context with ../ entries, and a sparse claim larger than the disk', async () => {
    const hostile = writeTar([
      { type: 'file', name: 'Dockerfile', content: `FROM ${busybox}\n` },
      { type: 'file', name: '../escape.txt', content: 'x' },
    ]);
    const viaCli = await (async () => {
      const dir = await context({});
      await writeFile(join(dir, 'ctx.tar'), hostile);
      return runProcess('sh', ['-c', `docker build -t hostile - < ${join(dir, 'ctx.tar')}`], { env: { DOCKER_HOST: bed.dockerHost, ...legacy } });
    })();
    expect(viaCli.code).not.toBe(0);
    expect(viaCli.stderr).toContain('outside the context');

    const dir = await context({ Dockerfile: `FROM ${busybox}\nCOPY big /big\n` });
    const fs = await statfs(dir);
    const size = Math.max(10 * 1024 ** 3, Number(fs.bavail) * Number(fs.bsize) + 1024 ** 3);
    const made = await runProcess('truncate', ['-s', String(size), join(dir, 'big')]);
    expect(made.code, made.stderr).toBe(0);
    const sparseTar = join(await context({}), 'sparse.tar');
    const packed = await runProcess('tar', ['-S', '-c', '-f', sparseTar, '-C', dir, 'Dockerfile', 'big']);
    expect(packed.code, packed.stderr).toBe(0);
    await rm(join(dir, 'big'));
    const big = await runProcess('sh', ['-c', `docker build -t sparse - < ${sparseTar}`], { env: { DOCKER_HOST: bed.dockerHost, ...legacy } });
    expect(big.code).not.toBe(0);
    expect(big.stderr).toMatch(/more than the \d+ bytes of free disk space/);
  });

  it('POST /build/prune forgets the cache', async () => {
    const r = await rawRequest(bed.socket, 'POST', '/build/prune');
    expect(r.status).toBe(200);
    const body = JSON.parse(r.body) as { CachesDeleted: string[]; SpaceReclaimed: number };
    expect(Array.isArray(body.CachesDeleted)).toBe(true);
    expect((await docker(['image', 'inspect', 't1'])).code).toBe(0);
  });
});
