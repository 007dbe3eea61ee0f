import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerCli, type ProcessResult } from './harness/clients.js';
import { isolatedTestbed } from './harness/isolated.js';
import { waitFor } from './harness/container-kit.js';
import { removeTree } from './harness/cleanup.js';

// Docker Compose v2 (`docker compose`, the CLI plugin scripts/install-compose-v2.sh builds) driving
// multi-service projects against a daemon of this file's own. Images come from the local test
// registry only.
const bed = await isolatedTestbed();
const docker = dockerCli(bed.dockerHost);
const busybox = bed.images.busybox.reference;
const dirs: string[] = [];
const projects: Project[] = [];

interface Project {
  name: string;
  dir: string;
  /** `docker compose -p NAME --project-directory DIR args`; the classic builder (BuildKit is another issue). */
  compose(args: string[], opts?: { timeoutMs?: number }): Promise<ProcessResult>;
  /** The same, expecting exit 0; returns trimmed stdout. */
  ok(args: string[], opts?: { timeoutMs?: number }): Promise<string>;
}

const composeEnv = { DOCKER_BUILDKIT: '0', COMPOSE_PROGRESS: 'plain', COMPOSE_STATUS_STDOUT: '0', NO_COLOR: '1' };
let counter = 0;

/** A project in a new directory; `yaml` may be made from that directory's path. */
async function project(yaml: string | ((dir: string) => string), files: Record<string, string> = {}): Promise<Project> {
  const dir = await mkdtemp(join(tmpdir(), 'burrow-compose2-'));
  dirs.push(dir);
  await writeFile(join(dir, 'compose.yaml'), typeof yaml === 'string' ? yaml : yaml(dir));
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  const name = `c2p${process.pid}x${++counter}`;
  const compose = (args: string[], opts: { timeoutMs?: number } = {}) =>
    docker(['compose', '-p', name, '--project-directory', dir, ...args], { env: composeEnv, timeoutMs: opts.timeoutMs ?? 120_000 });
  const p: Project = {
    name,
    dir,
    compose,
    async ok(args, opts) {
      const r = await compose(args, opts);
      expect(r.code, `docker compose ${args.join(' ')}:\n${r.stderr}`).toBe(0);
      return r.stdout.trim();
    },
  };
  projects.push(p);
  return p;
}

/** `docker compose ps --format json`: one JSON object a line (compose v2.21+). */
async function ps(p: Project, args: string[] = []): Promise<{ Service: string; Name: string; State: string; ExitCode: number; Health: string }[]> {
  const out = await p.ok(['ps', '--format', 'json', ...args]);
  return out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { Service: string; Name: string; State: string; ExitCode: number; Health: string });
}

/** A long-running compose command whose output is read while it runs. */
function background(p: Project, args: string[]) {
  const child = spawn('docker', ['compose', '-p', p.name, '--project-directory', p.dir, ...args], {
    env: { ...process.env, DOCKER_HOST: bed.dockerHost, ...composeEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { stdout: () => stdout, stderr: () => stderr, exited, stop: () => child.kill('SIGTERM') };
}

beforeAll(async () => {
  const r = await docker(['pull', busybox]);
  expect(r.code, r.stderr).toBe(0);
});

afterAll(async () => {
  for (const p of projects) await p.compose(['down', '-v', '--remove-orphans', '-t', '0']);
  for (const d of dirs) await removeTree(d);
});

describe('docker compose v2', () => {
  it('is the v2 plugin built by scripts/install-compose-v2.sh', async () => {
    const r = await docker(['compose', 'version', '--short']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toMatch(/^v?[2-9]\.\d+\.\d+/);
  });

  it('up -d brings up services on a named network with a named volume; ps, exec, logs; down -v --remove-orphans removes everything', async () => {
    const p = await project(
      [
        'services:',
        '  web:',
        `    image: ${busybox}`,
        "    command: ['sh', '-c', 'echo web-up; mkdir -p /srv; hostname > /srv/hostname; exec httpd -f -p 80 -h /srv']",
        '    hostname: composeweb',
        '    networks: [back]',
        '    volumes: [data:/data]',
        '  client:',
        `    image: ${busybox}`,
        "    command: ['sleep', '300']",
        '    networks: [back]',
        '    volumes: [data:/data]',
        'networks:',
        '  back: {}',
        'volumes:',
        '  data: {}',
        '',
      ].join('\n'),
    );
    await p.ok(['up', '-d']);
    const running = await ps(p);
    expect(running.map((c) => `${c.Service} ${c.State}`).sort()).toEqual(['client running', 'web running']);
    expect(await docker(['network', 'ls', '--format', '{{.Name}}']).then((r) => r.stdout)).toContain(`${p.name}_back`);
    expect(await docker(['volume', 'ls', '--format', '{{.Name}}']).then((r) => r.stdout)).toContain(`${p.name}_data`);

    // Service-name DNS on the project network, and the volume shared by both services.
    await p.ok(['exec', '-T', 'web', 'sh', '-c', 'echo shared > /data/f']);
    let fetched = '';
    await waitFor(async () => {
      const r = await p.compose(['exec', '-T', 'client', 'wget', '-qO-', 'http://web/hostname']);
      fetched = r.stdout.trim();
      return r.code === 0;
    });
    expect(fetched).toBe('composeweb');
    expect(await p.ok(['exec', '-T', 'client', 'cat', '/data/f'])).toBe('shared');
    const logs = await p.ok(['logs', '--no-color', 'web']);
    expect(logs).toMatch(/^web-1\s+\| web-up$/m);

    // An orphan: a service no longer in the file.
    await writeFile(join(p.dir, 'compose.yaml'), ['services:', '  web:', `    image: ${busybox}`, "    command: ['sleep', '300']", 'volumes:', '  data: {}', 'networks:', '  back: {}', ''].join('\n'));
    const down = await p.compose(['down', '-v', '--remove-orphans', '-t', '1']);
    expect(down.code, down.stderr).toBe(0);
    const left = await docker(['ps', '-a', '--filter', `label=com.docker.compose.project=${p.name}`, '--format', '{{.Names}}']);
    expect(left.stdout.trim()).toBe('');
    expect(await docker(['network', 'ls', '--format', '{{.Name}}']).then((r) => r.stdout)).not.toContain(`${p.name}_back`);
    expect(await docker(['volume', 'ls', '--format', '{{.Name}}']).then((r) => r.stdout)).not.toContain(`${p.name}_data`);
  });

  it('depends_on service_completed_successfully runs the one-shot service first; a failing one stops up', async () => {
    const p = await project(
      [
        'services:',
        '  init:',
        `    image: ${busybox}`,
        "    command: ['sh', '-c', 'sleep 1; echo seeded > /data/seed']",
        '    volumes: [data:/data]',
        '  app:',
        `    image: ${busybox}`,
        "    command: ['sh', '-c', 'cat /data/seed; exec sleep 300']",
        '    volumes: [data:/data]',
        '    depends_on:',
        '      init:',
        '        condition: service_completed_successfully',
        '  broken:',
        `    image: ${busybox}`,
        "    command: ['sh', '-c', 'exit 3']",
        '    profiles: [broken]',
        '  after-broken:',
        `    image: ${busybox}`,
        "    command: ['true']",
        '    profiles: [broken]',
        '    depends_on:',
        '      broken:',
        '        condition: service_completed_successfully',
        'volumes:',
        '  data: {}',
        '',
      ].join('\n'),
    );
    await p.ok(['up', '-d']);
    const states = await ps(p, ['-a']);
    expect(states.map((c) => `${c.Service} ${c.State} ${c.ExitCode}`).sort()).toEqual(['app running 0', 'init exited 0']);
    await waitFor(async () => (await p.compose(['logs', 'app'])).stdout.includes('seeded'));

    const failed = await p.compose(['--profile', 'broken', 'up', '-d', 'after-broken']);
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toContain('service "broken" didn\'t complete successfully: exit 3');
  });

  it('up --wait returns once the services run (no healthcheck)', async () => {
    const p = await project(['services:', '  svc:', `    image: ${busybox}`, "    command: ['sleep', '300']", ''].join('\n'));
    const r = await p.compose(['up', '-d', '--wait']);
    expect(r.code, r.stderr).toBe(0);
    expect((await ps(p)).map((c) => c.State)).toEqual(['running']);
  });

  it('up --wait waits for a healthcheck; depends_on service_healthy', async () => {
    const p = await project(
      [
        'services:',
        '  db:',
        `    image: ${busybox}`,
        "    command: ['sh', '-c', 'sleep 2; touch /tmp/ready; exec sleep 300']",
        '    healthcheck:',
        "      test: ['CMD', 'test', '-f', '/tmp/ready']",
        '      interval: 1s',
        '      retries: 30',
        '  app:',
        `    image: ${busybox}`,
        "    command: ['sleep', '300']",
        '    depends_on:',
        '      db:',
        '        condition: service_healthy',
        '',
      ].join('\n'),
    );
    await p.ok(['up', '-d', '--wait']);
    const states = await ps(p);
    expect(states.find((c) => c.Service === 'db')?.Health).toBe('healthy');
    expect(states.find((c) => c.Service === 'app')?.State).toBe('running');
  });

  it('build uses the classic builder; run --rm leaves no container', async () => {
    const p = await project(['services:', '  app:', '    build: .', `    image: ${`built-${process.pid}`}:latest`, ''].join('\n'), {
      Dockerfile: [`FROM ${busybox}`, 'RUN echo built-by-compose > /built', 'CMD ["cat", "/built"]', ''].join('\n'),
    });
    await p.ok(['build'], { timeoutMs: 180_000 });
    expect(await p.ok(['run', '--rm', '-T', 'app'])).toBe('built-by-compose');
    expect(await p.ok(['run', '--rm', '-T', '-e', 'X=1', 'app', 'sh', '-c', 'echo $X'])).toBe('1');
    const left = await docker(['ps', '-a', '--filter', `label=com.docker.compose.project=${p.name}`, '--format', '{{.Names}}']);
    expect(left.stdout.trim()).toBe('');
    await docker(['rmi', `built-${process.pid}:latest`]);
  });

  it('up attached streams the services; --abort-on-container-exit --exit-code-from returns the exit code', async () => {
    const p = await project(
      [
        'services:',
        '  job:',
        `    image: ${busybox}`,
        "    command: ['sh', '-c', 'echo job-out; sleep 1; exit 5']",
        '  side:',
        `    image: ${busybox}`,
        "    command: ['sh', '-c', 'echo side-up; exec sleep 300']",
        '    stop_grace_period: 1s',
        '',
      ].join('\n'),
    );
    const r = await p.compose(['up', '--abort-on-container-exit', '--exit-code-from', 'job', '--no-color']);
    expect(r.code, r.stderr).toBe(5);
    const lines = r.stdout.split('\n').map((x) => x.replace(/\s+\|/, '  |'));
    expect(lines).toContain('job-1  | job-out');
    expect(lines).toContain('side-1  | side-up');
    expect((await ps(p, ['-a'])).map((c) => `${c.Service} ${c.State}`).sort()).toEqual(['job exited', 'side exited']);
  });

  it('logs -f follows every service until they exit', async () => {
    // Each service waits for a go-file, so both run while logs -f starts: compose's follow watches
    // the project's containers, running or not, until each one dies (an already exited one would keep
    // it following, as with dockerd).
    const waitGo = 'until [ -e /tmp/go ]; do sleep 0.1; done';
    const p = await project(
      [
        'services:',
        '  a:',
        `    image: ${busybox}`,
        `    command: ['sh', '-c', 'echo a-ready; ${waitGo}; for i in 1 2 3; do echo a$$i; done']`,
        '  b:',
        `    image: ${busybox}`,
        `    command: ['sh', '-c', 'echo b-ready; ${waitGo}; echo b-done']`,
        '',
      ].join('\n'),
    );
    await p.ok(['up', '-d']);
    const follow = background(p, ['logs', '-f', '--no-color']);
    await waitFor(async () => follow.stdout().includes('a-ready') && follow.stdout().includes('b-ready'), 30_000);
    for (const svc of ['a', 'b']) await p.ok(['exec', '-T', svc, 'touch', '/tmp/go']);
    const code = await Promise.race([follow.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 30_000))]);
    if (code === 'timeout') follow.stop();
    expect(code, follow.stderr()).toBe(0);
    const lines = follow.stdout().split('\n').map((x) => x.replace(/\s+\|/, '  |'));
    for (const l of ['a-1  | a1', 'a-1  | a2', 'a-1  | a3', 'b-1  | b-done']) expect(lines).toContain(l);
  });

  it('scale and up --scale; restart; profiles; compose events', async () => {
    const p = await project(
      [
        'services:',
        '  web:',
        `    image: ${busybox}`,
        "    command: ['sleep', '300']",
        // sleep as PID 1 ignores SIGTERM: without this, scaling down waits dockerd's 10 s per container.
        '    stop_grace_period: 1s',
        '  debug:',
        `    image: ${busybox}`,
        "    command: ['sleep', '300']",
        '    profiles: [debug]',
        '',
      ].join('\n'),
    );
    const events = background(p, ['events', '--json']);
    try {
      await p.ok(['up', '-d', '--scale', 'web=3']);
      expect((await ps(p)).map((c) => c.Name).sort()).toEqual([`${p.name}-web-1`, `${p.name}-web-2`, `${p.name}-web-3`]);
      await p.ok(['scale', 'web=1']);
      expect((await ps(p)).map((c) => c.Name)).toEqual([`${p.name}-web-1`]);

      const before = (await docker(['inspect', '--format', '{{.State.StartedAt}}', `${p.name}-web-1`])).stdout.trim();
      await p.ok(['restart', '-t', '1', 'web']);
      const after = (await docker(['inspect', '--format', '{{.State.StartedAt}}', `${p.name}-web-1`])).stdout.trim();
      expect(after).not.toBe(before);

      await p.ok(['--profile', 'debug', 'up', '-d']);
      expect((await ps(p)).map((c) => c.Service).sort()).toEqual(['debug', 'web']);

      await waitFor(async () => events.stdout().includes('"debug"'));
    } finally {
      events.stop();
      await events.exited;
    }
    const seen = events
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { type: string; action: string; service: string });
    const actions = (service: string) => seen.filter((e) => e.type === 'container' && e.service === service).map((e) => e.action);
    expect(actions('web')).toEqual(expect.arrayContaining(['create', 'start', 'kill', 'die', 'stop', 'restart']));
    expect(actions('debug')).toEqual(expect.arrayContaining(['create', 'start']));
  });

  // Last: down --rmi all removes the busybox image the other tests use.
  it('pull; inline configs and env secrets; a static address on an IPAM subnet; network_mode service:; a bind-backed volume; deploy limits', async () => {
    const layers = bed.images.layers.reference;
    const p = await project((dir) =>
      [
        'services:',
        '  web:',
        `    image: ${busybox}`,
        "    command: ['sleep', '300']",
        '    init: true',
        '    networks: {front: {ipv4_address: 172.31.9.10}}',
        // compose copies inline config and secret content into the created container (PUT archive).
        '    configs: [{source: cfg, target: /etc/app.conf}]',
        '    secrets: [envsec]',
        '    volumes: [hostvol:/hv]',
        '    deploy: {resources: {limits: {memory: 64M, pids: 50}}}',
        '  side:',
        `    image: ${layers}`,
        "    command: ['sleep', '300']",
        '    init: true',
        '    network_mode: service:web',
        'configs:',
        '  cfg: {content: "inline-config"}',
        'secrets:',
        '  envsec: {environment: SECRET_FROM_ENV}',
        'networks:',
        '  front: {ipam: {config: [{subnet: 172.31.9.0/24}]}}',
        'volumes:',
        // compose passes device as written; the local driver wants an absolute path.
        `  hostvol: {driver_opts: {type: none, o: bind, device: ${join(dir, 'hostdir')}}}`,
        '',
      ].join('\n'),
    );
    await mkdir(join(p.dir, 'hostdir'));
    await writeFile(join(p.dir, 'hostdir', 'h.txt'), 'from-host\n');
    const pulled = await p.compose(['pull']);
    expect(pulled.code, pulled.stderr).toBe(0);
    expect((await docker(['image', 'inspect', '--format', '{{.Id}}', layers])).code).toBe(0);

    const up = await docker(['compose', '-p', p.name, '--project-directory', p.dir, 'up', '-d'], { env: { ...composeEnv, SECRET_FROM_ENV: 'env-secret' } });
    expect(up.code, up.stderr).toBe(0);
    const inWeb = await p.ok(['exec', '-T', 'web', 'sh', '-c', 'cat /etc/app.conf; echo; cat /run/secrets/envsec; echo; cat /hv/h.txt; ip -4 -o addr show eth0']);
    const [config, secret, hostFile, addr] = inWeb.split('\n');
    expect([config, secret, hostFile]).toEqual(['inline-config', 'env-secret', 'from-host']);
    expect(addr).toContain('inet 172.31.9.10/24');
    // side shares web's network namespace.
    expect(await p.ok(['exec', '-T', 'side', 'ip', '-4', '-o', 'addr', 'show', 'eth0'])).toContain('inet 172.31.9.10/24');
    const limits = await docker(['inspect', '--format', '{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}', `${p.name}-web-1`]);
    expect(limits.stdout.trim()).toBe(`${64 * 1024 * 1024} 50`);
    await p.ok(['down', '-v', '-t', '0', '--rmi', 'all']);
    expect((await docker(['image', 'inspect', layers])).code).not.toBe(0);
  });
});
