import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatRange, parseSubIdEntries, parseSubIds, suggestFreeRange, subIdCount } from '../rootless/subid.js';
import { detectCgroups } from '../rootless/cgroups/detect.js';
import type { DoctorReport } from '../rootless/doctor/index.js';
import { cgroup2Mount, kernelHasFavorDynmods } from '../rootless/doctor/cgroup-join.js';
import { parseMountInfo } from '../rootless/mountinfo.js';

/** The checkout root, found from this file whether it runs from test/ or dist/test/. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dir !== '/') dir = dirname(dir);
  return dir;
}

const REPO = repoRoot();
const BIN = join(REPO, 'bin', 'burrow');
const isRoot = process.getuid?.() === 0;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function runBurrow(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    // BURROW_NODE: bin/burrow must not need node on a PATH the test has stripped.
    execFile(BIN, args, { env: { ...env, BURROW_NODE: process.execPath }, timeout: 30_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}

/** The table line of one check: "<id> <status> <detail>". */
function lineOf(table: string, id: string): { status: string; detail: string } {
  const line = table.split('\n').find((l) => l.startsWith(`${id} `));
  if (!line) throw new Error(`no '${id}' line in:\n${table}`);
  const [, status, detail] = /^\S+\s+(\S+)\s+(.*)$/.exec(line) ?? [];
  return { status: status ?? '', detail: detail ?? '' };
}

/** This host's cgroup layout, read independently of the code under test (mountinfo field 9 is the fs type). */
function hostCgroupMode(): 'v2' | 'hybrid' | 'v1' {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' - '))
    .map(([pre, post]) => ({ point: pre?.split(' ')[4], type: post?.split(' ')[0] }));
  const typeAt = (p: string): string | undefined => mounts.filter((m) => m.point === p).at(-1)?.type;
  if (typeAt('/sys/fs/cgroup') === 'cgroup2') return 'v2';
  return typeAt('/sys/fs/cgroup/unified') === 'cgroup2' ? 'hybrid' : 'v1';
}

/** The environment without variables that would redirect what the doctor inspects. */
function plainEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.BURROW_CGROUP_ROOT;
  return env;
}

beforeAll(() => {
  if (!existsSync(join(REPO, 'dist', 'cli', 'doctor.js'))) {
    throw new Error('dist/ is missing: build first with `npx tsc -p tsconfig.json` (as a user who may write the checkout)');
  }
});

describe('subuid parser', () => {
  const text = [
    '# comment',
    '',
    'alice:100000:65536',
    'bob:165536:65536',
    '1003:300000:1000',
    'alice:400000:10',
    'broken line',
    'carol:x:65536',
    'dave:500000:0',
    '  eve:600000:5  ',
  ].join('\n');

  it('finds ranges by name and by numeric uid, in file order', () => {
    expect(parseSubIds(text, { name: 'alice', uid: 1003 })).toEqual([
      { start: 100000, count: 65536 },
      { start: 300000, count: 1000 },
      { start: 400000, count: 10 },
    ]);
    expect(parseSubIds(text, { name: 'bob', uid: 1004 })).toEqual([{ start: 165536, count: 65536 }]);
    expect(parseSubIds(text, { name: 'eve', uid: 1010 })).toEqual([{ start: 600000, count: 5 }]);
  });

  it('skips comments, malformed lines and empty ranges', () => {
    expect(parseSubIds(text, { name: 'carol', uid: 1005 })).toEqual([]);
    expect(parseSubIds(text, { name: 'dave', uid: 1006 })).toEqual([]);
    expect(parseSubIdEntries(text).map((e) => e.owner)).toEqual(['alice', 'bob', '1003', 'alice', 'eve']);
    expect(parseSubIds('', { name: 'alice', uid: 1003 })).toEqual([]);
  });

  it('does not match a numeric owner against a user of that name', () => {
    expect(parseSubIds('1003:100000:65536\n', { name: '1003', uid: 2000 })).toEqual([{ start: 100000, count: 65536 }]);
    expect(parseSubIds('1003:100000:65536\n', { name: 'zed', uid: 2000 })).toEqual([]);
  });

  it('suggests a free range above every existing one', () => {
    const entries = parseSubIdEntries(text);
    expect(suggestFreeRange(entries)).toEqual({ start: 600005, count: 65536 });
    expect(suggestFreeRange([])).toEqual({ start: 100000, count: 65536 });
    expect(formatRange({ start: 100000, count: 65536 })).toBe('100000-165535');
    expect(subIdCount(parseSubIds(text, { name: 'alice', uid: 1003 }))).toBe(66546);
  });
});

describe('detectCgroups on fake trees', () => {
  const user = userInfo().username;
  const uid = process.getuid?.() ?? 0;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'burrow-cgtest-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function files(base: string, names: Record<string, string>): Promise<void> {
    await mkdir(base, { recursive: true });
    await Promise.all(Object.entries(names).map(([n, content]) => writeFile(join(base, n), content)));
  }

  const V1: Record<string, Record<string, string>> = {
    memory: { 'memory.limit_in_bytes': '', 'memory.memsw.limit_in_bytes': '', 'memory.oom_control': '' },
    cpu: { 'cpu.shares': '', 'cpu.cfs_period_us': '', 'cpu.cfs_quota_us': '' },
    cpuacct: {},
    cpuset: { 'cpuset.cpus': '0-1\n', 'cpuset.mems': '0\n' },
    pids: { 'pids.max': '' },
    blkio: { 'blkio.weight': '' },
    freezer: { 'freezer.state': '' },
    systemd: {},
  };

  async function hybridTree(root: string, skip: string[] = []): Promise<void> {
    for (const [h, knobs] of Object.entries(V1)) {
      await files(join(root, h), { tasks: '', 'cgroup.procs': '' });
      if (!skip.includes(h)) await files(join(root, h, user), { tasks: '', 'cgroup.procs': '', ...knobs });
    }
    await files(join(root, 'unified'), { 'cgroup.controllers': 'hugetlb\n', 'cgroup.procs': '' });
    await files(join(root, 'unified', user), { 'cgroup.controllers': '', 'cgroup.procs': '' });
  }

  it('hybrid with every hierarchy delegated: cgroupfs with v1 features', async () => {
    const root = join(dir, 'hybrid');
    await hybridTree(root);
    const facts = await detectCgroups({ user, uid, root, selfCgroup: '0::/\n' });
    expect(facts.mode).toBe('hybrid');
    expect(facts.driver).toBe('cgroupfs');
    expect(facts.cgroupParent).toBe(`/${user}`);
    expect(facts.missing).toEqual([]);
    expect(facts.controllers).toEqual({ memory: true, cpu: true, cpuacct: true, cpuset: true, pids: true, io: true, freezer: true, hugetlb: false });
    expect(facts.features).toEqual({
      memoryLimit: true, swapLimit: true, cpuCfsPeriod: true, cpuCfsQuota: true,
      cpuShares: true, cpuSet: true, pidsLimit: true, oomKillDisable: true,
    });
  });

  it('hybrid with one hierarchy missing: no driver, the gap is named', async () => {
    const root = join(dir, 'partial');
    await hybridTree(root, ['pids']);
    const facts = await detectCgroups({ user, uid, root, selfCgroup: '0::/\n' });
    expect(facts.driver).toBe('none');
    expect(facts.missing).toEqual([join(root, 'pids', user)]);
    expect(Object.values(facts.controllers)).not.toContain(true);
    expect(facts.features.memoryLimit).toBe(false);
  });

  it('v2 with an administrator-made /<user>: controllers from cgroup.controllers, no swap file, no oom switch', async () => {
    const root = join(dir, 'v2');
    await files(root, { 'cgroup.controllers': 'cpuset cpu io memory pids\n', 'cgroup.procs': '' });
    await files(join(root, user), { 'cgroup.controllers': 'cpu memory pids\n', 'cgroup.procs': '', 'cpu.max': '', 'cpu.weight': '', 'memory.max': '' });
    const facts = await detectCgroups({ user, uid, root, selfCgroup: '0::/\n' });
    expect(facts.mode).toBe('v2');
    expect(facts.driver).toBe('cgroupfs');
    expect(facts.cgroupParent).toBe(`/${user}`);
    expect(facts.controllers).toMatchObject({ memory: true, cpu: true, pids: true, cpuset: false, io: false });
    expect(facts.features).toMatchObject({ memoryLimit: true, swapLimit: false, cpuCfsQuota: true, cpuShares: true, cpuSet: false, oomKillDisable: false });
    expect(facts.notes.join(' ')).toMatch(/outside/);
  });

  it('v2 under a systemd-style delegated user@ service: the topmost writable ancestor is the parent', async () => {
    const root = join(dir, 'v2sd');
    const svc = `/user.slice/user-${uid}.slice/user@${uid}.service`;
    await files(root, { 'cgroup.controllers': 'cpu memory pids\n', 'cgroup.procs': '' });
    await files(join(root, svc), { 'cgroup.controllers': 'memory pids\n', 'cgroup.procs': '', 'memory.swap.max': '' });
    await files(join(root, svc, 'app.slice'), { 'cgroup.controllers': 'memory pids\n', 'cgroup.procs': '' });
    // user.slice and user-UID.slice carry no cgroup.procs here, i.e. nothing the user may write.
    const facts = await detectCgroups({ user, uid, root, selfCgroup: `0::${svc}/app.slice\n` });
    expect(facts.cgroupParent).toBe(svc);
    expect(facts.features.swapLimit).toBe(true);
    expect(facts.notes).toEqual([]);
  });

  it('an empty root hides the delegation but keeps the host mode', async () => {
    const facts = await detectCgroups({ user, uid, root: join(dir, 'nothing-here') });
    expect(facts.mode).toBe(hostCgroupMode());
    expect(facts.driver).toBe('none');
    expect(facts.cgroupParent).toBe('');
  });
});

describe('cgroup joins (favordynmods)', () => {
  const hybrid = parseMountInfo(
    [
      '35 31 0:30 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,memory',
      '41 31 0:38 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate',
    ].join('\n'),
  );
  it('finds the cgroup2 mount of a hybrid or v2 host and reads its favordynmods option', () => {
    expect(cgroup2Mount(hybrid)).toEqual({ target: '/sys/fs/cgroup/unified', favordynmods: false });
    expect(cgroup2Mount(parseMountInfo('30 24 0:26 / /sys/fs/cgroup rw,nosuid,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,favordynmods,memory_recursiveprot\n'))).toEqual({ target: '/sys/fs/cgroup', favordynmods: true });
    expect(cgroup2Mount(parseMountInfo('36 31 0:31 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n'))).toBeUndefined();
  });
  it('knows the option from Linux 6.0 on', () => {
    expect(kernelHasFavorDynmods('5.15.0-91-generic')).toBe(false);
    expect(kernelHasFavorDynmods('6.0.0')).toBe(true);
    expect(kernelHasFavorDynmods('6.18.1-custom')).toBe(true);
  });
});

describe.runIf(!isRoot)('burrow doctor as an unprivileged user', () => {
  let hidden: string;

  beforeAll(async () => {
    hidden = await mkdtemp(join(tmpdir(), 'burrow-path-'));
  });
  afterAll(async () => {
    await rm(hidden, { recursive: true, force: true });
  });

  it('reports this host as able to run the engine', async () => {
    const run = await runBurrow(['doctor'], plainEnv());
    expect(run.stderr).toBe('');
    expect(run.code, run.stdout).toBe(0);
    const t = run.stdout;
    // cgroup-join: setup-host.sh gave the cgroup2 mount favordynmods (or this kernel has none to give).
    for (const id of ['user', 'subuid', 'subgid', 'idmap', 'userns', 'runtime', 'conmon', 'catatonit', 'python3', 'storage', 'network', 'ports', 'cgroup-join']) {
      expect(lineOf(t, id).status, `${id} line`).toBe('ok');
    }
    expect(lineOf(t, 'runtime').detail).toMatch(/^crun \d+\.\d+/);
    expect(lineOf(t, 'storage').detail).toMatch(/^overlay \(kernel, userxattr/);
    // slirp4netns carries IPv4 (1.5 MiB resident against pasta's ~20); pasta takes over for IPv6 networks.
    expect(lineOf(t, 'network').detail).toMatch(/^slirp4netns \(\S+\), \/dev\/net\/tun usable; pasta for IPv6 networks$/);
    expect(lineOf(t, 'cgroups')).toEqual({ status: 'ok', detail: expect.stringMatching(new RegExp(`^${hostCgroupMode()}, /${userInfo().username} delegated: memory cpu`)) });
    expect(t).toMatch(/essential checks passed/);
  });

  it('--json exposes the facts the daemon uses', async () => {
    const run = await runBurrow(['doctor', '--json'], plainEnv());
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as DoctorReport;
    expect(report.essentialOk).toBe(true);
    expect(report.user.uid).toBe(process.getuid?.());
    expect(report.runtime).toMatchObject({ name: 'crun', path: expect.stringMatching(/\/crun$/), version: expect.stringMatching(/^\d/) });
    expect(report.storageDriver).toBe('overlay');
    expect(report.network).toEqual({ name: 'slirp4netns', path: expect.stringMatching(/\/slirp4netns$/), ipv6Path: expect.stringMatching(/\/pasta$/) });
    expect(report.monitor).toMatch(/\/conmon$/);
    expect(report.catatonit).toMatch(/\/catatonit$/);
    expect(report.cgroups.mode).toBe(hostCgroupMode());
    expect(report.cgroups.driver).toBe('cgroupfs');
    expect(report.cgroups.features.memoryLimit).toBe(true);
    expect(report.subuid.length).toBeGreaterThan(0);
    expect(report.subgid.length).toBeGreaterThan(0);
    expect(report.unprivilegedPortStart).toBe(Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8')));
    // The budget is 1 s; slack for a loaded host.
    expect(report.durationMs).toBeLessThan(2000);
  });

  it('BURROW_CGROUP_ROOT pointing at nothing degrades cgroups only', async () => {
    const run = await runBurrow(['doctor'], { ...plainEnv(), BURROW_CGROUP_ROOT: join(hidden, 'no-cgroups') });
    expect(run.code).toBe(0);
    const line = lineOf(run.stdout, 'cgroups');
    expect(line.status).toBe('degraded');
    expect(line.detail).toMatch(/nothing delegated.*fix: sudo \S*scripts\/setup-host\.sh /);
  });

  it('without crun and runc on PATH the runtime is missing and the exit code is 1', async () => {
    // Every tool on the current PATH except the OCI runtimes, first hit wins like execvp.
    const bin = join(hidden, 'bin');
    await mkdir(bin);
    const seen = new Set<string>(['crun', 'runc']);
    for (const d of (process.env.PATH ?? '').split(delimiter).filter((p) => p.startsWith('/'))) {
      const names = await readdir(d).catch(() => [] as string[]);
      for (const name of names) {
        if (seen.has(name)) continue;
        seen.add(name);
        await symlink(join(d, name), join(bin, name));
      }
    }
    expect(existsSync(join(bin, 'unshare'))).toBe(true);
    const run = await runBurrow(['doctor'], { ...plainEnv(), PATH: bin });
    expect(run.code, run.stdout).toBe(1);
    const line = lineOf(run.stdout, 'runtime');
    expect(line.status).toBe('missing');
    expect(line.detail).toMatch(/fix: sudo apt-get install crun$/);
    expect(lineOf(run.stdout, 'catatonit').status).toBe('ok');
    expect(run.stdout).toMatch(/essential checks failed \(runtime\)/);
  });
});

describe.runIf(isRoot)('burrow doctor as root', () => {
  it('refuses: Burrow is the rootless engine', async () => {
    const run = await runBurrow(['doctor'], plainEnv());
    expect(run.code).toBe(1);
    const line = lineOf(run.stdout, 'user');
    expect(line.status).toBe('missing');
    expect(line.detail).toMatch(/running as root: Burrow is the rootless engine/);
  });
});
