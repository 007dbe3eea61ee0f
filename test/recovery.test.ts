/**
 * Recovery after the daemon dies in the middle of an operation (issue 14). The daemon is armed with
 * BURROW_DEBUG_CRASH_AT=<step> (rootless/debug-crash.ts) so it SIGKILLs itself exactly between two
 * steps of a `docker run`, `docker commit` or `docker rm`; a daemon without the hook is then started
 * on the same data root (and the same namespace holder), and what it left must be settled: no
 * container left frozen by the engine, no overlay mount or crun/conmon process of a start that did
 * not finish, a `--rm` container that never ran removed with its anonymous volume, a plain one
 * `created` and startable.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createConnection } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { randomInt } from 'node:crypto';
import type { RunningDaemon } from './harness/daemon.js';
import { RestartableDaemon } from './harness/restartable.js';
import { processesOf } from './harness/container-kit.js';
import { setTimeout as sleep } from 'node:timers/promises';

const bed = inject('testbed');
const busybox = bed.images.busybox.reference;

let bedDaemon: RestartableDaemon;
let dir = '';

/** The pid of the daemon's hub agent (a child named burrow-hub-agent), if it runs. */
async function hubAgentOf(daemonPid: number): Promise<number | undefined> {
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (stat.includes('(burrow-hub-agen)') && Number(after[1]) === daemonPid && after[0] !== 'Z') return Number(name);
  }
  return undefined;
}

/** The one daemon of this file, restarted on the same data root, with or without a crash step. */
function restart(crashAt?: string): Promise<RunningDaemon> {
  return bedDaemon.restart(crashAt ? { BURROW_DEBUG_CRASH_AT: crashAt } : {});
}

const docker = (args: string[]) => bedDaemon.docker(args);
const mountsOf = (id: string) => bedDaemon.mountsOf(id);

/** Runs `args` against a daemon armed for `step` and waits for it to have killed itself there. */
async function crashDuring(step: string, args: string[]): Promise<void> {
  const d = await restart(step);
  await docker(args);
  const end = await d.exited;
  expect(end.signal, `the daemon did not die at ${step}:\n${d.output()}`).toBe('SIGKILL');
  bedDaemon.current = undefined;
  await restart();
}

async function inspect(ref: string): Promise<Record<string, unknown> | undefined> {
  const r = await docker(['inspect', '--type', 'container', ref]);
  if (r.code !== 0) return undefined;
  return (JSON.parse(r.stdout) as Record<string, unknown>[])[0];
}

async function containerId(name: string): Promise<string> {
  const r = await docker(['ps', '-aq', '--no-trunc', '--filter', `name=^/${name}$`]);
  return r.stdout.trim();
}

/**
 * Sends "hello" through a published port to `nc -e wc -c` and half-closes: the count, or the
 * connection's error code. Tries again (the container, or the agent, may still be on its way)
 * until `done` accepts the answer.
 */
async function countThrough(port: number, done: (answer: string) => boolean): Promise<string> {
  let answer = '';
  for (let attempt = 0; attempt < 100; attempt++) {
    answer = await new Promise<string>((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port, allowHalfOpen: true }, () => s.end('hello'));
      let got = '';
      s.on('data', (b: Buffer) => (got += b.toString()));
      s.on('end', () => resolve(got.trim()));
      s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    });
    if (done(answer)) break;
    await sleep(100);
  }
  return answer;
}

/** The container's freezer.state, read through its init's cgroup. */
async function freezerState(pid: number): Promise<string | undefined> {
  const line = (await readFile(`/proc/${pid}/cgroup`, 'utf8')).split('\n').find((l) => l.split(':')[1]?.split(',').includes('freezer'));
  const path = line?.split(':')[2];
  if (!path) return undefined;
  return (await readFile(join('/sys/fs/cgroup/freezer', path, 'freezer.state'), 'utf8').catch(() => '')).trim() || undefined;
}

/** A start that died before the user's process ran leaves no trace but the record, which is `created`. */
async function expectRolledBack(name: string): Promise<string> {
  const id = await containerId(name);
  expect(id, `${name} is gone`).toMatch(/^[0-9a-f]{64}$/);
  const state = (await inspect(id))?.State as Record<string, unknown>;
  expect(state.Status).toBe('created');
  expect(state.ExitCode).toBe(0);
  expect(state.StartedAt).toBe('0001-01-01T00:00:00Z');
  expect(await mountsOf(id)).toEqual([]);
  expect(await processesOf(id)).toEqual([]);
  return id;
}

async function expectStartsAndWorks(name: string): Promise<void> {
  const started = await docker(['start', '-a', name]);
  expect(started.code, started.stderr).toBe(0);
  expect(started.stdout).toContain('hello from the container');
  const state = (await inspect(name))?.State as Record<string, unknown>;
  expect(state.Status).toBe('exited');
  expect(state.ExitCode).toBe(0);
}

/** A `--rm` container that never ran is gone, and so is its anonymous volume. */
async function expectRemovedWithVolume(name: string, id: string, volume: string): Promise<void> {
  expect(await inspect(name)).toBeUndefined();
  expect(await containerId(name)).toBe('');
  const vols = await docker(['volume', 'ls', '-q']);
  expect(vols.stdout.split('\n')).not.toContain(volume);
  expect(await mountsOf(id)).toEqual([]);
  expect(await processesOf(id)).toEqual([]);
}

/** Creates a `--rm` container with an anonymous volume first, so its id and volume are known before the crash. */
async function createRm(name: string, command = 'echo hello from the container'): Promise<{ id: string; volume: string }> {
  const c = await docker(['create', '--rm', '--name', name, '-v', '/data', busybox, 'sh', '-c', command]);
  expect(c.code, c.stderr).toBe(0);
  const id = c.stdout.trim();
  const mounts = (await inspect(id))?.Mounts as { Name: string; Destination: string }[];
  const volume = mounts.find((m) => m.Destination === '/data')?.Name ?? '';
  expect(volume).toMatch(/^[0-9a-f]{64}$/);
  return { id, volume };
}

beforeAll(async () => {
  bedDaemon = await RestartableDaemon.create('burrow-recovery-');
  dir = bedDaemon.dir;
  await restart();
  const pulled = await docker(['pull', busybox]);
  expect(pulled.code, pulled.stderr).toBe(0);
});

afterAll(async () => {
  await bedDaemon?.close();
});

// Each test restarts the daemon at least twice, on a 2-core machine shared with other suites.
const LONG = { timeout: 180_000 };

describe('recovery after the daemon is killed mid-operation', () => {
  it('rolls back a docker run killed after the rootfs mount: created, nothing mounted, then starts', LONG, async () => {
    await crashDuring('start:after-mount', ['run', '-d', '--name', 'rec-mount', busybox, 'sh', '-c', 'echo hello from the container']);
    await expectRolledBack('rec-mount');
    await expectStartsAndWorks('rec-mount');
  });

  it('rolls back a docker run killed after crun create: no orphan crun or conmon, created, then starts', LONG, async () => {
    await crashDuring('start:after-runtime-create', ['run', '-d', '--name', 'rec-create', busybox, 'sh', '-c', 'echo hello from the container']);
    await expectRolledBack('rec-create');
    await expectStartsAndWorks('rec-create');
  });

  it('removes a --rm container whose start was killed after crun create, and its anonymous volume', LONG, async () => {
    const { id, volume } = await createRm('rec-rm-create');
    await crashDuring('start:after-runtime-create', ['start', 'rec-rm-create']);
    await expectRemovedWithVolume('rec-rm-create', id, volume);
  });

  it('removes a --rm container whose start was killed after the rootfs mount, and its anonymous volume', LONG, async () => {
    const { id, volume } = await createRm('rec-rm-mount');
    await crashDuring('start:after-mount', ['start', 'rec-rm-mount']);
    await expectRemovedWithVolume('rec-rm-mount', id, volume);
  });

  it('finishes a docker run killed after crun start: the container is running and is managed', LONG, async () => {
    await crashDuring('start:after-runtime-start', ['run', '-d', '--name', 'rec-started', busybox, 'sleep', '1000']);
    const state = (await inspect('rec-started'))?.State as Record<string, unknown>;
    expect(state.Status).toBe('running');
    expect(state.Pid).toBeGreaterThan(0);
    const ex = await docker(['exec', 'rec-started', 'echo', 'alive']);
    expect(ex.stdout.trim()).toBe('alive');
    const id = await containerId('rec-started');
    const stop = await docker(['rm', '-f', 'rec-started']);
    expect(stop.code, stop.stderr).toBe(0);
    expect(await mountsOf(id)).toEqual([]);
    expect(await processesOf(id)).toEqual([]);
  });

  it('thaws a container that a docker commit killed after the freeze had paused', LONG, async () => {
    const run = await docker(['run', '-d', '--name', 'rec-commit', busybox, 'sleep', '1000']);
    expect(run.code, run.stderr).toBe(0);
    await crashDuring('commit:after-freeze', ['commit', 'rec-commit', 'rec-commit-image']);
    const state = (await inspect('rec-commit'))?.State as Record<string, unknown>;
    expect(state.Status).toBe('running');
    expect(state.Paused).toBe(false);
    expect(await freezerState(Number(state.Pid))).toBe('THAWED');
    const ps = await docker(['ps', '--filter', 'name=^/rec-commit$', '--format', '{{.Status}}']);
    expect(ps.stdout.trim()).toMatch(/^Up /);
    expect(ps.stdout).not.toContain('Paused');
    const ex = await docker(['exec', 'rec-commit', 'echo', 'alive']);
    expect(ex.stdout.trim()).toBe('alive');
    // The commit can be done again, and thaws after itself.
    const again = await docker(['commit', 'rec-commit', 'rec-commit-image']);
    expect(again.code, again.stderr).toBe(0);
    expect(((await inspect('rec-commit'))?.State as Record<string, unknown>).Paused).toBe(false);
    await docker(['rm', '-f', 'rec-commit']);
  });

  it('thaws a container whose docker pause was killed after the freeze, before its record said paused', LONG, async () => {
    const run = await docker(['run', '-d', '--name', 'rec-pausing', busybox, 'sleep', '1000']);
    expect(run.code, run.stderr).toBe(0);
    await crashDuring('pause:after-freeze', ['pause', 'rec-pausing']);
    const state = (await inspect('rec-pausing'))?.State as Record<string, unknown>;
    expect(state.Status).toBe('running');
    expect(state.Paused).toBe(false);
    expect(await freezerState(Number(state.Pid))).toBe('THAWED');
    const ex = await docker(['exec', 'rec-pausing', 'echo', 'alive']);
    expect(ex.stdout.trim()).toBe('alive');
    // Paused and unpaused again as usual.
    expect((await docker(['pause', 'rec-pausing'])).code).toBe(0);
    expect(((await inspect('rec-pausing'))?.State as Record<string, unknown>).Paused).toBe(true);
    expect((await docker(['unpause', 'rec-pausing'])).code).toBe(0);
    await docker(['rm', '-f', 'rec-pausing']);
  });

  it("keeps the user's own docker pause across a daemon killed with SIGKILL", LONG, async () => {
    const run = await docker(['run', '-d', '--name', 'rec-paused', busybox, 'sleep', '1000']);
    expect(run.code, run.stderr).toBe(0);
    expect((await docker(['pause', 'rec-paused'])).code).toBe(0);
    await bedDaemon.kill();
    await restart();
    const state = (await inspect('rec-paused'))?.State as Record<string, unknown>;
    expect(state.Paused).toBe(true);
    expect(await freezerState(Number(state.Pid))).toBe('FROZEN');
    const ps = await docker(['ps', '--filter', 'name=^/rec-paused$', '--format', '{{.Status}}']);
    expect(ps.stdout).toContain('(Paused)');
    await docker(['rm', '-f', 'rec-paused']);
  });

  it('finishes a docker rm -v killed after the record was marked removing', LONG, async () => {
    const c = await docker(['create', '--name', 'rec-rm', '-v', '/data', busybox, 'true']);
    expect(c.code, c.stderr).toBe(0);
    const id = c.stdout.trim();
    const volume = ((await inspect(id))?.Mounts as { Name: string }[])[0]?.Name ?? '';
    await crashDuring('rm:after-mark', ['rm', '-v', 'rec-rm']);
    await expectRemovedWithVolume('rec-rm', id, volume);
  });

  it('starts again and finishes a docker rm -v killed after its volumes were deleted, before its record was', LONG, async () => {
    // The record then names a volume that is gone: once, the next daemon refused to start at all.
    const c = await docker(['create', '--name', 'rec-rm-vols', '-v', '/data', busybox, 'true']);
    expect(c.code, c.stderr).toBe(0);
    const id = c.stdout.trim();
    const volume = ((await inspect(id))?.Mounts as { Name: string }[])[0]?.Name ?? '';
    await crashDuring('rm:after-volumes', ['rm', '-v', 'rec-rm-vols']);
    await expectRemovedWithVolume('rec-rm-vols', id, volume);
  });

  it('unmounts the rootfs a docker cp of a stopped container had borrowed when the daemon was killed', LONG, async () => {
    const c = await docker(['create', '--name', 'rec-lease', busybox, 'sh', '-c', 'echo hello from the container']);
    expect(c.code, c.stderr).toBe(0);
    const id = c.stdout.trim();
    await crashDuring('lease:after-mount', ['cp', 'rec-lease:/etc/passwd', join(dir, 'passwd-copy')]);
    expect(((await inspect(id))?.State as Record<string, unknown>).Status).toBe('created');
    expect(await mountsOf(id)).toEqual([]);
    const cp = await docker(['cp', 'rec-lease:/etc/passwd', join(dir, 'passwd-copy')]);
    expect(cp.code, cp.stderr).toBe(0);
    // The CLI may be done with the tar before the daemon has given the rootfs back.
    for (let i = 0; i < 100 && (await mountsOf(id)).length > 0; i++) await sleep(100);
    expect(await mountsOf(id)).toEqual([]);
    await expectStartsAndWorks('rec-lease');
  });

  it('a published port dies with a daemon killed with SIGKILL, and the next daemon publishes it again', LONG, async () => {
    const run = await docker(['run', '-d', '--name', 'rec-port', '-p', '127.0.0.1::5000', busybox, 'nc', '-ll', '-p', '5000', '-e', 'wc', '-c']);
    expect(run.code, run.stderr).toBe(0);
    const port = Number(/:(\d+)$/.exec((await docker(['port', 'rec-port', '5000'])).stdout.trim())![1]);
    expect(await countThrough(port, (a) => a === '5')).toBe('5');
    await bedDaemon.kill();
    // The hub agent sees its daemon go (its stdin ends) and takes the port with it.
    expect(await countThrough(port, (a) => a === 'ECONNREFUSED')).toBe('ECONNREFUSED');
    await restart();
    expect(await countThrough(port, (a) => a === '5')).toBe('5');
    await docker(['rm', '-f', 'rec-port']);
  });

  it('a killed hub agent is replaced: published ports work again, DNS answers, new containers start', LONG, async () => {
    const net = 'rec-agent-net';
    expect((await docker(['network', 'create', net])).code).toBe(0);
    const run = await docker(['run', '-d', '--name', 'rec-agent', '--network', net, '-p', '127.0.0.1::5000', busybox, 'nc', '-ll', '-p', '5000', '-e', 'wc', '-c']);
    expect(run.code, run.stderr).toBe(0);
    const port = Number(/:(\d+)$/.exec((await docker(['port', 'rec-agent', '5000'])).stdout.trim())![1]);
    expect(await countThrough(port, (a) => a === '5')).toBe('5');
    const daemonPid = bedDaemon.current!.pid;
    const agent = await hubAgentOf(daemonPid);
    expect(agent).toBeDefined();
    process.kill(agent!, 'SIGKILL');
    // The port comes back from a new agent (and goes away for a moment with the old one).
    expect(await countThrough(port, (a) => a === '5')).toBe('5');
    expect(await hubAgentOf(daemonPid)).not.toBe(agent);
    const probe = await docker(['run', '--rm', '--network', net, busybox, 'nslookup', 'rec-agent']);
    expect(probe.code, probe.stdout + probe.stderr).toBe(0);
    await docker(['rm', '-f', 'rec-agent']);
    await docker(['network', 'rm', net]);
  });

  /**
   * Runs a container with `args`, has it fetch from a server on the host loopback (host-gateway),
   * SIGKILLs the hub's uplink and waits for the fetch to work again. The uplink's pid file before and
   * after: a new pid, the same kind, family and addressing.
   */
  async function uplinkSurvivesKill(name: string, args: string[]): Promise<void> {
    const server = createHttpServer((_req, res) => res.end('from-the-host'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://host.docker.internal:${(server.address() as { port: number }).port}/`;
    try {
      const run = await docker(['run', '-d', '--name', name, '--add-host', 'host.docker.internal:host-gateway', ...args, busybox, 'sleep', '1000']);
      expect(run.code, run.stderr).toBe(0);
      const fetched = async (): Promise<string> => (await docker(['exec', name, 'timeout', '2', 'wget', '-qO-', url])).stdout;
      expect(await fetched()).toBe('from-the-host');
      const pidFile = join(bedDaemon.current!.runtimeDir, 'net', 'uplink.pid');
      const [kind, pid, ...rest] = (await readFile(pidFile, 'utf8')).trim().split(' ');
      process.kill(Number(pid), 'SIGKILL');
      let answer = '';
      for (let i = 0; i < 20 && answer !== 'from-the-host'; i++) {
        await sleep(200);
        answer = await fetched();
      }
      expect(answer).toBe('from-the-host');
      const [kindAfter, pidAfter, ...restAfter] = (await readFile(pidFile, 'utf8')).trim().split(' ');
      expect(pidAfter).not.toBe(pid);
      expect([kindAfter, ...restAfter]).toEqual([kind, ...rest]);
    } finally {
      server.close();
      await docker(['rm', '-f', name]);
    }
  }

  it('a killed uplink is replaced: containers reach out again (here the host, through host-gateway)', LONG, async () => {
    await uplinkSurvivesKill('rec-uplink', []);
  });

  it('a killed uplink that carries IPv6 networks is replaced with the same kind and addresses', LONG, async () => {
    const net = 'rec-uplink6-net';
    expect((await docker(['network', 'create', '--ipv6', net])).code).toBe(0);
    try {
      await uplinkSurvivesKill('rec-uplink6', ['--network', net]);
    } finally {
      await docker(['network', 'rm', net]);
    }
  });

  it('settles a start killed at a random step, with or without --rm', { timeout: 420_000 }, async () => {
    const steps = ['start:after-mark', 'start:after-mount', 'start:after-runtime-create', 'start:after-runtime-start'] as const;
    for (let round = 0; round < 3; round++) {
      const step = steps[randomInt(steps.length)]!;
      const autoRemove = randomInt(2) === 1;
      const name = `rec-random-${round}`;
      // Printed so a failure can be replayed.
      process.stdout.write(`recovery round ${round}: ${step}${autoRemove ? ' --rm' : ''}\n`);
      const made = autoRemove ? await createRm(name) : undefined;
      if (!made) expect((await docker(['create', '--name', name, '-v', '/data', busybox, 'sh', '-c', 'echo hello from the container; sleep 1000'])).code).toBe(0);
      const id = made?.id ?? (await containerId(name));
      await crashDuring(step, ['start', name]);
      const state = (await inspect(id))?.State as Record<string, unknown> | undefined;
      if (step === 'start:after-runtime-start' && made) {
        // The user's process ran (and ended at once): the start was finished and --rm then removed it, volume too.
        for (let i = 0; i < 100 && (await inspect(id)); i++) await sleep(100);
        await expectRemovedWithVolume(name, made.id, made.volume);
        continue;
      } else if (step === 'start:after-runtime-start') {
        // The user's process ran: the start is finished and the container is managed.
        expect(state?.Status).toBe('running');
        expect(state?.Paused).toBe(false);
        expect((await docker(['rm', '-f', '-v', id])).code).toBe(0);
      } else if (made) {
        await expectRemovedWithVolume(name, made.id, made.volume);
        continue;
      } else {
        expect(state?.Status).toBe('created');
        expect(await processesOf(id)).toEqual([]);
        const started = await docker(['start', name]);
        expect(started.code, started.stderr).toBe(0);
        expect(((await inspect(id))?.State as Record<string, unknown>).Status).toBe('running');
        expect((await docker(['rm', '-f', '-v', id])).code).toBe(0);
      }
      expect(await mountsOf(id)).toEqual([]);
      expect(await processesOf(id)).toEqual([]);
    }
  });
});
