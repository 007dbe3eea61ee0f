import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { checkCgroups } from '../rootless/doctor/cgroups.js';
import { checkHelper } from '../rootless/doctor/helpers.js';
import { checkHubAgent, checkSpawner } from '../rootless/doctor/hubagent.js';
import { checkNotRoot } from '../rootless/doctor/identity.js';
import { checkIdMap } from '../rootless/doctor/idmap.js';
import { checkNetwork } from '../rootless/doctor/network.js';
import { checkRuntime } from '../rootless/doctor/runtime.js';
import { checkRuntimeDir } from '../rootless/doctor/runtimedir.js';
import { checkStorage, kernelOverlayFix } from '../rootless/doctor/storage.js';
import { checkSubIds } from '../rootless/doctor/subids.js';
import { checkCgroupJoin } from '../rootless/doctor/cgroup-join.js';
import { parseMountInfo } from '../rootless/mountinfo.js';
import { checkBuildkit } from '../rootless/doctor/buildkit.js';
import { checkUserNamespace } from '../rootless/doctor/userns.js';
import { formatDoctorTable, runDoctor, type DoctorCheck } from '../rootless/doctor/index.js';
import type { CheckContext, DoctorUser } from '../rootless/doctor/types.js';

// `burrow doctor` is the first stop: every check that is not ok names the command that fixes it.
// Each check is driven into its failures here (a PATH without the tools, fake subid files and
// cgroup trees, an unusable probe directory) and every non-ok result must carry a fix.

const me: DoctorUser = { name: userInfo().username, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
let dir: string;
const failed = new Map<string, DoctorCheck[]>();

/** Records the non-ok results and asserts each has a fix; returns them for scenario-specific checks. */
function failures(checks: DoctorCheck[]): DoctorCheck[] {
  const bad = checks.filter((c) => c.status !== 'ok');
  for (const c of bad) {
    expect(c.fix, `${c.id} (${c.status}: ${c.detail}) names no fix`).toMatch(/\S/);
    failed.set(c.id, [...(failed.get(c.id) ?? []), c]);
  }
  return bad;
}

const ctx = (env: NodeJS.ProcessEnv, probeDir = tmpdir()): CheckContext => ({ env, user: me, probeDir });
const noTools = (): NodeJS.ProcessEnv => ({ PATH: join(dir, 'empty-bin') });

/** A PATH dir holding only the named tools, linked from where this host has them. */
async function pathWith(name: string, tools: string[]): Promise<NodeJS.ProcessEnv | undefined> {
  const bin = join(dir, name);
  await mkdir(bin, { recursive: true });
  for (const tool of tools) {
    const found = ['/usr/local/bin', '/usr/bin', '/bin', '/usr/local/sbin', '/usr/sbin', '/sbin'].map((d) => join(d, tool)).find((p) => existsSync(p));
    if (found === undefined) return undefined;
    await symlink(found, join(bin, tool));
  }
  return { PATH: bin };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'burrow-doctor-fixes-'));
  await mkdir(join(dir, 'empty-bin'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('every failing doctor check names its fix', () => {
  it('user: root is refused with the setup command for the sudo user', () => {
    const [c] = failures([checkNotRoot({ name: 'root', uid: 0, gid: 0 }, { SUDO_USER: 'alice' })]);
    expect(c?.fix).toMatch(/setup-host\.sh alice, then run burrow as alice$/);
  });

  it('subuid/subgid: none and too few ids give usermod commands for a free range', async () => {
    const none = join(dir, 'subid-none');
    const few = join(dir, 'subid-few');
    await writeFile(none, 'someone-else:100000:65536\n');
    await writeFile(few, `${me.name}:100000:1000\n`);
    const missing = failures((await checkSubIds(me, { subuid: none, subgid: none })).checks);
    expect(missing.map((c) => [c.id, c.status])).toEqual([['subuid', 'missing'], ['subgid', 'missing']]);
    expect(missing[0]?.fix).toBe(`sudo usermod --add-subuids 165536-231071 ${me.name}`);
    const degraded = failures((await checkSubIds(me, { subuid: few, subgid: few })).checks);
    expect(degraded.map((c) => [c.id, c.status])).toEqual([['subuid', 'degraded'], ['subgid', 'degraded']]);
  });

  it('idmap, userns, runtime, helpers and network: tools not on PATH give the package to install', async () => {
    const env = noTools();
    const checks = [
      await checkIdMap(ctx(env)),
      await checkUserNamespace(ctx(env)),
      (await checkRuntime(ctx(env))).check,
      (await checkHelper('conmon', 'conmon', false, 'per-container monitor', ctx(env))).check,
      (await checkHelper('catatonit', 'catatonit', true, 'init of the namespace holder', ctx(env))).check,
      (await checkHelper('python3', 'python3', true, 'in-root file work', ctx(env))).check,
      (await checkNetwork(ctx(env))).check,
    ];
    const bad = failures(checks);
    expect(bad.map((c) => c.id)).toEqual(['idmap', 'userns', 'runtime', 'conmon', 'catatonit', 'python3', 'network']);
    for (const c of bad) expect(c.fix).toMatch(/^sudo apt-get install \S+/);
  });

  it('runtime: runc without crun is degraded, with crun as the fix', async (t) => {
    const env = await pathWith('runc-only', ['runc']);
    if (env === undefined) return t.skip();
    const [c] = failures([(await checkRuntime(ctx(env))).check]);
    expect(c).toMatchObject({ id: 'runtime', status: 'degraded', fix: 'sudo apt-get install crun' });
  });

  it('storage: no kernel overlay and no fuse-overlayfs is missing; with fuse-overlayfs it is degraded', async (t) => {
    const unusable = join(dir, 'no-such-dir', 'probe');
    const [missing] = failures([(await checkStorage(ctx(noTools(), unusable))).check]);
    expect(missing).toMatchObject({ id: 'storage', status: 'missing', fix: expect.stringMatching(/apt-get install fuse-overlayfs/) });
    const env = await pathWith('fuse-only', ['fuse-overlayfs']);
    if (env === undefined) return t.skip();
    const [c] = failures([(await checkStorage(ctx(env, unusable))).check]);
    expect(c?.id).toBe('storage');
  });

  it('storage: the kernel overlay fix is a newer kernel before 5.11 and a data root on a real filesystem after', () => {
    expect(kernelOverlayFix('5.10.0-28-amd64')).toMatch(/^sudo apt-get install linux-image-/);
    expect(kernelOverlayFix('4.19.0')).toMatch(/^sudo apt-get install linux-image-/);
    expect(kernelOverlayFix('5.11.0')).toMatch(/^burrow daemon --data-root /);
    expect(kernelOverlayFix('6.18.3-gvisor')).toMatch(/^burrow daemon --data-root /);
  });

  it('cgroups: nothing delegated gives the setup command; v2 with the engine outside the subtree gives the move', async () => {
    const nothing = failures([(await checkCgroups(ctx({ BURROW_CGROUP_ROOT: join(dir, 'no-cgroups') }))).check]);
    expect(nothing[0]?.fix).toMatch(/setup-host\.sh /);
    // An administrator-made /<user> on cgroup v2 that this process is not inside.
    const root = join(dir, 'v2');
    const user = 'doctor-fixes-user';
    await mkdir(join(root, user), { recursive: true });
    await writeFile(join(root, 'cgroup.controllers'), 'cpu memory pids\n');
    await writeFile(join(root, 'cgroup.procs'), '');
    await writeFile(join(root, user, 'cgroup.controllers'), 'cpu memory pids\n');
    await writeFile(join(root, user, 'cgroup.procs'), '');
    const outside = failures([(await checkCgroups({ env: { BURROW_CGROUP_ROOT: root }, user: { ...me, name: user }, probeDir: tmpdir() })).check]);
    expect(outside).toHaveLength(1);
    expect(outside[0]?.detail).toMatch(/outside/);
    expect(outside[0]?.fix).toBe(`sudo mkdir -p ${root}/${user}/engine && echo $$ | sudo tee ${root}/${user}/engine/cgroup.procs, then start burrow from that shell`);
  });

  it('cgroup-join: a cgroup2 mount without favordynmods on Linux 6 gives the remount; nothing to do before 6.0 or without delegation', async () => {
    const line = '41 31 0:38 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw';
    const mounts = parseMountInfo(line);
    const [c] = failures([await checkCgroupJoin(true, mounts, '6.1.0')]);
    expect(c).toMatchObject({ id: 'cgroup-join', status: 'degraded', essential: false, fix: 'sudo mount -o remount,favordynmods /sys/fs/cgroup/unified' });
    expect((await checkCgroupJoin(true, parseMountInfo(`${line},favordynmods`), '6.1.0')).status).toBe('ok');
    expect((await checkCgroupJoin(true, mounts, '5.10.0')).status).toBe('ok');
    expect((await checkCgroupJoin(false, mounts, '6.1.0')).status).toBe('ok');
  });

  it('runtime-dir: unset or not ours gives the command that makes /run/user/UID', async () => {
    const bad = failures([(await checkRuntimeDir(ctx({}))).check, (await checkRuntimeDir(ctx({ XDG_RUNTIME_DIR: join(dir, 'missing') }))).check]);
    expect(bad).toHaveLength(2);
    for (const c of bad) expect(c.fix).toMatch(new RegExp(`^sudo install -d -m 0700 -o ${me.name} `));
  });

  it('buildkit: no buildkitd gives the install script; buildkitd without runc gives runc; else it names the snapshotter', async () => {
    const none = failures([await checkBuildkit(ctx({ ...noTools(), BURROW_BUILDKITD: '' }), 'overlay')]);
    expect(none[0]).toMatchObject({ id: 'buildkit', status: 'degraded', essential: false });
    expect(none[0]?.fix).toMatch(/^sudo \S*scripts\/install-buildkit\.sh$/);
    const noRunc = failures([await checkBuildkit(ctx({ ...noTools(), BURROW_BUILDKITD: '/bin/true' }), 'overlay')]);
    expect(noRunc[0]).toMatchObject({ id: 'buildkit', status: 'degraded', fix: 'sudo apt-get install runc' });
    const runc = await pathWith('runc-for-buildkit', ['runc']);
    if (runc === undefined) return;
    const fuse = await checkBuildkit(ctx({ ...runc, BURROW_BUILDKITD: '/bin/true' }), 'fuse-overlayfs');
    expect(fuse).toMatchObject({ id: 'buildkit', status: 'ok' });
    expect(fuse.detail).toMatch(/snapshotter fuse-overlayfs$/);
  });

  it('hub-agent: an unbuilt binary gives the build command, with Go from apt where there is none', async () => {
    const missing = join(dir, 'dist', 'slirp', 'burrow-hub-agent');
    const [c] = failures([await checkHubAgent(ctx(noTools()), missing)]);
    expect(c?.detail).toContain(missing);
    expect(c?.fix).toMatch(/build-hub-agent\.sh$/);
    if (!existsSync('/usr/local/go/bin/go')) expect(c?.fix).toMatch(/^sudo apt-get install golang-go && bash \/\S+\/scripts\/build-hub-agent\.sh$/);
  });

  it('spawner: an unbuilt binary is degraded (tools fork from the daemon) and gives the build command', async () => {
    const missing = join(dir, 'dist', 'rootless', 'burrow-spawner');
    const [c] = failures([await checkSpawner(ctx(noTools()), missing)]);
    expect(c).toMatchObject({ id: 'spawner', status: 'degraded', essential: false });
    expect(c?.detail).toContain(missing);
    expect(c?.fix).toMatch(/build-spawner\.sh$/);
  });

  it('the whole report on a bare host: every non-ok line of the table ends with its fix', async () => {
    const report = await runDoctor({ env: { PATH: join(dir, 'empty-bin'), BURROW_CGROUP_ROOT: join(dir, 'no-cgroups') }, probeDir: join(dir, 'no-such-dir') });
    const bad = failures(report.checks);
    expect(bad.length).toBeGreaterThan(5);
    const table = formatDoctorTable(report);
    for (const c of bad) {
      const line = table.split('\n').find((l) => l.startsWith(`${c.id} `));
      expect(line, c.id).toMatch(/; fix: \S/);
    }
  });

  it('covers every check the doctor runs that can fail', async () => {
    const ids = (await runDoctor({ env: { PATH: join(dir, 'empty-bin') }, probeDir: join(dir, 'no-such-dir') })).checks.map((c) => c.id);
    // ports is informational only: it is never anything but ok.
    expect(ids.filter((id) => id !== 'ports' && !failed.has(id))).toEqual([]);
  });
});
