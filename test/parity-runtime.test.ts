/**
 * dockerd parity of the container runtime's edges (issue 16): hijacked bodies, detach keys from the
 * CLI's config file, devices, namespace modes, HostConfig.Runtime and start-failure exit codes —
 * each through a real client.
 */
import { constants, statSync } from 'node:fs';
import { accessSync } from 'node:fs';
import { createConnection } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import { dockerCli } from './harness/clients.js';
import { containerKit, waitFor } from './harness/container-kit.js';
import { isolatedTestbed } from './harness/isolated.js';
import { TmuxSession } from './harness/tmux.js';

const bed = await isolatedTestbed();
const docker = dockerCli(bed.dockerHost);
const busybox = bed.images.busybox.reference;
const { uniqueName, inspectField, ok, removeAll } = containerKit(docker);
const dockerode = new Docker({ socketPath: bed.socket });

beforeAll(async () => {
  expect((await docker(['pull', busybox])).code).toBe(0);
});

afterAll(async () => {
  await removeAll();
});

/** Collects a hijacked stream's bytes until it ends. */
function collect(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    stream.on('data', (b: Buffer) => (out += b.toString('latin1')));
    stream.on('end', () => resolve(out));
    stream.on('close', () => resolve(out));
  });
}

describe('hijacked streams', () => {
  it('dockerode attach + write: the options body is not stdin (wc -c counts only the written bytes)', async () => {
    const name = uniqueName('hijack-attach');
    await ok(['create', '-i', '--name', name, busybox, 'wc', '-c']);
    const c = dockerode.getContainer(name);
    const stream = await c.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true });
    const output = collect(stream);
    await c.start();
    stream.write('hello');
    (stream as unknown as { end(): void }).end();
    await waitFor(async () => (await inspectField(name, '{{.State.Status}}')) === 'exited');
    expect((await docker(['logs', name])).stdout.trim()).toBe('5');
    await Promise.race([output, sleep(2000)]);
  });

  it('raw socket: an attach request with a Content-Length body delivers only what follows it', async () => {
    const name = uniqueName('hijack-raw');
    await ok(['create', '-i', '--name', name, busybox, 'wc', '-c']);
    const body = JSON.stringify({ stream: true, stdin: true });
    const s = createConnection(bed.socket);
    await new Promise<void>((r) => s.once('connect', () => r()));
    let got = '';
    s.on('data', (b: Buffer) => (got += b.toString('latin1')));
    s.write(
      `POST /containers/${name}/attach?stream=1&stdin=1&stdout=1 HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}abc`,
    );
    await waitFor(async () => got.includes('101 UPGRADED'));
    await ok(['start', name]);
    s.end('de');
    await waitFor(async () => (await inspectField(name, '{{.State.Status}}')) === 'exited');
    s.destroy();
    expect((await docker(['logs', name])).stdout.trim()).toBe('5');
  });

  it('dockerode exec start with stdin: only the written bytes reach the process', async () => {
    const name = uniqueName('hijack-exec');
    await ok(['run', '-d', '--name', name, busybox, 'sleep', '1000']);
    const exec = await dockerode.getContainer(name).exec({ Cmd: ['wc', '-c'], AttachStdin: true, AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: true });
    const output = collect(stream);
    stream.write('hello!!');
    (stream as unknown as { end(): void }).end();
    const text = await output;
    expect(text.replace(/[\0-\x08\x0e-\x1f]/g, '').trim()).toMatch(/7$/);
  });
});

describe('detach keys from the client config file', () => {
  it('docker run -it and docker exec -it detach with config.json detachKeys', async () => {
    const name = uniqueName('detachcfg');
    const t = new TmuxSession(bed.dockerHost);
    t.writeConfig({ detachKeys: 'ctrl-x,x' });
    try {
      await t.start(['run', '-it', '--name', name, busybox, 'sh']);
      await t.waitFor(/^\/ # ?$/m);
      // The configured keys replace the default ones: Ctrl-P Ctrl-Q is just input now.
      await t.keys('C-p', 'C-q');
      await t.type('echo still$((1+1))\r');
      await t.waitFor(/^still2$/m);
      await t.keys('C-x', 'x');
      await t.waitFor(/EXIT=0/);
      expect(await inspectField(name, '{{.State.Running}}')).toBe('true');
    } finally {
      await t.stop();
    }
    const e = new TmuxSession(bed.dockerHost);
    e.writeConfig({ detachKeys: 'ctrl-x,x' });
    try {
      await e.start(['exec', '-it', name, 'sh']);
      await e.waitFor(/^\/ # ?$/m);
      await e.keys('C-x', 'x');
      await e.waitFor(/EXIT=\d+/);
      expect(await inspectField(name, '{{.State.Running}}')).toBe('true');
    } finally {
      await e.stop();
    }
    const a = new TmuxSession(bed.dockerHost);
    a.writeConfig({ detachKeys: 'ctrl-x,x' });
    try {
      await a.start(['attach', name]);
      // Typing before the CLI holds the terminal in raw mode may be lost: type until the shell answers.
      await waitFor(async () => {
        await a.type('echo attached$((2+2))\r');
        return /^attached4$/m.test(await a.screen());
      });
      await a.keys('C-x', 'x');
      // The CLI's own words and status for a detach from `docker attach` (the same against dockerd).
      await a.waitFor(/read escape sequence\s+EXIT=1/);
      expect(await inspectField(name, '{{.State.Running}}')).toBe('true');
    } finally {
      await a.stop();
    }
  });
});

/** A device node on this host the test user cannot open (only stat and access are used). */
function inaccessibleDevice(): string | undefined {
  for (const p of ['/dev/loop-control', '/dev/cpu_dma_latency', '/dev/btrfs-control', '/dev/kvm', '/dev/tty0']) {
    try {
      if (!statSync(p).isCharacterDevice()) continue;
    } catch {
      continue;
    }
    try {
      accessSync(p, constants.R_OK);
    } catch {
      return p;
    }
  }
  return undefined;
}

describe('devices', () => {
  it('--device binds accessible host devices, under another name and read-only with :r', async () => {
    const out = await ok([
      'run', '--rm', '--device', '/dev/null:/dev/mynull', '--device', '/dev/zero', '--device', '/dev/urandom:/dev/myrandom:r', busybox,
      'sh', '-c', 'echo x > /dev/mynull && head -c 4 /dev/zero | wc -c && head -c 4 /dev/myrandom | wc -c && ls -l /dev/mynull',
    ]);
    expect(out).toMatch(/^4\n4\ncrw-rw-rw-\s.*\b1,\s+3\b.*\/dev\/mynull$/);
  });

  it('HostConfig.Devices through dockerode, recorded in inspect', async () => {
    const name = uniqueName('devices-api');
    const c = await dockerode.createContainer({
      name,
      Image: busybox,
      Cmd: ['sh', '-c', 'test -c /dev/mynull && echo present'],
      HostConfig: { Devices: [{ PathOnHost: '/dev/null', PathInContainer: '/dev/mynull', CgroupPermissions: 'rwm' }] },
    });
    await c.start();
    await c.wait();
    expect((await docker(['logs', name])).stdout.trim()).toBe('present');
    expect(await inspectField(name, '{{json .HostConfig.Devices}}')).toBe('[{"PathOnHost":"/dev/null","PathInContainer":"/dev/mynull","CgroupPermissions":"rwm"}]');
  });

  it('a missing, non-device or unopenable path gets dockerd\'s error', async () => {
    const missing = await docker(['run', '--rm', '--device', '/dev/no-such-device', busybox, 'true']);
    // The CLI turns "no such file or directory" into 127, as it does with dockerd's identical answer.
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain('error gathering device information while adding custom device "/dev/no-such-device": no such file or directory');
    const notDevice = await docker(['run', '--rm', '--device', '/etc/hostname', busybox, 'true']);
    expect(notDevice.stderr).toContain('error gathering device information while adding custom device "/etc/hostname": not a device node');
    const closed = inaccessibleDevice();
    if (closed) {
      const r = await docker(['run', '--rm', '--device', closed, busybox, 'true']);
      expect(r.stderr).toContain(`error gathering device information while adding custom device "${closed}": permission denied`);
    }
  });

  it('--device-cgroup-rule is recorded and reported in the create Warnings', async () => {
    const name = uniqueName('cgrule');
    const c = await dockerode.createContainer({ name, Image: busybox, Cmd: ['true'], HostConfig: { DeviceCgroupRules: ['c 1:3 rwm'] } });
    const info = await c.inspect();
    expect(info.HostConfig.DeviceCgroupRules).toEqual(['c 1:3 rwm']);
    const raw = await docker(['create', '--device-cgroup-rule', 'c 1:5 r', busybox, 'true']);
    expect(raw.stderr).toMatch(/WARNING: Device cgroup rules are not applied/);
    await docker(['rm', raw.stdout.trim()]);
    const bad = await docker(['create', '--name', uniqueName('cgbad'), '--device-cgroup-rule', 'c 1:3 rwm', busybox, 'true'], {});
    expect(bad.code).toBe(0);
  });

  it('--privileged gets the host devices the user can open, and only those', async () => {
    const out = await ok(['run', '--rm', '--privileged', busybox, 'ls', '/dev']);
    const names = out.split('\n');
    expect(names).toEqual(expect.arrayContaining(['null', 'zero', 'full', 'random', 'urandom', 'tty']));
    expect(names).toContain('fuse');
    const closed = inaccessibleDevice();
    if (closed) expect(names).not.toContain(closed.slice('/dev/'.length));
  });
});

describe('namespaces', () => {
  it('--pid host sees the host\'s processes; --pid container: shares the donor\'s', async () => {
    const host = await ok(['run', '--rm', '--pid', 'host', busybox, 'sh', '-c', 'test -d /proc/1 && ls /proc | grep -c "^[0-9]"']);
    expect(Number(host)).toBeGreaterThan(5);
    const donor = uniqueName('piddonor');
    await ok(['run', '-d', '--name', donor, busybox, 'sleep', '1000']);
    const shared = await ok(['run', '--rm', '--pid', `container:${donor}`, busybox, 'ps', '-o', 'args']);
    expect(shared).toContain('sleep 1000');
    expect(await inspectField(donor, '{{.HostConfig.PidMode}}')).toBe('');
  });

  it('joining a stopped or missing container is dockerd\'s 409/404', async () => {
    const stopped = uniqueName('pidstopped');
    await ok(['create', '--name', stopped, busybox, 'true']);
    const id = await inspectField(stopped, '{{.Id}}');
    const r = await docker(['run', '--rm', '--pid', `container:${stopped}`, busybox, 'true']);
    expect(r.stderr).toContain(`Error response from daemon: container ${id} is not running`);
    const missing = await docker(['run', '--rm', '--pid', 'container:no-such-ctr', busybox, 'true']);
    expect(missing.stderr).toContain('cannot join PID of a non running container: no-such-ctr: No such container: no-such-ctr');
  });

  it('IpcMode: private by default, shareable donors share SysV-free /dev/shm, private ones are refused', async () => {
    const donor = uniqueName('ipcdonor');
    await ok(['run', '-d', '--name', donor, '--ipc', 'shareable', busybox, 'sh', '-c', 'echo shared > /dev/shm/marker; sleep 1000']);
    await waitFor(async () => (await docker(['exec', donor, 'cat', '/dev/shm/marker'])).stdout.trim() === 'shared');
    expect(await ok(['run', '--rm', '--ipc', `container:${donor}`, busybox, 'cat', '/dev/shm/marker'])).toBe('shared');
    const donorNs = await ok(['exec', donor, 'readlink', '/proc/self/ns/ipc']);
    expect(await ok(['run', '--rm', '--ipc', `container:${donor}`, busybox, 'readlink', '/proc/self/ns/ipc'])).toBe(donorNs);
    expect(await ok(['run', '--rm', busybox, 'readlink', '/proc/self/ns/ipc'])).not.toBe(donorNs);

    const priv = uniqueName('ipcprivate');
    await ok(['run', '-d', '--name', priv, busybox, 'sleep', '1000']);
    expect(await inspectField(priv, '{{.HostConfig.IpcMode}}')).toBe('private');
    const r = await docker(['run', '--rm', '--ipc', `container:${priv}`, busybox, 'true']);
    expect(r.stderr).toContain(`can't join IPC of container ${priv}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)`);
  });

  it('--ipc host and --uts host use the engine\'s (the host\'s) namespaces', async () => {
    const hostIpc = await ok(['run', '--rm', '--ipc', 'host', busybox, 'readlink', '/proc/self/ns/ipc']);
    const privateIpc = await ok(['run', '--rm', busybox, 'readlink', '/proc/self/ns/ipc']);
    expect(hostIpc).not.toBe(privateIpc);
    const hostName = await ok(['run', '--rm', '--uts', 'host', busybox, 'hostname']);
    expect(hostName).toBe((await import('node:os')).hostname());
    const conflictRun = await docker(['run', '--rm', '--uts', 'host', '--hostname', 'x', busybox, 'true']);
    expect(conflictRun.stderr).toContain('conflicting options: hostname and the UTS mode');
  });

  it('invalid modes sent by an API client are 400s', async () => {
    await expect(dockerode.createContainer({ Image: busybox, HostConfig: { PidMode: 'bogus' } })).rejects.toThrow(/invalid PID mode: bogus/);
    await expect(dockerode.createContainer({ Image: busybox, HostConfig: { IpcMode: 'bogus' } })).rejects.toThrow(/invalid IPC mode: bogus/);
    await expect(dockerode.createContainer({ Image: busybox, HostConfig: { UTSMode: 'bogus' } })).rejects.toThrow(/invalid UTS mode: bogus/);
  });
});

describe('runtime fields and start failures', () => {
  it('HostConfig.Runtime is the default runtime /info reports; unknown runtimes are refused', async () => {
    const name = uniqueName('runtime');
    await ok(['create', '--name', name, busybox, 'true']);
    const info = JSON.parse(await ok(['info', '--format', '{{json .}}'])) as { DefaultRuntime: string; Runtimes: Record<string, unknown> };
    const runtime = await inspectField(name, '{{.HostConfig.Runtime}}');
    expect(runtime).toBe(info.DefaultRuntime);
    expect(Object.keys(info.Runtimes)).toContain(runtime);
    const bad = await docker(['create', '--runtime', 'no-such-runtime', busybox, 'true']);
    expect(bad.stderr).toContain('unknown or invalid runtime name: no-such-runtime');
  });

  it('exec of a missing command exits 126 with dockerd\'s words; run of one exits 127', async () => {
    const name = uniqueName('execmissing');
    await ok(['run', '-d', '--name', name, busybox, 'sleep', '1000']);
    const e = await docker(['exec', name, 'no-such-command']);
    expect(e.code).toBe(126);
    expect(e.stdout).toBe('OCI runtime exec failed: exec failed: unable to start container process: exec: "no-such-command": executable file not found in $PATH: unknown\r\n');
    const viaPy = await import('./harness/clients.js').then((m) =>
      m.dockerPy(bed.dockerHost, `import docker\nc = docker.from_env().containers.get(${JSON.stringify(name)})\nr = c.exec_run(['no-such-command'])\nprint(r.exit_code)`),
    );
    expect(viaPy.stdout.trim()).toBe('126');
    const r = await docker(['run', '--rm', busybox, 'no-such-command']);
    expect(r.code).toBe(127);
    expect(r.stderr).toContain('exec: "no-such-command": executable file not found in $PATH');
  });
});
