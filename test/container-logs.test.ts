import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerCli, rawRequest } from './harness/clients.js';
import { isolatedTestbed } from './harness/isolated.js';
import { containerKit } from './harness/container-kit.js';

const bed = await isolatedTestbed();
const docker = dockerCli(bed.dockerHost);
const busybox = bed.images.busybox.reference;
const containersDir = join(bed.privateDir, 'data', 'containers');

const { uniqueName, removeAll } = containerKit(docker);

async function idOf(name: string): Promise<string> {
  const r = await docker(['inspect', '--format', '{{.Id}}', name]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

/**
 * A paced writer: numbered lines of about 100 bytes, `pauseUs` apart. Rotation is the daemon's job,
 * so a file must take longer to fill than a loaded daemon takes to notice conmon's rename.
 */
const writer = (lines: number, pauseUs = 5000): string[] => ['sh', '-c', `i=0; while [ $i -lt ${lines} ]; do echo "line $i $(printf '%080d' 0)"; i=$((i+1)); usleep ${pauseUs}; done`];

beforeAll(async () => {
  const r = await docker(['pull', busybox]);
  expect(r.code, r.stderr).toBe(0);
});

afterAll(async () => {
  await removeAll();
});

describe('json-file rotation (max-size / max-file)', () => {
  it('keeps at most max-file files of at most max-size, and logs reads across them in order', async () => {
    const name = uniqueName('rotate');
    // ~600 lines × ~150 bytes on disk ≈ 90 KB: far more than 3 × 8 KiB.
    const run = await docker(['run', '--name', name, '--log-opt', 'max-size=8k', '--log-opt', 'max-file=3', busybox, ...writer(600)], { timeoutMs: 60_000 });
    expect(run.code, run.stderr).toBe(0);
    const id = await idOf(name);
    const files = (await readdir(join(containersDir, id))).filter((f) => f.startsWith('ctr.log'));
    expect(files.sort()).toEqual(['ctr.log', 'ctr.log.1', 'ctr.log.2']);
    for (const f of files) expect((await stat(join(containersDir, id, f))).size).toBeLessThanOrEqual(8 * 1024);

    const all = await docker(['logs', name]);
    expect(all.code, all.stderr).toBe(0);
    const numbers = all.stdout.trim().split('\n').map((l) => Number(l.split(' ')[1]));
    expect(numbers.at(-1)).toBe(599);
    expect(numbers[0]).toBeGreaterThan(0);
    // Oldest file first, without gaps or repeats: each line follows the one before it.
    expect(numbers.every((n, i) => i === 0 || n === (numbers[i - 1] ?? 0) + 1)).toBe(true);
    expect(numbers.length).toBeGreaterThan(100);

    const tail = await docker(['logs', '--tail', '3', name]);
    expect(tail.stdout.trim().split('\n').map((l) => l.split(' ')[1])).toEqual(['597', '598', '599']);

    const inspect = await docker(['inspect', '--format', '{{json .HostConfig.LogConfig}}', name]);
    expect(JSON.parse(inspect.stdout)).toEqual({ Type: 'json-file', Config: { 'max-size': '8k', 'max-file': '3' } });
  });

  it('follows across rotations while the container runs', async () => {
    const name = uniqueName('follow');
    const r = await docker(['run', '-d', '--name', name, '--log-opt', 'max-size=4k', '--log-opt', 'max-file=2', busybox, ...writer(300, 10_000)]);
    expect(r.code, r.stderr).toBe(0);
    const follow = await docker(['logs', '-f', name], { timeoutMs: 60_000 });
    expect(follow.code, follow.stderr).toBe(0);
    const numbers = follow.stdout.trim().split('\n').map((l) => Number(l.split(' ')[1]));
    expect(numbers.at(-1)).toBe(299);
    expect(numbers.every((n, i) => i === 0 || n === (numbers[i - 1] ?? 0) + 1)).toBe(true);
  });

  it('a restarted container starts a new file and keeps the count', async () => {
    const name = uniqueName('restart');
    const r = await docker(['run', '--name', name, '--log-opt', 'max-size=4k', '--log-opt', 'max-file=2', busybox, 'echo', 'one']);
    expect(r.code, r.stderr).toBe(0);
    expect((await docker(['start', '-a', name])).stdout).toBe('one\n');
    expect((await docker(['logs', name])).stdout).toBe('one\none\n');
    const id = await idOf(name);
    const files = (await readdir(join(containersDir, id))).filter((f) => f.startsWith('ctr.log'));
    expect(files.sort()).toEqual(['ctr.log', 'ctr.log.1']);
  });

  it('refuses bad options and unsupported drivers with 400', async () => {
    const bad = await docker(['create', '--log-opt', 'max-file=0', '--log-opt', 'max-size=1m', busybox]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('max-file cannot be less than 1');
    const unknownOpt = await docker(['create', '--log-opt', 'colour=blue', busybox]);
    expect(unknownOpt.stderr).toContain("unknown log opt 'colour' for json-file log driver");
    const size = await docker(['create', '--log-opt', 'max-size=lots', busybox]);
    expect(size.stderr).toContain("invalid size: 'lots'");
    for (const driver of ['syslog', 'journald']) {
      const res = await rawRequest(bed.socket, 'POST', '/containers/create', JSON.stringify({ Image: busybox, HostConfig: { LogConfig: { Type: driver, Config: {} } } }));
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body).message).toContain(driver);
    }
    const unknown = await docker(['create', '--log-driver', 'nosuch', busybox]);
    expect(unknown.stderr).toContain("logger: no log driver named 'nosuch' is registered");
  });
});

describe('--log-driver none', () => {
  it('runs attached as usual, keeps no log, and docker logs answers as dockerd does', async () => {
    const name = uniqueName('none');
    const run = await docker(['run', '--name', name, '--log-driver', 'none', busybox, 'echo', 'hi']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('hi\n');
    const logs = await docker(['logs', name]);
    expect(logs.code).not.toBe(0);
    expect(logs.stderr).toContain('configured logging driver does not support reading');
    const raw = await rawRequest(bed.socket, 'GET', `/containers/${name}/logs?stdout=1`);
    expect(raw.status).toBe(501);
    const inspect = await docker(['inspect', '--format', '{{.HostConfig.LogConfig.Type}}', name]);
    expect(inspect.stdout.trim()).toBe('none');
  });
});
