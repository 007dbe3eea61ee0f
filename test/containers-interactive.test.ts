import { mkdtemp } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import Docker from 'dockerode';
import { dockerCli, rawRequest, runProcess } from './harness/clients.js';
import { startDaemon, type RunningDaemon } from './harness/daemon.js';
import { TmuxSession } from './harness/tmux.js';
import { containerKit, waitFor } from './harness/container-kit.js';
import { removeTree } from './harness/cleanup.js';

const bed = inject('testbed');
const docker = dockerCli(bed.dockerHost);
const busybox = bed.images.busybox.reference;

const { created, uniqueName, inspectField, removeAll } = containerKit(docker);



beforeAll(async () => {
  expect((await docker(['pull', busybox])).code).toBe(0);
});

afterAll(async () => {
  await removeAll();
});

describe('stdin and TTY', () => {
  it('echo hi | docker run -i --rm busybox cat prints hi', async () => {
    const r = await docker(['run', '-i', '--rm', busybox, 'cat'], { input: 'hi\n', timeoutMs: 20_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('hi\n');
    expect(r.code).toBe(0);
  });

  it('docker run -it under tmux: prompt, command, resize, detach with Ctrl-P Ctrl-Q, attach back', async () => {
    const name = uniqueName('tty');
    const t = new TmuxSession(bed.dockerHost);
    try {
      await t.start(['run', '-it', '--name', name, busybox, 'sh']);
      await t.waitFor(/^\/ # ?$/m);
      await t.type('echo $((6*7)); stty size\r');
      await t.waitFor(/^42$/m);
      await t.waitFor(/^24 80$/m);
      await t.resize(100, 30);
      // The new size reaches the container once the CLI has seen SIGWINCH and called resize: ask until it has.
      await waitFor(async () => {
        await t.type('stty size\r');
        return /^30 100$/m.test(await t.screen());
      });
      await t.keys('C-p', 'C-q');
      await t.waitFor(/EXIT=0/);
      expect(await inspectField(name, '{{.State.Running}}')).toBe('true');
    } finally {
      await t.stop();
    }
    const back = new TmuxSession(bed.dockerHost);
    try {
      await back.start(['attach', name]);
      // Typing before the CLI holds the terminal in raw mode may be lost: type until the shell answers.
      await waitFor(async () => {
        await back.type('echo back$((1+1))\r');
        return /^back2$/m.test(await back.screen());
      });
      await back.type('exit 5\r');
      await back.waitFor(/EXIT=5/);
    } finally {
      await back.stop();
    }
    await waitFor(async () => (await inspectField(name, '{{.State.Status}}')) === 'exited');
    expect(await inspectField(name, '{{.State.ExitCode}}')).toBe('5');
    // A TTY container's log is the raw terminal stream.
    expect((await docker(['logs', name])).stdout).toContain('back2\r\n');
  });

  it('the server watches for detach keys (detachKeys query) and leaves the container running', async () => {
    const name = uniqueName('detach');
    const c = await rawRequest(bed.socket, 'POST', `/containers/create?name=${name}`, JSON.stringify({ Image: busybox, Cmd: ['cat'], OpenStdin: true, AttachStdin: true, AttachStdout: true }));
    expect(c.status).toBe(201);
    expect((await rawRequest(bed.socket, 'POST', `/containers/${name}/start`)).status).toBe(204);
    const text = await new Promise<string>((resolveRead, reject) => {
      const s = createConnection(bed.socket);
      let data = '';
      s.on('connect', () => {
        s.write(`POST /containers/${name}/attach?stream=1&stdin=1&stdout=1&detachKeys=ctrl-x,x HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`);
      });
      // Input once the session is up; the detach keys once the echo proves input reached the container.
      let step = 0;
      s.on('data', (b: Buffer) => {
        data += b.toString('latin1');
        if (step === 0 && data.includes('\r\n\r\n')) {
          step = 1;
          s.write('echoed\n');
        } else if (step === 1 && data.includes('echoed\n')) {
          step = 2;
          s.write('\x18x');
        }
      });
      s.on('close', () => resolveRead(data));
      s.on('error', reject);
    });
    expect(text).toMatch(/^HTTP\/1.1 101 UPGRADED/);
    expect(text).toContain('\x01\x00\x00\x00\x00\x00\x00\x07echoed\n');
    expect(await inspectField(name, '{{.State.Running}}')).toBe('true');
  });

  it('attach/ws carries stdin and output as binary websocket messages', async () => {
    const name = uniqueName('ws');
    const c = await rawRequest(bed.socket, 'POST', `/containers/create?name=${name}`, JSON.stringify({ Image: busybox, Cmd: ['sh', '-c', 'read x; echo got $x'], OpenStdin: true }));
    expect(c.status).toBe(201);
    expect((await rawRequest(bed.socket, 'POST', `/containers/${name}/start`)).status).toBe(204);
    const frames = await new Promise<Buffer>((resolveRead, reject) => {
      const s = createConnection(bed.socket);
      let data = Buffer.alloc(0);
      s.on('connect', () => {
        s.write(
          `GET /v1.45/containers/${name}/attach/ws?stream=1&stdin=1&stdout=1 HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
            'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
        );
      });
      const payload = Buffer.from('hi\n');
      const mask = Buffer.from([1, 2, 3, 4]);
      const masked = Buffer.from(payload.map((b, i) => b ^ (mask[i % 4] as number)));
      let sent = false;
      s.on('data', (b: Buffer) => {
        data = Buffer.concat([data, b]);
        // The message goes once the handshake is answered.
        if (!sent && data.includes('\r\n\r\n')) {
          sent = true;
          s.write(Buffer.concat([Buffer.from([0x82, 0x80 | payload.length]), mask, masked]));
        }
      });
      s.on('close', () => resolveRead(data));
      s.on('error', reject);
    });
    const text = frames.toString('latin1');
    expect(text).toMatch(/^HTTP\/1.1 101 Switching Protocols\r\n/);
    expect(text).toContain('Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n');
    expect(text).toContain('\x82\x07got hi\n');
  });
});

describe('events', () => {
  it('docker events shows create/start/die/destroy of a run --rm in order', async () => {
    const name = uniqueName('ev');
    const since = (Date.now() / 1000 - 1).toFixed(3);
    expect((await docker(['run', '--rm', '--name', name, busybox, 'true'])).code).toBe(0);
    // The CLI may return before the destroy event is stamped: read the log until it holds the destroy.
    let actions: string[] = [];
    let until = '';
    await waitFor(async () => {
      until = (Date.now() / 1000).toFixed(3);
      const r = await docker(['events', '--since', since, '--until', until, '--filter', 'type=container', '--filter', `container=${name}`, '--format', '{{.Action}}']);
      expect(r.code, r.stderr).toBe(0);
      actions = r.stdout.trim().split('\n').filter((a) => ['create', 'start', 'die', 'destroy'].includes(a));
      return actions.includes('destroy');
    });
    expect(actions).toEqual(['create', 'start', 'die', 'destroy']);
    const json = await docker(['events', '--since', since, '--until', until, '--filter', `container=${name}`, '--filter', 'event=die', '--format', '{{json .}}']);
    const die = JSON.parse(json.stdout.trim()) as Record<string, unknown>;
    expect(die).toMatchObject({ status: 'die', Type: 'container', Action: 'die', from: busybox, scope: 'local', Actor: { Attributes: { name, image: busybox, exitCode: '0' } } });
    expect(typeof die.timeNano).toBe('number');
  });

  it('dockerode getEvents streams live events; headers come at once', async () => {
    const client = new Docker({ socketPath: bed.socket });
    const name = uniqueName('ev-live');
    // The name changes on rename; the label stays, so the filter follows the container throughout.
    const label = `burrow.events=${name}`;
    const stream = (await client.getEvents({ filters: { label: [label] } })) as NodeJS.ReadableStream & { destroy(): void };
    const seen: string[] = [];
    stream.on('data', (b: Buffer) => {
      for (const line of b.toString().split('\n')) if (line.trim()) seen.push((JSON.parse(line) as { Action: string }).Action);
    });
    const c = await client.createContainer({ Image: busybox, Cmd: ['sh', '-c', 'exit 2'], name, Labels: { 'burrow.events': label.split('=')[1] ?? '' } });
    await c.start();
    await c.wait();
    await c.rename({ name: `${name}-renamed` });
    created.add(`${name}-renamed`);
    await c.remove();
    await waitFor(async () => seen.includes('destroy'), 5000);
    stream.destroy();
    expect(seen.filter((a) => ['create', 'start', 'die', 'rename', 'destroy'].includes(a))).toEqual(['create', 'start', 'die', 'rename', 'destroy']);
    const info = (await client.info()) as { NEventsListener: number };
    expect(info.NEventsListener).toBeGreaterThanOrEqual(0);
  });
});

describe('restart policies', () => {
  it('--restart always restarts an exiting container with a growing RestartCount', async () => {
    const name = uniqueName('always');
    expect((await docker(['run', '-d', '--restart', 'always', '--name', name, busybox, 'sh', '-c', 'sleep 0.2; exit 1'])).code).toBe(0);
    await waitFor(async () => Number(await inspectField(name, '{{.RestartCount}}')) >= 2, 20_000);
    expect(await inspectField(name, '{{.HostConfig.RestartPolicy.Name}}')).toBe('always');
    const stop = await docker(['stop', '-t', '1', name]);
    expect(stop.code, stop.stderr).toBe(0);
    // An absence: a stopped always container must not come back. Give a restart the time it would take.
    await sleep(1000);
    expect(await inspectField(name, '{{.State.Status}} {{.State.Restarting}}')).toBe('exited false');
  });

  it('on-failure:2 stops after two restarts; exit 0 is not restarted', async () => {
    const name = uniqueName('onfail');
    expect((await docker(['run', '-d', '--restart', 'on-failure:2', '--name', name, busybox, 'sh', '-c', 'exit 3'])).code).toBe(0);
    await waitFor(async () => (await inspectField(name, '{{.RestartCount}} {{.State.Status}} {{.State.Restarting}}')) === '2 exited false', 20_000);
    // An absence (no third restart): give it the time the restart delays would take.
    await sleep(1500);
    expect(await inspectField(name, '{{.RestartCount}} {{.State.ExitCode}}')).toBe('2 3');
    const ok = uniqueName('onfail-ok');
    expect((await docker(['run', '-d', '--restart', 'on-failure', '--name', ok, busybox, 'true'])).code).toBe(0);
    await waitFor(async () => (await inspectField(ok, '{{.State.Status}}')) === 'exited');
    // An absence (no restart after exit 0): give it the time a restart would take.
    await sleep(1000);
    expect(await inspectField(ok, '{{.RestartCount}} {{.State.Status}}')).toBe('0 exited');
    const bad = await rawRequest(bed.socket, 'POST', '/containers/create', JSON.stringify({ Image: busybox, HostConfig: { RestartPolicy: { Name: 'always' }, AutoRemove: true } }));
    expect(bad.status).toBe(400);
  });

  describe('across a daemon restart', () => {
    let dir: string;
    let daemon: RunningDaemon | undefined;

    afterAll(async () => {
      if (daemon) {
        const cli = dockerCli(daemon.dockerHost);
        await cli(['rm', '-f', 'phoenix']);
        await daemon.stop();
      }
      if (dir) await removeTree(dir);
    });

    it('an always container whose process died while the daemon was down runs again', async () => {
      dir = await mkdtemp(join(tmpdir(), 'burrow-restart-policy-'));
      daemon = await startDaemon({ dir });
      const cli = dockerCli(daemon.dockerHost);
      expect((await cli(['pull', busybox])).code).toBe(0);
      expect((await cli(['run', '-d', '--restart', 'always', '--name', 'phoenix', busybox, 'sleep', '1000'])).code).toBe(0);
      const pid = await inspectField('phoenix', '{{.State.Pid}}', cli);
      await daemon.kill();
      expect((await runProcess('kill', ['-9', pid])).code).toBe(0);
      await waitFor(async () => (await runProcess('kill', ['-0', pid])).code !== 0);
      daemon = await startDaemon({ dir });
      await waitFor(async () => (await inspectField('phoenix', '{{.State.Status}} {{.RestartCount}}', cli)) === 'running 1', 15_000);
      expect(await inspectField('phoenix', '{{.State.Pid}}', cli)).not.toBe(pid);
    });
  });
});
