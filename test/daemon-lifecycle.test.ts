import { afterAll, describe, expect, inject, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { burrowBin, startDaemon as startHarnessDaemon, type DaemonStartOptions, type RunningDaemon } from './harness/daemon.js';
import { isRunning, stopHolder } from '../rootless/userns-holder.js';
import { dockerCli, runProcess } from './harness/clients.js';
import { waitFor } from './harness/container-kit.js';
import { removeTree } from './harness/cleanup.js';

const bed = inject('testbed');
const dirs: string[] = [];
async function scratch(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'burrow-lifecycle-'));
  dirs.push(d);
  return d;
}
const started: RunningDaemon[] = [];
/** Every daemon a test starts is stopped afterwards, even when an assertion fails first. */
async function startDaemon(opts: DaemonStartOptions): Promise<RunningDaemon> {
  const d = await startHarnessDaemon(opts);
  started.push(d);
  return d;
}
afterAll(async () => {
  for (const d of started) {
    await d.kill();
    await stopHolder(d.runtimeDir);
  }
  for (const d of dirs) await removeTree(d);
});

function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

describe('burrow daemon', () => {
  it('refuses a second daemon on a socket that is in use', async () => {
    const dir = await scratch();
    const r = await runProcess(burrowBin, ['daemon', '--host', bed.dockerHost, '--data-root', join(dir, 'data')], {
      env: { XDG_RUNTIME_DIR: join(dir, 'run') },
      timeoutMs: 30_000,
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`already listening on ${bed.dockerHost}`);
    // The running daemon is untouched.
    expect((await dockerCli(bed.dockerHost)(['version', '--format', '{{.Server.Os}}'])).stdout.trim()).toBe('linux');
  });

  it('prints the DOCKER_HOST line, shuts down cleanly on SIGTERM and leaves nothing running', async () => {
    const dir = await scratch();
    const daemon = await startDaemon({ dir });
    expect(daemon.output()).toContain(`export DOCKER_HOST=unix://${daemon.socket}`);
    // bin/burrow's malloc settings reach the server process (one arena; 32 KiB blocks mapped on their own).
    const environ = (await readFile(`/proc/${daemon.pid}/environ`, 'utf8')).split('\0').join(':');
    expect(environ).toContain('glibc.malloc.arena_max=1');
    expect(environ).toContain('glibc.malloc.mmap_threshold=32768');
    const holderPid = Number((await readFile(join(daemon.runtimeDir, 'userns-holder.pid'), 'utf8')).trim());
    expect(await isRunning(holderPid)).toBe(true);
    expect(await daemon.stop()).toBe(0);
    expect(existsSync(daemon.socket)).toBe(false);
    expect(await isRunning(holderPid)).toBe(false);
  });

  it('logs dockerd-like text lines with --log-format text (the default on a terminal), JSON otherwise', async () => {
    const dir = await scratch();
    const text = await startDaemon({ dir, args: ['--log-format', 'text'] });
    expect(text.output()).toMatch(/^INFO\[\d{4}-\d\d-\d\dT[\d:.]+Z\] Burrow is ready {2}.*storageDriver=/m);
    expect(await text.stop()).toBe(0);
    // Not a terminal and no flag: one JSON object a line, for journald and log shippers.
    const json = await startDaemon({ dir });
    expect(json.output()).toMatch(/^\{"level":30,.*"msg":"Burrow is ready"\}$/m);
    expect(await json.stop()).toBe(0);
  });

  it('cleans up the stale socket of a daemon killed with SIGKILL and starts again', async () => {
    const dir = await scratch();
    const first = await startDaemon({ dir });
    await first.kill();
    expect(existsSync(first.socket)).toBe(true);
    const second = await startDaemon({ dir });
    const r = await dockerCli(second.dockerHost)(['info', '--format', '{{.ID}}']);
    expect(r.code).toBe(0);
    expect(await second.stop()).toBe(0);
  });

  it('keeps its engine ID across restarts', async () => {
    const dir = await scratch();
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const d = await startDaemon({ dir });
      ids.push((await dockerCli(d.dockerHost)(['info', '--format', '{{.ID}}'])).stdout.trim());
      await d.stop();
    }
    expect(ids[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(ids[1]).toBe(ids[0]);
  });

  it('listens on loopback TCP and refuses other addresses without --allow-remote', async () => {
    const dir = await scratch();
    const port = await freeTcpPort();
    const d = await startDaemon({ dir, args: ['--host', `tcp://127.0.0.1:${port}`] });
    const r = await dockerCli(`tcp://127.0.0.1:${port}`)(['version', '--format', '{{.Server.APIVersion}}']);
    expect(r.stdout.trim()).toBe('1.50');
    await d.stop();
    const refused = await runProcess(burrowBin, ['daemon', '--host', 'tcp://0.0.0.0:2375'], { env: { XDG_RUNTIME_DIR: join(dir, 'run2') } });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('--allow-remote');
  });

  it('SIGTERM does not wait for attach sessions and event streams; the container keeps running', async () => {
    // A quiet container's attach and an idle events stream only notice a vanished client at their
    // next write; a compose v2 `up` killed mid-run left both, and the daemon never finished exiting.
    const dir = await scratch();
    const daemon = await startDaemon({ dir });
    const docker = dockerCli(daemon.dockerHost);
    const busybox = bed.images.busybox.reference;
    expect((await docker(['pull', busybox])).code).toBe(0);
    const name = `quiet-${process.pid}`;
    expect((await docker(['run', '-d', '--name', name, busybox, 'sleep', '300'])).code).toBe(0);
    let events = '';
    const eventsDone = runProcess('docker', ['events', '--format', '{{.Type}} {{.Action}}'], {
      env: { DOCKER_HOST: daemon.dockerHost },
      timeoutMs: 60_000,
      onStdout: (t) => (events += t),
    });
    // A new volume each try: creating one that exists announces nothing, so a stream that
    // subscribed after the first create would wait for ever on a fixed name.
    const markers: string[] = [];
    await waitFor(async () => {
      markers.push(`lifecycle-${process.pid}-${markers.length}`);
      await docker(['volume', 'create', markers.at(-1) as string]);
      return events.includes('volume create');
    });
    const attachDone = runProcess('docker', ['attach', '--no-stdin', name], { env: { DOCKER_HOST: daemon.dockerHost }, timeoutMs: 60_000 });
    await waitFor(async () => events.includes('container attach'));

    const exited = await Promise.race([daemon.stop(), new Promise<'hung'>((r) => setTimeout(() => r('hung'), 15_000))]);
    expect(exited).toBe(0);
    // Both clients see their connection end.
    await Promise.all([eventsDone, attachDone]);

    const again = await startDaemon({ dir });
    const cli = dockerCli(again.dockerHost);
    expect((await cli(['inspect', '--format', '{{.State.Running}}', name])).stdout.trim()).toBe('true');
    expect((await cli(['rm', '-f', name])).code).toBe(0);
    await cli(['volume', 'rm', ...markers]);
    expect(await again.stop()).toBe(0);
  });
});
