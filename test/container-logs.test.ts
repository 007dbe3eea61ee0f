import { request } from 'node:http';
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
    // Tails that end in the current file, span all three, and ask for more than there is.
    for (const n of [1, 40, numbers.length - 5, numbers.length + 50]) {
      const t = await docker(['logs', '--tail', String(n), name]);
      expect(t.stdout.trim().split('\n').map((l) => Number(l.split(' ')[1])), `tail ${n}`).toEqual(numbers.slice(-n));
    }

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

describe('reading logs in bulk', () => {
  it('gives every byte of a many-chunk log of short lines, partial lines and both streams', async () => {
    const name = uniqueName('bulk');
    // 300,000 two-byte lines make a k8s-file of about 14 MB: many reads, lines cut at every read boundary.
    const script = 'printf "a\\nb"; echo err >&2; printf "c\\n"; yes | head -n 300000; printf "end"';
    const r = await docker(['run', '--name', name, busybox, 'sh', '-c', script], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const logs = await docker(['logs', name], { timeoutMs: 120_000 });
    expect(logs.stdout.length).toBe(5 + 600_000 + 3);
    expect(logs.stdout).toBe(`a\nbc\n${'y\n'.repeat(300_000)}end`);
    expect(logs.stderr).toBe('err\n');
    const tail = await docker(['logs', '--tail', '3', name]);
    expect(tail.stdout).toBe('y\ny\nend');
  });

  it('logs -f keeps up with a container writing as fast as it can', async () => {
    const name = uniqueName('fast');
    const lines = 200_000;
    // The pause lets the follower most likely attach before the output starts; the check holds either way.
    const r = await docker(['run', '-d', '--name', name, busybox, 'sh', '-c', `sleep 1; yes 0123456789abcdef | head -n ${lines}`]);
    expect(r.code, r.stderr).toBe(0);
    const follow = await docker(['logs', '-f', name], { timeoutMs: 120_000 });
    expect(follow.code, follow.stderr).toBe(0);
    expect(follow.stdout.length).toBe(lines * 17);
    expect(follow.stdout).toBe('0123456789abcdef\n'.repeat(lines));
  });

  it('--since and --until pick lines by their timestamps; -t prints them', async () => {
    const name = uniqueName('since');
    const r = await docker(['run', '--name', name, busybox, 'sh', '-c', 'echo one; sleep 1.2; echo two >&2; sleep 1.2; echo three']);
    expect(r.code, r.stderr).toBe(0);
    const ts = await docker(['logs', '-t', name]);
    const out = ts.stdout.trim().split('\n');
    expect(out.map((l) => l.split(' ')[1])).toEqual(['one', 'three']);
    const two = /^(\S+) two$/.exec(ts.stderr.trim());
    expect(two, ts.stderr).not.toBeNull();
    const t = Date.parse(two?.[1] ?? '') / 1000;
    const picked = await docker(['logs', '--since', (t - 0.5).toFixed(3), '--until', (t + 0.5).toFixed(3), name]);
    expect(picked.stdout).toBe('');
    expect(picked.stderr).toBe('two\n');
    const after = await docker(['logs', '--since', (t - 0.5).toFixed(3), name]);
    expect(after.stdout + after.stderr).toBe('three\ntwo\n');
    // As dockerd: the tail is taken first, then since/until filter it (not the last N of the filtered lines).
    const lastTwoSince = await docker(['logs', '--tail', '2', '--since', (t - 0.5).toFixed(3), name]);
    expect(lastTwoSince.stdout + lastTwoSince.stderr).toBe('three\ntwo\n');
    const lastUntil = await docker(['logs', '--tail', '1', '--until', (t + 0.5).toFixed(3), name]);
    expect(lastUntil.stdout + lastUntil.stderr).toBe('');
    const lastThreeUntil = await docker(['logs', '--tail', '3', '--until', (t + 0.5).toFixed(3), name]);
    expect(lastThreeUntil.stdout + lastThreeUntil.stderr).toBe('one\ntwo\n');
  });

  it('--tail of a big log: the last N lines of both streams, filtered after, with tail parsed as dockerd parses it', async () => {
    const name = uniqueName('tail');
    // About 15 MB of log, then two lines of each stream (conmon may read the two pipes in either
    // order: the pause lets it drain the first before the others start; the checks allow any order of the four).
    const script = 'yes 0123456789 | head -n 200000; sleep 0.5; echo e1 >&2; echo o1; echo e2 >&2; echo o2';
    const r = await docker(['run', '--name', name, busybox, 'sh', '-c', script], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const tail = await docker(['logs', '--tail', '6', name]);
    expect(tail.stdout).toBe('0123456789\n0123456789\no1\no2\n');
    expect(tail.stderr).toBe('e1\ne2\n');
    // Four lines counted over both streams, stdout picked from them: not the last four stdout lines.
    const body = async (query: string): Promise<string> => {
      const res = await rawRequest(bed.socket, 'GET', `/containers/${name}/logs?${query}`);
      expect(res.status, res.body).toBe(200);
      let text = '';
      for (let at = 0; at + 8 <= res.body.length; ) {
        const len = res.body.charCodeAt(at + 4) * 2 ** 24 + (res.body.charCodeAt(at + 5) << 16) + (res.body.charCodeAt(at + 6) << 8) + res.body.charCodeAt(at + 7);
        text += res.body.slice(at + 8, at + 8 + len);
        at += 8 + len;
      }
      return text;
    };
    expect(await body('stdout=1&tail=4')).toBe('o1\no2\n');
    expect(await body('stderr=1&tail=4')).toBe('e1\ne2\n');
    expect(await body('stdout=1&tail=0')).toBe('');
    expect((await body('stdout=1&stderr=1&tail=%2B4')).split('\n').sort()).toEqual(['', 'e1', 'e2', 'o1', 'o2']);
    // "all", a negative number and anything strconv.Atoi refuses: every line.
    const all = 200_000 * 11 + 6;
    for (const t of ['all', '-1', '1.5', '1e1', '0x2', 'x', '', '99999999999999999999']) expect((await body(`stdout=1&tail=${t}`)).length, `tail=${t}`).toBe(all);
  });

  it('sends dockerd\'s frame a line to API clients, and one frame a run of lines to the docker CLI', async () => {
    const name = uniqueName('frames');
    const r = await docker(['run', '--name', name, busybox, 'sh', '-c', 'printf "a\\nb\\nc\\n"; echo e >&2']);
    expect(r.code, r.stderr).toBe(0);
    const frames = (body: string): string[] => {
      const out: string[] = [];
      for (let at = 0; at + 8 <= body.length; ) {
        const len = (body.charCodeAt(at + 6) << 8) + body.charCodeAt(at + 7);
        out.push(`${body.charCodeAt(at)}:${body.slice(at + 8, at + 8 + len)}`);
        at += 8 + len;
      }
      return out;
    };
    const api = await rawRequest(bed.socket, 'GET', `/containers/${name}/logs?stdout=1&stderr=1`);
    expect(api.status).toBe(200);
    expect(frames(api.body)).toEqual(['1:a\n', '1:b\n', '1:c\n', '2:e\n']);
    const cli = await rawRequest(bed.socket, 'GET', `/containers/${name}/logs?stdout=1&stderr=1`, undefined, { 'User-Agent': 'Docker-Client/28.2.2 (linux)' });
    expect(frames(cli.body)).toEqual(['1:a\nb\nc\n', '2:e\n']);
  });

  it('batches runs of one stream without losing order, lines, timestamps, a line longer than a batch or a partial last line', async () => {
    const name = uniqueName('batch');
    // 2,000 lines of 100 bytes (several 64 KiB runs), a stderr line, a line of 100 KiB (conmon logs
    // it in pieces), another stderr line, and a last line without its newline. The pauses make
    // conmon log the streams in this order.
    const short = (i: number): string => `s${String(i).padStart(98, '0')}`;
    const long = 'L'.repeat(100 * 1024);
    const script = `i=0; while [ $i -lt 2000 ]; do printf "s%098d\\n" $i; i=$((i+1)); done; sleep 0.3; echo e1 >&2; sleep 0.3; head -c ${long.length} /dev/zero | tr '\\0' L; echo; sleep 0.3; echo e2 >&2; sleep 0.3; printf end`;
    const r = await docker(['run', '--name', name, busybox, 'sh', '-c', script], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const stdout = Array.from({ length: 2000 }, (_, i) => `${short(i)}\n`).join('') + `${long}\nend`;
    const logs = await docker(['logs', name]);
    expect(logs.stdout === stdout, 'docker logs stdout').toBe(true);
    expect(logs.stderr).toBe('e1\ne2\n');

    // The wire: frames in log order, for the CLI a frame a run of one stream, for others a frame a log entry.
    const frames = async (query: string, ua?: string): Promise<[number, string][]> => {
      const body = await new Promise<Buffer>((resolve, reject) => {
        const req = request({ socketPath: bed.socket, path: `/containers/${name}/logs?${query}`, headers: ua ? { 'User-Agent': ua } : {} }, (res) => {
          const parts: Buffer[] = [];
          res.on('data', (b: Buffer) => parts.push(b));
          res.on('end', () => resolve(Buffer.concat(parts)));
        });
        req.on('error', reject);
        req.end();
      });
      const out: [number, string][] = [];
      for (let at = 0; at < body.length; ) {
        const len = body.readUInt32BE(at + 4);
        out.push([body[at] as number, body.subarray(at + 8, at + 8 + len).toString()]);
        at += 8 + len;
      }
      return out;
    };
    const runs = (list: [number, string][]): [number, string][] =>
      list.reduce<[number, string][]>((acc, [s, p]) => {
        const last = acc[acc.length - 1];
        if (last && last[0] === s) last[1] += p;
        else acc.push([s, p]);
        return acc;
      }, []);
    const want: [number, string][] = [
      [1, stdout.slice(0, 2000 * 100)],
      [2, 'e1\n'],
      [1, `${long}\n`],
      [2, 'e2\n'],
      [1, 'end'],
    ];
    const cli = await frames('stdout=1&stderr=1', 'Docker-Client/28.2.2 (linux)');
    expect(runs(cli)).toEqual(want);
    // Batched: the 2,000 lines (200 kB) in a few frames, none much over 64 KiB unless it is one line.
    expect(cli.findIndex(([s]) => s === 2)).toBeLessThanOrEqual(6);
    const oneLine = (p: string): boolean => p.indexOf('\n') < 0 || p.indexOf('\n') === p.length - 1;
    for (const [, p] of cli) if (p.length > 65 * 1024) expect(oneLine(p)).toBe(true);
    const api = await frames('stdout=1&stderr=1');
    expect(runs(api)).toEqual(want);
    expect(api.filter(([, p]) => p.endsWith('\n')).length).toBe(2000 + 3);
    for (const [, p] of api) expect(oneLine(p), p).toBe(true);

    // Timestamps: one per log entry, in front of it.
    const stamp = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z /g;
    const ts = await docker(['logs', '-t', name]);
    const lines = ts.stdout.split('\n');
    for (const l of lines) expect(l.startsWith(l.match(stamp)?.[0] ?? '?'), l.slice(0, 60)).toBe(true);
    expect(ts.stdout.replace(stamp, '')).toBe(stdout);
    const e1 = /^(\S+) e1$/m.exec(ts.stderr);
    expect(e1, ts.stderr).not.toBeNull();

    // --tail counts entries of both streams; --since keeps what came from its time on.
    const tail = await docker(['logs', '--tail', '2', name]);
    expect([tail.stdout, tail.stderr]).toEqual(['end', 'e2\n']);
    const since = await docker(['logs', '--since', e1?.[1] ?? '', name]);
    expect(since.stdout === `${long}\nend`, 'since stdout').toBe(true);
    expect(since.stderr).toBe('e1\ne2\n');
  });

  it('--details prints the attributes json-file records (log-opt labels, env, tag) before each line', async () => {
    const name = uniqueName('details');
    const opts = ['--log-opt', 'labels=a', '--label', 'a=x y', '--log-opt', 'env=FOO', '-e', 'FOO=bar', '--log-opt', 'tag={{.Name}}'];
    const r = await docker(['run', '--name', name, ...opts, busybox, 'sh', '-c', 'echo one; echo two >&2; printf three']);
    expect(r.code, r.stderr).toBe(0);
    const details = await docker(['logs', '--details', name]);
    expect(details.stdout).toBe(`FOO=bar,a=x+y,tag=${name} one\nFOO=bar,a=x+y,tag=${name} three`);
    expect(details.stderr).toBe(`FOO=bar,a=x+y,tag=${name} two\n`);
    const stamped = await docker(['logs', '--details', '-t', name]);
    expect(stamped.stdout).toMatch(new RegExp(`^\\S+Z FOO=bar,a=x\\+y,tag=${name} one\\n\\S+Z FOO=bar,a=x\\+y,tag=${name} three$`));
    const plain = uniqueName('details-none');
    expect((await docker(['run', '--name', plain, busybox, 'echo', 'hi'])).code).toBe(0);
    expect((await docker(['logs', '--details', plain])).stdout).toBe(' hi\n');
  });

  it('a TTY container reads back raw, with the terminal\'s line ends', async () => {
    const name = uniqueName('tty');
    const r = await docker(['run', '-t', '--name', name, busybox, 'sh', '-c', 'echo one; printf "two"; echo " three" >&2']);
    expect(r.code, r.stderr).toBe(0);
    const logs = await docker(['logs', name]);
    expect(logs.stdout).toBe('one\r\ntwo three\r\n');
    expect(logs.stderr).toBe('');
    const ts = await docker(['logs', '-t', name]);
    expect(ts.stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z one\r\n/);
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
