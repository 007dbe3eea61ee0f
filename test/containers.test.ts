import { mkdtemp, readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import { dockerCli, dockerPy, rawRequest, runProcess } from './harness/clients.js';
import { startDaemon, type RunningDaemon } from './harness/daemon.js';
import { isolatedTestbed } from './harness/isolated.js';
import { containerKit, waitFor } from './harness/container-kit.js';
import { removeTree } from './harness/cleanup.js';

const bed = await isolatedTestbed();
const docker = dockerCli(bed.dockerHost);
const busybox = bed.images.busybox.reference;

/** Every container a test creates is named here and force-removed at the end. */
const { created, uniqueName, inspectField, removeAll } = containerKit(docker);



beforeAll(async () => {
  const r = await docker(['pull', busybox]);
  expect(r.code, r.stderr).toBe(0);
});

afterAll(async () => {
  await removeAll();
});

describe('docker run', () => {
  it('docker run --rm busybox echo hi prints hi and exits 0', async () => {
    const name = uniqueName('echo');
    const r = await docker(['run', '--rm', '--name', name, busybox, 'echo', 'hi']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('hi\n');
    expect(r.code).toBe(0);
    expect((await docker(['inspect', name])).code).toBe(1);
  });

  it('create refuses what the start would refuse, with dockerd\'s 400, and makes nothing', async () => {
    // Both were accepted with a 201 and failed only at start before the OCI spec's dry run at create.
    const caps = uniqueName('bad-cap');
    const cap = await docker(['create', '--name', caps, '--cap-add', 'FLY', busybox, 'true']);
    expect(cap.code).not.toBe(0);
    expect(cap.stderr).toContain('invalid CapAdd: unknown capability: "CAP_FLY"');
    const oom = uniqueName('bad-oom');
    const raw = await rawRequest(bed.socket, 'POST', `/containers/create?name=${oom}`, JSON.stringify({ Image: busybox, Cmd: ['true'], HostConfig: { OomScoreAdj: 1001 } }));
    expect(raw.status).toBe(400);
    expect(JSON.parse(raw.body)).toEqual({ message: 'Invalid value 1001, range for oom score adj is [-1000, 1000]' });
    for (const name of [caps, oom]) expect((await docker(['container', 'inspect', name])).code).toBe(1);
    // What the spec warns of comes back in create's Warnings, as dockerd's do.
    const warned = uniqueName('warned');
    const ok = await rawRequest(bed.socket, 'POST', `/containers/create?name=${warned}`, JSON.stringify({ Image: busybox, Cmd: ['true'], HostConfig: { CgroupParent: 'elsewhere' } }));
    expect(ok.status).toBe(201);
    expect((JSON.parse(ok.body) as { Warnings: string[] }).Warnings).toContain('CgroupParent "elsewhere" is ignored: this rootless engine places containers in its delegated cgroup');
  });

  it('passes the exit code through, and keeps it with --rm', async () => {
    const r = await docker(['run', '--rm', busybox, 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toBe('err\n');
  });

  it('a command that is missing exits 127, one that cannot run 126, with dockerd words and State', async () => {
    const missing = await docker(['run', '--rm', busybox, 'no-such-command']);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain('exec: "no-such-command": executable file not found in $PATH');
    const path = await docker(['run', '--rm', busybox, '/no/such/file']);
    expect(path.code).toBe(127);
    expect((await docker(['run', '--rm', busybox, '/etc/passwd'])).code).toBe(126);
    const name = uniqueName('missing-cmd');
    expect((await docker(['run', '--name', name, busybox, 'no-such-command'])).code).toBe(127);
    expect(await inspectField(name, '{{.State.ExitCode}} {{.State.Status}}')).toBe('127 created');
    expect(await inspectField(name, '{{.State.Error}}')).toContain('executable file not found in $PATH');
  });

  it('pulls an image that is not there yet', async () => {
    const ref = bed.images.busyboxUncompressed.digestReference;
    const had = (await docker(['image', 'inspect', ref])).code === 0;
    const r = await docker(['run', '--rm', ref, 'echo', 'pulled']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('pulled\n');
    if (!had) expect(r.stderr).toContain('Unable to find image');
  });

  it('keeps image file ownership, runs as --user and honours --read-only', async () => {
    const owner = await docker(['run', '--rm', busybox, 'stat', '-c', '%u', '/home/nobody/secret']);
    expect(owner.stdout.trim()).toBe('65534');
    const user = await docker(['run', '--rm', '--user', '65534', busybox, 'id', '-u']);
    expect(user.stdout.trim()).toBe('65534');
    const ro = await docker(['run', '--rm', '--read-only', busybox, 'touch', '/x']);
    expect(ro.code).not.toBe(0);
    expect(ro.stderr).toMatch(/Read-only file system/);
    const rw = await docker(['run', '--rm', busybox, 'touch', '/x']);
    expect(rw.code).toBe(0);
  });

  it('gives a hostname of 12 hex digits; --network none is loopback only; --network host shares the host network', async () => {
    const name = uniqueName('net');
    const r = await docker(['run', '--name', name, '--network', 'none', busybox, 'sh', '-c', 'hostname; cat /etc/hostname; ls /sys/class/net']);
    expect(r.code, r.stderr).toBe(0);
    const id = await inspectField(name, '{{.Id}}');
    const [h1, h2, ...ifaces] = r.stdout.trim().split('\n');
    expect(h1).toBe(id.slice(0, 12));
    expect(h2).toBe(id.slice(0, 12));
    expect(ifaces.join(' ').trim()).toBe('lo');
    const host = await docker(['run', '--rm', '--network', 'host', busybox, 'ls', '/sys/class/net']);
    expect(host.code).toBe(0);
    expect(host.stdout.trim().split(/\s+/).length).toBeGreaterThan(1);
  });
});

describe('detached containers', () => {
  it('docker run -d, logs, logs -f ending at exit, --tail', async () => {
    const name = uniqueName('logs');
    const run = await docker(['run', '-d', '--name', name, busybox, 'sh', '-c', 'for i in 1 2 3; do echo line$i; sleep 0.3; done; echo bye >&2']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toMatch(/^[a-f0-9]{64}$/);
    const follow = await docker(['logs', '-f', name], { timeoutMs: 20_000 });
    expect(follow.code).toBe(0);
    expect(follow.stdout).toBe('line1\nline2\nline3\n');
    expect(follow.stderr).toBe('bye\n');
    const tail = await docker(['logs', '--tail', '2', name]);
    expect(tail.stdout + tail.stderr).toBe('line3\nbye\n');
    const ts = await docker(['logs', '-t', '--tail', '1', name]);
    expect(ts.stderr).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z bye\n$/);
    expect((await docker(['wait', name])).stdout.trim()).toBe('0');
  });

  it('docker stop uses SIGKILL after the timeout; ps and inspect show it', async () => {
    const name = uniqueName('stop');
    expect((await docker(['run', '-d', '--name', name, busybox, 'sleep', '1000'])).code).toBe(0);
    expect(await inspectField(name, '{{.State.Status}}')).toBe('running');
    const ps = await docker(['ps', '--filter', `name=${name}`, '--format', '{{.Names}} {{.Status}}']);
    expect(ps.stdout.trim()).toMatch(new RegExp(`^${name} Up `));
    const started = Date.now();
    const stop = await docker(['stop', '-t', '1', name]);
    expect(stop.code, stop.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(8000);
    expect(await inspectField(name, '{{.State.ExitCode}}')).toBe('137');
    expect(await inspectField(name, '{{.State.Status}}')).toBe('exited');
    const psa = await docker(['ps', '-a', '--filter', `name=${name}`, '--format', '{{.Names}}|{{.Status}}|{{.Image}}']);
    expect(psa.stdout.trim()).toMatch(new RegExp(`^${name}\\|Exited \\(137\\) .* ago\\|`));
    expect((await docker(['ps', '--filter', `name=${name}`, '-q'])).stdout.trim()).toBe('');
    const again = await rawRequest(bed.socket, 'POST', `/containers/${name}/stop`);
    expect(again.status).toBe(304);
  });

  it('docker kill -s sends the signal; kill of a stopped container is 409', async () => {
    const name = uniqueName('kill');
    expect((await docker(['run', '-d', '--name', name, busybox, 'sh', '-c', "trap 'exit 42' USR1; echo trapped; while true; do sleep 0.1; done"])).code).toBe(0);
    await waitFor(async () => (await docker(['logs', name])).stdout.includes('trapped'));
    const k = await docker(['kill', '-s', 'USR1', name]);
    expect(k.code, k.stderr).toBe(0);
    const w = await docker(['wait', name]);
    expect(w.stdout.trim()).toBe('42');
    const id = await inspectField(name, '{{.Id}}');
    const again = await rawRequest(bed.socket, 'POST', `/containers/${name}/kill`);
    expect(again.status).toBe(409);
    expect(JSON.parse(again.body)).toEqual({ message: `Container ${id} is not running` });
  });

  it('docker rm refuses a running container, rm -f removes it; lookups by prefix and 404s', async () => {
    const name = uniqueName('rm');
    const run = await docker(['run', '-d', '--name', name, busybox, 'sleep', '1000']);
    const id = run.stdout.trim();
    const refused = await rawRequest(bed.socket, 'DELETE', `/containers/${id.slice(0, 12)}`);
    expect(refused.status).toBe(409);
    expect(JSON.parse(refused.body).message).toBe(`cannot remove container "${id.slice(0, 12)}": container is running: stop the container before removing or force remove`);
    expect(await inspectField(`/${name}`, '{{.Id}}')).toBe(id);
    const rm_ = await docker(['rm', '-f', name]);
    expect(rm_.code, rm_.stderr).toBe(0);
    const missing = await rawRequest(bed.socket, 'GET', `/containers/${name}/json`);
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toEqual({ message: `No such container: ${name}` });
  });

  it('name conflicts, rename, create/start/restart and ps -a --format', async () => {
    const name = uniqueName('ren');
    const other = uniqueName('ren2');
    const c = await docker(['create', '--name', name, '--label', 'burrow.test=yes', busybox, 'sh', '-c', 'echo run']);
    expect(c.code, c.stderr).toBe(0);
    const id = c.stdout.trim();
    const dup = await rawRequest(bed.socket, 'POST', `/containers/create?name=${name}`, JSON.stringify({ Image: busybox, Cmd: ['true'] }));
    expect(dup.status).toBe(409);
    expect(JSON.parse(dup.body).message).toBe(
      `Conflict. The container name "/${name}" is already in use by container "${id}". You have to remove (or rename) that container to be able to reuse that name.`,
    );
    expect((await docker(['ps', '-a', '--filter', `id=${id}`, '--format', '{{.Names}} {{.Status}}'])).stdout.trim()).toBe(`${name} Created`);
    expect((await docker(['rename', name, other])).code).toBe(0);
    expect((await docker(['start', '-a', other])).stdout).toBe('run\n');
    expect((await docker(['restart', other])).code).toBe(0);
    expect((await docker(['wait', other])).stdout.trim()).toBe('0');
    expect((await docker(['logs', other])).stdout).toBe('run\nrun\n');
    const labelled = await docker(['ps', '-a', '--filter', 'label=burrow.test=yes', '--filter', 'status=exited', '--format', '{{.ID}}']);
    expect(labelled.stdout.split('\n')).toContain(id.slice(0, 12));
    const byAncestor = await docker(['ps', '-a', '--filter', `ancestor=${busybox}`, '--filter', 'exited=0', '--format', '{{.Names}}']);
    expect(byAncestor.stdout.split('\n')).toContain(other);
  });

  it('docker restart of a --rm container restarts it; its exit after that still removes it', async () => {
    const name = uniqueName('rm-restart');
    const id = (await docker(['run', '-d', '--rm', '--name', name, busybox, 'sleep', '1000'])).stdout.trim();
    const r = await docker(['restart', '-t', '0', name]);
    expect(r.code, r.stderr).toBe(0);
    expect(await inspectField(name, '{{.State.Status}} {{.Id}}')).toBe(`running ${id}`);
    expect((await docker(['stop', '-t', '0', name])).code).toBe(0);
    await waitFor(async () => (await rawRequest(bed.socket, 'GET', `/containers/${id}/json`)).status === 404);
  });

  it('docker container prune removes stopped containers only', async () => {
    const done = uniqueName('prune-done');
    const live = uniqueName('prune-live');
    expect((await docker(['run', '--name', done, '--label', `burrow.prune=${process.pid}`, busybox, 'true'])).code).toBe(0);
    expect((await docker(['run', '-d', '--name', live, '--label', `burrow.prune=${process.pid}`, busybox, 'sleep', '1000'])).code).toBe(0);
    const r = await docker(['container', 'prune', '-f', '--filter', `label=burrow.prune=${process.pid}`]);
    expect(r.code, r.stderr).toBe(0);
    expect((await docker(['inspect', done])).code).toBe(1);
    expect(await inspectField(live, '{{.State.Running}}')).toBe('true');
    expect((await docker(['rm', '-f', live])).code).toBe(0);
  });
});

describe('raw API', () => {
  it('attach with Upgrade: tcp answers 101 with the multiplexed content type; without Upgrade it hijacks with 200', async () => {
    const name = uniqueName('attach');
    const c = await rawRequest(bed.socket, 'POST', `/containers/create?name=${name}`, JSON.stringify({ Image: busybox, Cmd: ['sh', '-c', 'echo hi; echo oops >&2'] }));
    expect(c.status).toBe(201);
    /** One attach on a raw socket: `attached` once the response head is in (the session is up), `text` at close. */
    const rawAttach = (head: string, halfClose: boolean): { attached: Promise<void>; text: Promise<string> } => {
      let attached!: () => void;
      const headIn = new Promise<void>((r) => (attached = r));
      const text = new Promise<string>((resolveRead, reject) => {
        const s = createConnection(bed.socket);
        let data = '';
        s.on('connect', () => {
          s.write(head);
          if (halfClose) s.end();
        });
        s.on('data', (b: Buffer) => {
          data += b.toString('latin1');
          if (data.includes('\r\n\r\n')) attached();
        });
        s.on('close', () => resolveRead(data));
        s.on('error', reject);
      });
      return { attached: headIn, text };
    };
    const query = `attach?stream=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: docker\r\n`;
    const upgradedAttach = rawAttach(`POST /v1.50/containers/${name}/${query}Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n`, true);
    // The legacy client keeps its side open, as clients of the no-Upgrade form did.
    const legacyAttach = rawAttach(`POST /v1.41/containers/${name}/${query}\r\n`, false);
    await Promise.all([upgradedAttach.attached, legacyAttach.attached]);
    const upgraded = upgradedAttach.text;
    const start = await rawRequest(bed.socket, 'POST', `/containers/${name}/start`);
    expect(start.status).toBe(204);
    const text = await upgraded;
    expect(text).toMatch(/^HTTP\/1.1 101 UPGRADED\r\n/);
    expect(text).toContain('Content-Type: application/vnd.docker.multiplexed-stream\r\n');
    expect(text).toContain('Upgrade: tcp\r\n');
    const body = text.slice(text.indexOf('\r\n\r\n') + 4);
    expect(body).toContain('\x01\x00\x00\x00\x00\x00\x00\x03hi\n');
    expect(body).toContain('\x02\x00\x00\x00\x00\x00\x00\x05oops\n');
    const old = await legacyAttach.text;
    expect(old).toMatch(/^HTTP\/1.1 200 OK\r\n/);
    expect(old).toMatch(/\r\nContent-Type: application\/vnd.docker.raw-stream\r\n/i);
    expect(old.slice(old.indexOf('\r\n\r\n') + 4)).toContain('hi\n');
  });

  it('wait flushes its headers at once; create has no warnings for port publishing', async () => {
    const name = uniqueName('waitraw');
    const c = await rawRequest(
      bed.socket,
      'POST',
      `/containers/create?name=${name}`,
      JSON.stringify({ Image: busybox, Cmd: ['sleep', '1000'], HostConfig: { PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } } }),
    );
    expect(c.status).toBe(201);
    expect((JSON.parse(c.body) as { Warnings: string[] }).Warnings).toEqual([]);
    const plain = await rawRequest(bed.socket, 'POST', '/containers/create', JSON.stringify({ Image: busybox, Cmd: ['true'] }));
    const plainId = (JSON.parse(plain.body) as { Id: string; Warnings: string[] }).Id;
    expect((JSON.parse(plain.body) as { Warnings: string[] }).Warnings).toEqual([]);
    expect((await rawRequest(bed.socket, 'DELETE', `/containers/${plainId}`)).status).toBe(204);
    expect((await rawRequest(bed.socket, 'POST', `/containers/${name}/start`)).status).toBe(204);
    expect((await rawRequest(bed.socket, 'POST', `/containers/${name}/start`)).status).toBe(304);
    const headers = await new Promise<number>((resolveHead, reject) => {
      const req = httpRequest({ socketPath: bed.socket, method: 'POST', path: `/containers/${name}/wait?condition=removed` }, (res) => {
        resolveHead(res.statusCode ?? 0);
        res.resume();
      });
      req.on('error', reject);
      req.end();
    });
    expect(headers).toBe(200);
    const missing = await rawRequest(bed.socket, 'GET', `/containers/${name}/logs`);
    expect(missing.status).toBe(400);
    expect((await rawRequest(bed.socket, 'DELETE', `/containers/${name}?force=1`)).status).toBe(204);
  });
});

describe('library clients', () => {
  it('docker-py containers.run returns the output', async () => {
    const name = uniqueName('py');
    const r = await dockerPy(
      bed.dockerHost,
      `import docker, os\nc = docker.DockerClient(base_url=os.environ["DOCKER_HOST"])\nprint(repr(c.containers.run(${JSON.stringify(busybox)}, "echo hi", name=${JSON.stringify(name)})))`,
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe("b'hi\\n'");
  });

  it('dockerode create, start, wait, remove', async () => {
    const client = new Docker({ socketPath: bed.socket });
    const name = uniqueName('dockerode');
    const c = await client.createContainer({ Image: busybox, Cmd: ['sh', '-c', 'exit 5'], name });
    await c.start();
    const w = (await c.wait()) as { StatusCode: number };
    expect(w.StatusCode).toBe(5);
    const info = await c.inspect();
    expect(info.State.ExitCode).toBe(5);
    expect(info.Name).toBe(`/${name}`);
    await c.remove();
    await expect(c.inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it("the API socket bind-mounted into a container works from inside, as Ryuk and docker-in-docker tools use it", async () => {
    // The host's docker CLI (wherever it is installed) and its libc, mounted read-only, talk to the daemon
    // that runs the container.
    const found = await runProcess('sh', ['-c', 'readlink -f "$(command -v docker)"']);
    const hostCli = found.stdout.trim();
    expect(hostCli, found.stderr).not.toBe('');
    const cli = ['-v', `${hostCli}:/usr/local/bin/docker:ro`, '-v', '/lib/x86_64-linux-gnu:/lib/x86_64-linux-gnu:ro', '-v', '/lib64:/lib64:ro', '-e', 'HOME=/tmp'];
    const name = uniqueName('socket-user');
    const r = await docker(['run', '--rm', '--name', name, '-v', `${bed.socket}:/var/run/docker.sock`, ...cli, busybox, 'docker', 'ps', '--format', '{{.Names}}']);
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')).toContain(name);
  });

  it('docker ps -n N lists the last N created in any state (limit implies all), newest first', async () => {
    const first = uniqueName('limit-created');
    const second = uniqueName('limit-created');
    expect((await docker(['create', '--name', first, busybox, 'true'])).code).toBe(0);
    expect((await docker(['create', '--name', second, busybox, 'true'])).code).toBe(0);
    const r = await docker(['ps', '-n', '2', '--format', '{{.Names}} {{.State}}']);
    expect(r.stdout.trim().split('\n')).toEqual([`${second} created`, `${first} created`]);
    // Without a limit only running ones show.
    expect((await docker(['ps', '--format', '{{.Names}}'])).stdout.split('\n')).not.toContain(first);
  });

  it('docker info counts containers', async () => {
    const info = JSON.parse((await docker(['info', '--format', '{{json .}}'])).stdout) as { Containers: number; ContainersRunning: number };
    expect(info.Containers).toBeGreaterThanOrEqual(info.ContainersRunning);
  });
});

describe('daemon restart', () => {
  let dir: string;
  let daemon: RunningDaemon | undefined;

  afterAll(async () => {
    if (daemon) await daemon.stop();
    if (dir) await removeTree(dir);
  });

  it('a container survives a SIGKILLed daemon and is managed by the next one', async () => {
    dir = await mkdtemp(join(tmpdir(), 'burrow-restart-'));
    daemon = await startDaemon({ dir });
    const cli = dockerCli(daemon.dockerHost);
    expect((await cli(['pull', busybox])).code).toBe(0);
    const run = await cli(['run', '-d', '--name', 'survivor', busybox, 'sh', '-c', 'echo before; sleep 2; echo during; sleep 1000']);
    expect(run.code, run.stderr).toBe(0);
    await waitFor(async () => (await cli(['logs', 'survivor'])).stdout === 'before\n');
    const logPath = await inspectField('survivor', '{{.LogPath}}', cli);
    await daemon.kill();
    // conmon keeps writing the log while no daemon runs: wait until the line made meanwhile is in it.
    await waitFor(async () => (await readFile(logPath, 'utf8').catch(() => '')).includes('during'));
    daemon = await startDaemon({ dir });
    expect(await inspectField('survivor', '{{.State.Status}}', cli)).toBe('running');
    expect((await cli(['logs', 'survivor'])).stdout).toBe('before\nduring\n');
    const stop = await cli(['stop', '-t', '1', 'survivor']);
    expect(stop.code, stop.stderr).toBe(0);
    expect(await inspectField('survivor', '{{.State.ExitCode}}', cli)).toBe('137');
    expect((await cli(['rm', 'survivor'])).code).toBe(0);
    expect(await daemon.stop()).toBe(0);
    daemon = undefined;
  });

  it('an exit that happens while the daemon is down is recorded', async () => {
    daemon = await startDaemon({ dir });
    const cli = dockerCli(daemon.dockerHost);
    expect((await cli(['run', '-d', '--name', 'quitter', busybox, 'sh', '-c', 'sleep 2; exit 7'])).code).toBe(0);
    const pid = await inspectField('quitter', '{{.State.Pid}}', cli);
    await daemon.kill();
    // The exit happens while no daemon runs: wait until conmon has reaped the process.
    await waitFor(async () => (await runProcess('kill', ['-0', pid])).code !== 0);
    daemon = await startDaemon({ dir });
    // conmon may still be writing the exit file when the process is gone: recovery or the exit watcher records it.
    await waitFor(async () => (await inspectField('quitter', '{{.State.Status}} {{.State.ExitCode}}', cli)) === 'exited 7');
    expect((await cli(['rm', 'quitter'])).code).toBe(0);
    expect(await daemon.stop()).toBe(0);
    daemon = undefined;
  });
});

describe('security defaults', () => {
  it("applies dockerd's capabilities and seccomp profile; --cap-drop ALL and seccomp=unconfined change them", async () => {
    const status = async (extra: string[]): Promise<string> => {
      const r = await docker(['run', '--rm', ...extra, busybox, 'grep', '-E', '^(CapEff|Seccomp):', '/proc/self/status']);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.replace(/[ \t]+/g, ' ').trim();
    };
    expect(await status([])).toBe('CapEff: 00000000a80425fb\nSeccomp: 2');
    expect(await status(['--cap-drop', 'ALL'])).toBe('CapEff: 0000000000000000\nSeccomp: 2');
    expect(await status(['--security-opt', 'seccomp=unconfined'])).toBe('CapEff: 00000000a80425fb\nSeccomp: 0');
  });

  it('compiles a seccomp profile once: a later container with the same profile gets the filter crun compiled, and it is in force', async () => {
    const first = uniqueName('seccomp-first');
    const second = uniqueName('seccomp-second');
    for (const name of [first, second]) expect((await docker(['run', '-d', '--name', name, busybox, 'sleep', '600'])).code).toBe(0);
    const idOf = async (name: string): Promise<string> => inspectField(name, '{{.Id}}');
    const annotations = async (name: string): Promise<Record<string, string>> =>
      (JSON.parse(await readFile(join(bed.privateDir, 'data', 'containers', await idOf(name), 'bundle', 'config.json'), 'utf8')) as { annotations?: Record<string, string> }).annotations ?? {};
    // What crun compiled for the first one is what the second one was handed.
    const compiled = await readFile(join(bed.privateDir, 'xdg-run', 'burrow', 'crun', await idOf(first), 'seccomp.bpf'));
    expect(compiled.length).toBeGreaterThan(0);
    expect((await annotations(second))['run.oci.seccomp_bpf_data']).toBe(compiled.toString('base64'));
    const r = await docker(['exec', second, 'grep', '-E', '^Seccomp(_filters)?:', '/proc/self/status']);
    expect(r.stdout.replace(/[ \t]+/g, ' ').trim()).toBe('Seccomp: 2\nSeccomp_filters: 1');
    // No profile, no filter: unconfined gets none handed to it either.
    const free = uniqueName('seccomp-none');
    expect((await docker(['run', '-d', '--name', free, '--security-opt', 'seccomp=unconfined', busybox, 'sleep', '600'])).code).toBe(0);
    expect((await annotations(free))['run.oci.seccomp_bpf_data']).toBeUndefined();
    expect((await docker(['rm', '-f', first, second, free])).code).toBe(0);
  });
});

describe('images in use', () => {
  it('rmi refuses an image a container uses (409), cannot be forced while it runs, and -f only untags', async () => {
    // An image of its own (a commit), so the alias is its only reference.
    const alias = `burrow-test/in-use:${process.pid}`;
    const base = uniqueName('in-use-base');
    expect((await docker(['run', '--name', base, busybox, 'touch', '/marker'])).code).toBe(0);
    expect((await docker(['commit', base, alias])).code).toBe(0);
    const name = uniqueName('in-use');
    expect((await docker(['run', '-d', '--name', name, alias, 'sleep', '1000'])).code).toBe(0);
    const running = await docker(['rmi', '-f', alias]);
    expect(running.code).not.toBe(0);
    expect(running.stderr).toContain('(cannot be forced) - image is being used by running container');
    expect((await docker(['stop', '-t', '0', name])).code).toBe(0);
    const stopped = await docker(['rmi', alias]);
    expect(stopped.code).not.toBe(0);
    expect(stopped.stderr).toMatch(/conflict: unable to remove repository reference ".*in-use.*" \(must force\) - container [0-9a-f]{12} is using its referenced image/);
    const forced = await docker(['rmi', '-f', alias]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toContain('Untagged:');
    expect(forced.stdout).not.toContain('Deleted:');
    // The untagged image's layers are still there for the container's overlay.
    expect((await docker(['start', name])).code).toBe(0);
    expect(await inspectField(name, '{{.State.Running}}')).toBe('true');
  });
});

describe('cleanup', () => {
  it('leaves no conmon, crun or container process behind', async () => {
    for (const name of created) await docker(['rm', '-f', name]);
    created.clear();
    await waitFor(async () => {
      const ps = await runProcess('ps', ['-u', String(process.getuid?.()), '-o', 'stat=,comm=,args=']);
      // Only this file's daemon: other suites may run containers at the same time.
      const left = ps.stdout.split('\n').filter((l) => /\b(conmon|crun)\b/.test(l) && l.includes(bed.privateDir) && !l.startsWith('Z'));
      return left.length === 0;
    }, 15_000);
  });
});
