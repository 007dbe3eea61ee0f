import { mkdtemp, readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectCgroups } from '../rootless/cgroups/detect.js';
import { containerCgroupDirs } from '../rootless/cgroups/files.js';
import { stopHolder } from '../rootless/userns-holder.js';
import { LIMIT_WARNINGS } from '../translate/oci-limits.js';
import { removeTree } from './harness/cleanup.js';
import { dockerCli, rawRequest } from './harness/clients.js';
import { startDaemon, type RunningDaemon } from './harness/daemon.js';
import { isolatedTestbed } from './harness/isolated.js';
import { containerKit, waitFor } from './harness/container-kit.js';

const bed = await isolatedTestbed();
const docker = dockerCli(bed.dockerHost);
const busybox = bed.images.busybox.reference;
const me = userInfo();
const cgroups = await detectCgroups({ user: me.username, uid: me.uid });
const delegated = cgroups.driver === 'cgroupfs';

const { uniqueName, inspectField, removeAll } = containerKit(docker);



async function runDetached(name: string, args: string[]): Promise<string> {
  const r = await docker(['run', '-d', '--name', name, ...args]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

/** The container's own cgroup file, read straight from the delegated hierarchy. */
async function cgroupFile(id: string, controller: 'memory' | 'cpuacct' | 'pids' | 'freezer', file: string): Promise<string> {
  const dir = containerCgroupDirs(cgroups, id)?.dirs[controller];
  if (!dir) throw new Error(`no ${controller} cgroup`);
  return (await readFile(join(dir, file), 'utf8')).trim();
}

async function logLines(name: string): Promise<number> {
  return (await docker(['logs', name])).stdout.split('\n').filter(Boolean).length;
}

beforeAll(async () => {
  const r = await docker(['pull', busybox]);
  expect(r.code, r.stderr).toBe(0);
});

afterAll(async () => {
  await removeAll();
});

describe.skipIf(!delegated)('limits in a delegated cgroup', () => {
  it('docker run --rm -m 32m tail /dev/zero is OOM-killed: exit 137', async () => {
    const r = await docker(['run', '--rm', '-m', '32m', busybox, 'sh', '-c', 'tail /dev/zero']);
    expect(r.code, r.stderr).toBe(137);
  });

  it('a detached OOM kill shows OOMKilled, exit 137 and an oom event', async () => {
    const name = uniqueName('oom');
    const since = Math.floor(Date.now() / 1000) - 1;
    const id = await runDetached(name, ['-m', '32m', busybox, 'sh', '-c', 'tail /dev/zero']);
    expect(await cgroupFile(id, 'memory', 'memory.limit_in_bytes').catch(() => String(32 << 20))).toBe(String(32 << 20));
    expect((await docker(['wait', name])).stdout.trim()).toBe('137');
    expect(await inspectField(name, '{{.State.OOMKilled}} {{.State.ExitCode}}')).toBe('true 137');
    const until = Math.ceil(Date.now() / 1000) + 1;
    const filters = encodeURIComponent(JSON.stringify({ container: [name], event: ['oom'] }));
    const ev = await rawRequest(bed.socket, 'GET', `/events?since=${since}&until=${until}&filters=${filters}`);
    expect(ev.status).toBe(200);
    expect(ev.body).toContain('"Action":"oom"');
  });

  it('--pids-limit 20 holds a fork loop at 20 processes and the container survives', async () => {
    const name = uniqueName('pids');
    // The forking subshell dies at its first failed fork (ash gives up); the container's main process
    // then execs, which needs no new pid, and lives on.
    const id = await runDetached(name, ['--pids-limit', '20', busybox, 'sh', '-c', '(while :; do sleep 300 & done); exec sleep 300']);
    await waitFor(async () => Number(await cgroupFile(id, 'pids', 'pids.current')) >= 15);
    await sleep(1000);
    expect(await cgroupFile(id, 'pids', 'pids.max')).toBe('20');
    expect(Number(await cgroupFile(id, 'pids', 'pids.current'))).toBeLessThanOrEqual(20);
    expect(await inspectField(name, '{{.State.Running}}')).toBe('true');
    const stats = await docker(['stats', '--no-stream', '--format', '{{.PIDs}}', name]);
    expect(Number(stats.stdout.trim())).toBeLessThanOrEqual(20);
    expect(Number(stats.stdout.trim())).toBeGreaterThan(1);
  });

  it('CpuShares, CpusetCpus, MemoryReservation and BlkioWeight reach the cgroup', async () => {
    const name = uniqueName('knobs');
    const r = await docker(['run', '-d', '--name', name, '--cpu-shares', '512', '--cpuset-cpus', '0', '--memory-reservation', '16m', '--blkio-weight', '300', busybox, 'sleep', '300']);
    expect(r.code, r.stderr).toBe(0);
    const dirs = containerCgroupDirs(cgroups, r.stdout.trim())?.dirs ?? {};
    const read = async (dir: string | undefined, file: string): Promise<string> => (await readFile(join(dir ?? '', file), 'utf8')).trim();
    expect(await read(dirs.cpu, 'cpu.shares')).toBe('512');
    expect(await read(dirs.cpuset, 'cpuset.cpus')).toBe('0');
    expect(await read(dirs.memory, 'memory.soft_limit_in_bytes')).toBe(String(16 << 20));
    // A BFQ-only kernel (this host) has no blkio.weight: the weight is warned about, not a failed start.
    if (cgroups.controllers.io) expect(await read(dirs.blkio, 'blkio.weight')).toBe('300');
    else expect(r.stderr).toContain(LIMIT_WARNINGS.blkio);
  });

  it('--cpus 0.5 holds a busy loop at about half a core', async () => {
    const name = uniqueName('cpus');
    const id = await runDetached(name, ['--cpus', '0.5', busybox, 'sh', '-c', 'while :; do :; done']);
    await sleep(500);
    const u0 = Number(await cgroupFile(id, 'cpuacct', 'cpuacct.usage'));
    const t0 = process.hrtime.bigint();
    await sleep(3000);
    const u1 = Number(await cgroupFile(id, 'cpuacct', 'cpuacct.usage'));
    const wall = Number(process.hrtime.bigint() - t0);
    const share = (u1 - u0) / wall;
    expect(share).toBeGreaterThan(0.2);
    expect(share).toBeLessThan(0.8);
    // docker stats' CPU % from the same cgroup: about 50 % of one CPU.
    const cpu = Number.parseFloat((await docker(['stats', '--no-stream', '--format', '{{.CPUPerc}}', name])).stdout);
    expect(cpu).toBeGreaterThan(20);
    expect(cpu).toBeLessThan(80);
  });

  it('docker update --memory 64m changes the live limit, stats show it, a restart keeps it', async () => {
    const name = uniqueName('update');
    const id = await runDetached(name, ['-m', '32m', busybox, 'sleep', '300']);
    expect(await cgroupFile(id, 'memory', 'memory.limit_in_bytes')).toBe(String(32 << 20));
    const up = await docker(['update', '--memory', '64m', '--restart', 'always', name]);
    expect(up.code, up.stderr).toBe(0);
    expect(await cgroupFile(id, 'memory', 'memory.limit_in_bytes')).toBe(String(64 << 20));
    const usage = await docker(['stats', '--no-stream', '--format', '{{.MemUsage}}', name]);
    expect(usage.stdout).toMatch(/\/ 64MiB/);
    expect(await inspectField(name, '{{.HostConfig.Memory}} {{.HostConfig.RestartPolicy.Name}}')).toBe(`${64 << 20} always`);
    const restart = await docker(['restart', '-t', '0', name]);
    expect(restart.code, restart.stderr).toBe(0);
    expect(await cgroupFile(id, 'memory', 'memory.limit_in_bytes')).toBe(String(64 << 20));
  });

  it('docker pause stops a counter, unpause resumes it; a paused container stops', async () => {
    const name = uniqueName('pause');
    const id = await runDetached(name, [busybox, 'sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i; sleep 0.1; done']);
    await waitFor(async () => (await logLines(name)) > 3);
    const pause = await docker(['pause', name]);
    expect(pause.code, pause.stderr).toBe(0);
    expect(await inspectField(name, '{{.State.Status}} {{.State.Paused}}')).toBe('paused true');
    expect(await cgroupFile(id, 'freezer', 'freezer.state')).toBe('FROZEN');
    expect((await docker(['ps', '--filter', `name=${name}`, '--format', '{{.Status}}'])).stdout).toContain('(Paused)');
    expect((await docker(['ps', '-q', '--filter', 'status=paused', '--filter', `name=${name}`])).stdout.trim()).toBe(id.slice(0, 12));
    const frozen = await logLines(name);
    await sleep(1500);
    expect(await logLines(name)).toBe(frozen);
    expect((await docker(['pause', name])).stderr).toContain('already paused');
    const unpause = await docker(['unpause', name]);
    expect(unpause.code, unpause.stderr).toBe(0);
    expect(await inspectField(name, '{{.State.Status}} {{.State.Paused}}')).toBe('running false');
    await waitFor(async () => (await logLines(name)) > frozen + 3);
    expect((await docker(['pause', name])).code).toBe(0);
    // What a paused container refuses, in dockerd's words and with its 409s.
    const refusals: [string, string, string][] = [
      ['POST', `/containers/${name}/start`, 'cannot start a paused container, try unpause instead'],
      ['DELETE', `/containers/${name}`, `cannot remove container "${name}": container is paused and must be unpaused first`],
      ['POST', `/containers/${name}/exec`, `Container ${id} is paused, unpause the container before exec`],
      ['POST', `/containers/${name}/attach?stream=1&stdout=1`, `container ${name} is paused, unpause the container before attach`],
    ];
    for (const [method, path, message] of refusals) {
      const r = await rawRequest(bed.socket, method, path, method === 'POST' && path.endsWith('/exec') ? JSON.stringify({ Cmd: ['true'] }) : undefined);
      expect([r.status, JSON.parse(r.body)], `${method} ${path}`).toEqual([409, { message }]);
    }
    const stop = await docker(['stop', '-t', '2', name]);
    expect(stop.code, stop.stderr).toBe(0);
    expect(await inspectField(name, '{{.State.Status}} {{.State.Paused}}')).toBe('exited false');
  });
});

describe('stats and top', () => {
  let name: string;
  beforeAll(async () => {
    name = uniqueName('stats');
    // ash execs its last command, so the container is exactly two processes: sleep 300 and sleep 301.
    await runDetached(name, ['-m', '48m', busybox, 'sh', '-c', 'sleep 300 & sleep 301']);
  });

  it("stream=false takes two samples, so precpu_stats is filled, in dockerd's shape", async () => {
    const t0 = Date.now();
    const r = await rawRequest(bed.socket, 'GET', `/containers/${name}/stats?stream=false`);
    expect(r.status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    const s = JSON.parse(r.body) as Record<string, Record<string, unknown>>;
    expect(s.name).toBe(`/${name}`);
    expect(s.preread).not.toBe('0001-01-01T00:00:00Z');
    expect(s.cpu_stats.online_cpus).toBeGreaterThan(0);
    expect(s.precpu_stats.system_cpu_usage).toBeGreaterThan(0);
    expect(Number(s.cpu_stats.system_cpu_usage)).toBeGreaterThan(Number(s.precpu_stats.system_cpu_usage));
    expect(s.memory_stats.usage).toBeGreaterThan(0);
    expect(s.memory_stats.limit).toBe(delegated ? 48 << 20 : expect.any(Number));
    expect(s.pids_stats.current).toBe(2);
    expect(s).toHaveProperty('blkio_stats');
    expect(s).toHaveProperty('storage_stats');
    expect(s.num_procs).toBe(0);
  });

  it('one-shot answers at once with empty precpu; streaming sends a line a second', async () => {
    const r = await rawRequest(bed.socket, 'GET', `/containers/${name}/stats?stream=false&one-shot=true`);
    const s = JSON.parse(r.body) as Record<string, unknown>;
    expect(s.preread).toBe('0001-01-01T00:00:00Z');
    expect((await rawRequest(bed.socket, 'GET', `/containers/${name}/stats?stream=true&one-shot=true`)).status).toBe(400);
    const lines = await new Promise<string[]>((resolve, reject) => {
      const got: string[] = [];
      const req = httpRequest({ socketPath: bed.socket, path: `/containers/${name}/stats`, method: 'GET' }, (res) => {
        let buf = '';
        res.on('data', (b: Buffer) => {
          buf += b.toString();
          const parts = buf.split('\n');
          buf = parts.pop() ?? '';
          got.push(...parts.filter(Boolean));
          if (got.length >= 2) {
            req.destroy();
            resolve(got);
          }
        });
      });
      req.on('error', (e) => (got.length >= 2 ? undefined : reject(e)));
      req.end();
    });
    const second = JSON.parse(lines[1] ?? '{}') as Record<string, unknown>;
    expect(second.preread).toBe((JSON.parse(lines[0] ?? '{}') as Record<string, unknown>).read);
  });

  it('docker stats --no-stream shows CPU % and MEM USAGE / LIMIT', async () => {
    const r = await docker(['stats', '--no-stream', '--format', '{{.Name}}|{{.CPUPerc}}|{{.MemUsage}}|{{.PIDs}}', name]);
    expect(r.code, r.stderr).toBe(0);
    const [n, cpu, mem, pids] = r.stdout.trim().split('|');
    expect(n).toBe(name);
    expect(cpu).toMatch(/^\d+\.\d+%$/);
    expect(mem).toMatch(delegated ? /^[\d.]+[KMG]?i?B \/ 48MiB$/ : /^[\d.]+[KMG]?i?B \/ [\d.]+GiB$/);
    expect(Number(pids)).toBe(2);
  });

  it('docker top lists the container processes', async () => {
    const r = await docker(['top', name]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/PID/);
    expect(lines.filter((l) => l.includes('sleep 30'))).toHaveLength(2);
    const custom = await rawRequest(bed.socket, 'GET', `/containers/${name}/top?ps_args=${encodeURIComponent('-o pid,comm')}`);
    expect(JSON.parse(custom.body)).toMatchObject({ Titles: ['PID', 'COMMAND'] });
    expect((JSON.parse(custom.body) as { Processes: string[][] }).Processes).toHaveLength(2);
  });

  it('answers 409 for a container that is not running', async () => {
    const stopped = uniqueName('stopped');
    expect((await docker(['create', '--name', stopped, busybox, 'true'])).code).toBe(0);
    expect((await rawRequest(bed.socket, 'POST', `/containers/${stopped}/pause`)).status).toBe(409);
    expect((await rawRequest(bed.socket, 'GET', `/containers/${stopped}/top`)).status).toBe(409);
    expect((await rawRequest(bed.socket, 'POST', `/containers/nope-${process.pid}/unpause`)).status).toBe(404);
    const upd = await rawRequest(bed.socket, 'POST', `/containers/${stopped}/update`, JSON.stringify({ CpuShares: 512 }));
    expect(upd.status).toBe(200);
    expect(JSON.parse(upd.body)).toEqual({ Warnings: delegated ? [] : [LIMIT_WARNINGS.shares] });
  });
});

describe('without a delegated cgroup', () => {
  let dir: string;
  let daemon: RunningDaemon;
  let cli: ReturnType<typeof dockerCli>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'burrow-nocg-'));
    daemon = await startDaemon({ dir, env: { BURROW_CGROUP_ROOT: '/nonexistent' } });
    cli = dockerCli(daemon.dockerHost);
    const r = await cli(['pull', busybox]);
    expect(r.code, r.stderr).toBe(0);
  });

  afterAll(async () => {
    await cli(['rm', '-f', 'nocg']).catch(() => undefined);
    await daemon.stop();
    await stopHolder(daemon.runtimeDir);
    await removeTree(dir);
  });

  it('-m 32m gives a create warning and /info says MemoryLimit false', async () => {
    const info = JSON.parse((await rawRequest(daemon.socket, 'GET', '/info')).body) as Record<string, unknown>;
    expect(info.MemoryLimit).toBe(false);
    expect(info.PidsLimit).toBe(false);
    const r = await rawRequest(daemon.socket, 'POST', '/containers/create?name=nocg', JSON.stringify({ Image: busybox, Cmd: ['sleep', '300'], HostConfig: { Memory: 32 << 20 } }));
    expect(r.status, r.body).toBe(201);
    expect((JSON.parse(r.body) as { Warnings: string[] }).Warnings).toContain(LIMIT_WARNINGS.memory);
    const run = await cli(['run', '-d', '--name', 'nocg2', '-m', '32m', busybox, 'sleep', '300']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('memory limit');
    await cli(['rm', '-f', 'nocg2']);
  });

  it('pause is refused with a clear message; stats and top still work from /proc', async () => {
    expect((await cli(['start', 'nocg'])).code).toBe(0);
    const p = await rawRequest(daemon.socket, 'POST', '/containers/nocg/pause');
    expect(p.status).toBe(409);
    expect(p.body).toContain('no cgroup freezer is delegated');
    const s = JSON.parse((await rawRequest(daemon.socket, 'GET', '/containers/nocg/stats?stream=false&one-shot=true')).body) as Record<string, Record<string, number>>;
    expect(s.pids_stats.current).toBe(1);
    expect(s.memory_stats.usage).toBeGreaterThan(0);
    const top = await cli(['top', 'nocg']);
    expect(top.stdout).toContain('sleep 300');
  });
});
