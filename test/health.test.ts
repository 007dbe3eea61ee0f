/**
 * Healthchecks through real clients (issue 16): `docker run --health-*`, HEALTHCHECK from an image,
 * State.Health in inspect, `docker ps` status and `--filter health=`, health_status events, probe
 * timeouts, pause, restart, a daemon restart, docker-compose `service_healthy` and docker-py.
 * Waits are readiness polls; nothing asserts how long anything took.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { stopHolder } from '../rootless/userns-holder.js';
import { removeTree } from './harness/cleanup.js';
import { dockerCli, dockerPy, rawRequest, runProcess } from './harness/clients.js';
import { containerKit, waitFor } from './harness/container-kit.js';
import { startDaemon, type RunningDaemon } from './harness/daemon.js';
import { isolatedTestbed } from './harness/isolated.js';

interface Health {
  Status: string;
  FailingStreak: number;
  Log: { Start: string; End: string; ExitCode: number; Output: string }[];
}

const bed = await isolatedTestbed();
const docker = dockerCli(bed.dockerHost);
const busybox = bed.images.busybox.reference;
const { uniqueName, removeAll, ok } = containerKit(docker);

beforeAll(async () => {
  const r = await docker(['pull', busybox]);
  expect(r.code, r.stderr).toBe(0);
});

afterAll(async () => {
  await removeAll();
});

async function health(name: string, cli = docker): Promise<Health | null> {
  const r = await cli(['inspect', '--format', '{{json .State.Health}}', name]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Health | null;
}

async function waitHealth(name: string, what: (h: Health) => boolean, cli = docker, timeoutMs = 60_000): Promise<Health> {
  let last: Health | null = null;
  await waitFor(async () => {
    last = await health(name, cli);
    return last !== null && what(last);
  }, timeoutMs).catch(() => {
    throw new Error(`health of ${name} never matched; last: ${JSON.stringify(last)}`);
  });
  return last as unknown as Health;
}

/** Container events from `since` up to now (the CLI returns at --until). */
async function eventsSince(since: number, filters: string[]): Promise<string[]> {
  const until = Math.ceil(Date.now() / 1000) + 1;
  const r = await docker(['events', '--since', String(since), '--until', String(until), ...filters.flatMap((f) => ['--filter', f]), '--format', '{{.Action}} {{.Actor.Attributes.name}}']);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.split('\n').filter(Boolean);
}

const now = (): number => Math.floor(Date.now() / 1000) - 1;

describe('docker run --health-*', () => {
  it('a passing check reaches healthy: inspect, ps status, the health filter, events', async () => {
    const since = now();
    const name = uniqueName('hc-ok');
    await ok(['run', '-d', '--name', name, '--health-cmd', 'echo ok', '--health-interval', '1s', busybox, 'sleep', '999']);
    const h = await waitHealth(name, (x) => x.Status === 'healthy');
    expect(h.FailingStreak).toBe(0);
    const last = h.Log.at(-1);
    expect(last).toMatchObject({ ExitCode: 0, Output: 'ok\n' });
    expect(Date.parse(last?.End ?? '')).toBeGreaterThanOrEqual(Date.parse(last?.Start ?? ''));
    expect(await ok(['inspect', '--format', '{{json .Config.Healthcheck}}', name])).toBe(JSON.stringify({ Test: ['CMD-SHELL', 'echo ok'], Interval: 1e9 }));
    expect(await ok(['ps', '--filter', `name=${name}`, '--format', '{{.Status}}'])).toMatch(/^Up .* \(healthy\)$/);
    expect(await ok(['ps', '--filter', 'health=healthy', '--format', '{{.Names}}'])).toContain(name);
    expect(await ok(['ps', '--filter', 'health=unhealthy', '--format', '{{.Names}}'])).not.toContain(name);
    const bad = await docker(['ps', '--filter', 'health=fine']);
    expect(bad.stderr).toContain('Unrecognised filter value for health: fine');
    const events = await eventsSince(since, [`container=${name}`, 'event=health_status']);
    expect(events).toEqual([`health_status: healthy ${name}`]);
    // Each probe is an exec, with dockerd's events for it.
    const execs = await eventsSince(since, [`container=${name}`, 'event=exec_create', 'event=exec_start', 'event=exec_die']);
    expect(execs).toContain(`exec_create: /bin/sh -c echo ok ${name}`);
    expect(execs).toContain(`exec_start: /bin/sh -c echo ok ${name}`);
    expect(execs).toContain(`exec_die ${name}`);
  });

  it('an always-failing check becomes unhealthy after Retries, with the streak and the last 5 results', async () => {
    const since = now();
    const name = uniqueName('hc-fail');
    await ok(['run', '-d', '--name', name, '--health-cmd', 'echo oops >&2; exit 3', '--health-interval', '1s', '--health-retries', '2', busybox, 'sleep', '999']);
    const h = await waitHealth(name, (x) => x.Status === 'unhealthy');
    expect(h.FailingStreak).toBeGreaterThanOrEqual(2);
    expect(h.Log.every((r) => r.ExitCode === 3 && r.Output === 'oops\n')).toBe(true);
    expect(await ok(['ps', '--filter', 'health=unhealthy', '--format', '{{.Names}} {{.Status}}'])).toMatch(new RegExp(`${name} Up .* \\(unhealthy\\)`));
    const longer = await waitHealth(name, (x) => x.FailingStreak >= 7);
    expect(longer.Log).toHaveLength(5);
    expect(await eventsSince(since, [`container=${name}`, 'event=health_status'])).toEqual([`health_status: unhealthy ${name}`]);
  });

  it("a probe that overruns its timeout is killed and counts as exit code -1 with dockerd's message", async () => {
    const name = uniqueName('hc-timeout');
    await ok(['run', '-d', '--name', name, '--health-cmd', 'echo started; sleep 5', '--health-timeout', '1s', '--health-interval', '1s', '--health-retries', '1', busybox, 'sleep', '999']);
    const h = await waitHealth(name, (x) => x.Status === 'unhealthy');
    expect(h.Log[0]).toMatchObject({ ExitCode: -1, Output: 'Health check exceeded timeout (1s): started\n' });
    // The overrun probe was killed: no `sleep 5` outlives it in the container.
    await waitFor(async () => !(await ok(['exec', name, 'ps', '-o', 'args'])).includes('sleep 5') || (await health(name))!.Log.length > 1);
  });

  it('--no-healthcheck and HEALTHCHECK NONE leave no State.Health; an image HEALTHCHECK is used and merged', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'burrow-hc-build-'));
    const tag = `hc-image-${process.pid}`;
    try {
      await writeFile(join(dir, 'Dockerfile'), `FROM ${busybox}\nHEALTHCHECK --interval=1s --retries=4 CMD ["true"]\n`);
      const b = await docker(['build', '-q', '-t', tag, dir], { timeoutMs: 120_000 });
      expect(b.code, b.stderr).toBe(0);
      const fromImage = uniqueName('hc-img');
      await ok(['run', '-d', '--name', fromImage, tag, 'sleep', '999']);
      expect((await waitHealth(fromImage, (x) => x.Status === 'healthy')).FailingStreak).toBe(0);
      // Fields the request leaves zero come from the image (dockerd's merge).
      const merged = uniqueName('hc-merge');
      await ok(['create', '--name', merged, '--health-timeout', '2s', tag, 'sleep', '999']);
      expect(JSON.parse(await ok(['inspect', '--format', '{{json .Config.Healthcheck}}', merged]))).toEqual({ Test: ['CMD', 'true'], Interval: 1e9, Timeout: 2e9, Retries: 4 });
      const off = uniqueName('hc-off');
      await ok(['run', '-d', '--name', off, '--no-healthcheck', tag, 'sleep', '999']);
      expect(await ok(['inspect', '--format', '{{json .Config.Healthcheck.Test}}', off])).toBe('["NONE"]');
      expect(await health(off)).toBeNull();
      expect(await ok(['ps', '--filter', `name=${off}`, '--format', '{{.Status}}'])).toMatch(/^Up [^(]*$/);
      expect(await ok(['ps', '--filter', 'health=none', '--format', '{{.Names}}'])).toContain(off);
      const plain = uniqueName('hc-plain');
      await ok(['run', '-d', '--name', plain, busybox, 'sleep', '999']);
      expect(await health(plain)).toBeNull();
    } finally {
      await docker(['rmi', '-f', tag]);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('create refuses what dockerd refuses, in its words', async () => {
    // The CLI checks its own flags first, so the API is asked directly.
    const body = JSON.stringify({ Image: busybox, Cmd: ['true'], Healthcheck: { Test: ['CMD', 'true'], Retries: -1 } });
    const r = await rawRequest(bed.socket, 'POST', '/containers/create', body, { 'Content-Type': 'application/json' });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body)).toEqual({ message: 'Retries in Healthcheck cannot be negative' });
    const short = JSON.stringify({ Image: busybox, Cmd: ['true'], Healthcheck: { Test: ['CMD', 'true'], Interval: 1000 } });
    const s = await rawRequest(bed.socket, 'POST', '/containers/create', short, { 'Content-Type': 'application/json' });
    expect(s.status).toBe(400);
    expect(JSON.parse(s.body)).toEqual({ message: 'Interval in Healthcheck cannot be less than 1ms' });
  });

  it('probes stop while paused and resume on unpause; a restart goes back to starting', async () => {
    const since = now();
    const name = uniqueName('hc-pause');
    await ok(['run', '-d', '--name', name, '--health-cmd', 'true', '--health-interval', '1s', busybox, 'sleep', '999']);
    await waitHealth(name, (x) => x.Status === 'healthy');
    await ok(['pause', name]);
    const frozen = (await health(name))!;
    // Several intervals pass: no probe may start meanwhile.
    await sleep(3500);
    const still = (await health(name))!;
    expect(still.Log.at(-1)?.Start).toBe(frozen.Log.at(-1)?.Start);
    expect(await ok(['ps', '--filter', `name=${name}`, '--format', '{{.Status}}'])).toMatch(/\(Paused\)$/);
    await ok(['unpause', name]);
    await waitHealth(name, (x) => x.Log.at(-1)?.Start !== frozen.Log.at(-1)?.Start);
    // After a restart dockerd starts over at `starting`: a second healthy transition is announced.
    await ok(['restart', '-t', '0', name]);
    await waitFor(async () => (await eventsSince(since, [`container=${name}`, 'event=health_status'])).length >= 2, 30_000);
    expect(await eventsSince(since, [`container=${name}`, 'event=health_status'])).toEqual([`health_status: healthy ${name}`, `health_status: healthy ${name}`]);
  });

  it('many probes leave no exec record and no process behind; a stopped container keeps its last health', { timeout: 180_000 }, async () => {
    const name = uniqueName('hc-many');
    await ok(['run', '-d', '--name', name, '--health-cmd', 'true', '--health-interval', '20ms', '--health-retries', '1', busybox, 'sleep', '999']);
    const since = now();
    await waitFor(async () => (await eventsSince(since, [`container=${name}`, 'event=exec_die'])).length >= 100, 120_000);
    const ids = JSON.parse(await ok(['inspect', '--format', '{{json .ExecIDs}}', name])) as string[] | null;
    expect((ids ?? []).length).toBeLessThanOrEqual(1);
    // Besides the container's own process, at most the probe in flight (seen as crun's child, [sh], sh -c true or true).
    const procs = (await ok(['exec', name, 'ps', '-o', 'stat,args'])).split('\n').slice(1).map((l) => l.trim()).filter((l) => !/ ps -o stat,args$/.test(l));
    expect(procs.filter((l) => / sleep 999$/.test(l))).toHaveLength(1);
    const others = procs.filter((l) => !/ sleep 999$/.test(l));
    expect(others.length, procs.join('\n')).toBeLessThanOrEqual(1);
    expect(others.filter((l) => l.startsWith('Z')), 'zombie probes').toEqual([]);
    // The process files of finished probes are gone too: only the one in flight may have its pair.
    const id = await ok(['inspect', '--format', '{{.Id}}', name]);
    const files = await readdir(join(bed.privateDir, 'data', 'containers', id, 'exec')).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [];
      throw err;
    });
    expect(files.length, files.join(' ')).toBeLessThanOrEqual(2);
    await ok(['stop', '-t', '0', name]);
    const h = (await health(name))!;
    expect(h.Status, JSON.stringify(h.Log.slice(-2))).toBe('healthy');
    const after = (await health(name))!.Log.length;
    // An absence: no probe after the stop. Fifteen intervals of 20 ms pass.
    await sleep(300);
    expect((await health(name))!.Log.length).toBe(after);
  });
});

describe('other clients', () => {
  it('docker-py sees State.Health.Status', async () => {
    const name = uniqueName('hc-py');
    await ok(['run', '-d', '--name', name, '--health-cmd', 'true', '--health-interval', '1s', busybox, 'sleep', '999']);
    await waitHealth(name, (x) => x.Status === 'healthy');
    const r = await dockerPy(bed.dockerHost, `import docker\nc = docker.from_env().containers.get(${JSON.stringify(name)})\nprint(c.attrs['State']['Health']['Status'], c.attrs['State']['Health']['FailingStreak'])`);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('healthy 0');
  });

  it('docker-compose depends_on condition service_healthy waits for the service to be healthy', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'burrow-compose-hc-'));
    const project = `chc${process.pid}`;
    await writeFile(
      join(dir, 'docker-compose.yml'),
      [
        "version: '2.4'",
        'services:',
        '  db:',
        `    image: ${busybox}`,
        "    command: ['sh', '-c', 'sleep 3; touch /tmp/ready; exec sleep 999']",
        '    healthcheck:',
        "      test: ['CMD-SHELL', 'test -f /tmp/ready']",
        '      interval: 1s',
        '      retries: 30',
        '  app:',
        `    image: ${busybox}`,
        "    command: ['sleep', '999']",
        '    depends_on:',
        '      db:',
        '        condition: service_healthy',
        '',
      ].join('\n'),
    );
    const compose = (args: string[]) =>
      runProcess('docker-compose', ['-f', join(dir, 'docker-compose.yml'), '-p', project, ...args], { env: { DOCKER_HOST: bed.dockerHost }, timeoutMs: 180_000 });
    const since = now();
    try {
      const up = await compose(['up', '-d', 'app']);
      expect(up.code, up.stderr).toBe(0);
      const db = `${project}_db_1`;
      const app = `${project}_app_1`;
      expect((await health(db))?.Status).toBe('healthy');
      // The app was created only once the db had become healthy.
      const order = (await eventsSince(since, ['event=create', 'event=health_status'])).filter((e) => e.endsWith(db) || e.endsWith(app));
      expect(order.indexOf(`health_status: healthy ${db}`)).toBeGreaterThanOrEqual(0);
      expect(order.indexOf(`health_status: healthy ${db}`)).toBeLessThan(order.indexOf(`create ${app}`));
      expect(order.indexOf(`create ${db}`)).toBeLessThan(order.indexOf(`health_status: healthy ${db}`));
    } finally {
      await compose(['down', '-v', '-t', '0']);
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('daemon restart', () => {
  let dir = '';
  let daemon: RunningDaemon | undefined;
  let last: RunningDaemon | undefined;
  let cli: ReturnType<typeof dockerCli> | undefined;
  const own = (args: string[]) => {
    if (!daemon) throw new Error('no daemon');
    cli ??= dockerCli(daemon.dockerHost);
    return cli(args);
  };

  afterAll(async () => {
    if (daemon) {
      const left = (await own(['ps', '-aq'])).stdout.split('\n').filter(Boolean);
      if (left.length) await own(['rm', '-f', ...left]);
      await daemon.stop();
    }
    if (last) await stopHolder(last.runtimeDir);
    if (dir) await removeTree(dir);
  });

  it('keeps the health log and goes on probing an adopted running container', async () => {
    onTestFailed(() => console.log(last?.output()));
    dir = await mkdtemp(join(tmpdir(), 'burrow-health-restart-'));
    daemon = last = await startDaemon({ dir });
    const pulled = await own(['pull', busybox]);
    expect(pulled.code, pulled.stderr).toBe(0);
    // 2 s between probes: five kept results then span 10 s, more than a loaded machine needs from
    // reading the newest result on disk to reading the log after the restart.
    const run = await own(['run', '-d', '--name', 'hc', '--health-cmd', 'true', '--health-interval', '2s', busybox, 'sleep', '999']);
    expect(run.code, run.stderr).toBe(0);
    const before = await waitHealth('hc', (x) => x.Status === 'healthy', own);
    // A result is saved just after it shows (dockerd does not save it at all): kill once one is on disk.
    // (The newest result on disk, not the one inspect showed, which may have left the five-entry log
    // by the time a loaded machine reads the file.)
    const id = (await own(['inspect', '--format', '{{.Id}}', 'hc'])).stdout.trim();
    const record = join(daemon.dataRoot, 'containers', id, 'container.json');
    let saved: string | undefined;
    await waitFor(async () => {
      const onDisk = JSON.parse((await readFile(record, 'utf8').catch(() => '')) || '{}') as { health?: { Status?: string; Log?: { Start: string }[] } };
      saved = onDisk.health?.Status === 'healthy' ? onDisk.health.Log?.at(-1)?.Start : undefined;
      return saved !== undefined;
    });
    // As in containers.test.ts: the daemon dies with the container running, and the next one adopts it.
    await daemon.kill();
    daemon = undefined;
    const restartedAt = new Date().toISOString();
    daemon = last = await startDaemon({ dir });
    const kept = (await health('hc', own))!;
    expect(kept.Log.length).toBeGreaterThanOrEqual(before.Log.length);
    // Compared as instants: the CLI re-marshals each time as Go does, without trailing zeros
    // (…:01.120Z on disk is …:01.12Z in its output), which failed one run in ten as strings.
    const savedAt = Date.parse(saved ?? '');
    expect(kept.Log.some((r) => Date.parse(r.Start) === savedAt)).toBe(true);
    const after = await waitHealth('hc', (x) => x.Status === 'healthy' && Date.parse(x.Log.at(-1)?.Start ?? '') > Date.parse(restartedAt), own);
    expect(after.FailingStreak).toBe(0);
    expect(await own(['ps', '--format', '{{.Status}}']).then((r) => r.stdout.trim())).toMatch(/\(healthy\)$/);
  }, 240_000);
});
