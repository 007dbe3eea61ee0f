import { mkdir, mkdtemp, readFile, rm, rmdir } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { blkioToIoWeight, cgroupWrites, cpuMax, sharesToWeight, swapMaxV2 } from '../translate/cgroup-writes.js';
import { applyCgroupWrites, containerCgroupDirs, type CgroupDirs } from '../rootless/cgroups/files.js';
import { detectCgroups } from '../rootless/cgroups/detect.js';

const MiB = 1024 * 1024;
const me = userInfo();
const facts = await detectCgroups({ user: me.username, uid: me.uid });
const delegated = facts.driver === 'cgroupfs' && facts.mode !== 'v2' && facts.controllers.memory && facts.controllers.cpu && facts.controllers.pids;

describe('value conversions', () => {
  it("maps shares and blkio weight like runc", () => {
    expect(sharesToWeight(2)).toBe(1);
    expect(sharesToWeight(1024)).toBe(39);
    expect(sharesToWeight(262144)).toBe(10000);
    expect(blkioToIoWeight(10)).toBe(1);
    expect(blkioToIoWeight(500)).toBe(4950);
    expect(blkioToIoWeight(1000)).toBe(10000);
  });

  it('builds cpu.max and memory.swap.max', () => {
    expect(cpuMax(50000, 100000)).toBe('50000 100000');
    expect(cpuMax(-1, 100000)).toBe('max 100000');
    expect(cpuMax(20000, undefined)).toBe('20000');
    expect(cpuMax(undefined, undefined)).toBeUndefined();
    expect(swapMaxV2(64 * MiB, 128 * MiB)).toBe(String(64 * MiB));
    expect(swapMaxV2(64 * MiB, 64 * MiB)).toBe('0');
    expect(swapMaxV2(64 * MiB, -1)).toBe('max');
  });

  it('names the v1 and v2 files for the same resources', () => {
    const res = { memory: { limit: 64 * MiB, swap: 128 * MiB }, cpu: { shares: 512, period: 100000, quota: 50000 }, pids: { limit: 20 } };
    expect(cgroupWrites(res, 'v2').map((w) => [w.file, w.value])).toEqual([
      ['memory.max', String(64 * MiB)],
      ['memory.swap.max', String(64 * MiB)],
      ['cpu.weight', String(sharesToWeight(512))],
      ['cpu.max', '50000 100000'],
      ['pids.max', '20'],
    ]);
    expect(cgroupWrites(res, 'v1').map((w) => [w.file, w.value])).toEqual([
      ['memory.limit_in_bytes', String(64 * MiB)],
      ['memory.memsw.limit_in_bytes', String(128 * MiB)],
      ['cpu.shares', '512'],
      ['cpu.cfs_period_us', '100000'],
      ['cpu.cfs_quota_us', '50000'],
      ['pids.max', '20'],
    ]);
    expect(cgroupWrites({ pids: { limit: -1 }, cpu: { quota: -1 } }, 'v1').map((w) => w.value)).toEqual(['-1', 'max']);
  });
});

describe('applying writes', () => {
  it('writes the v2 files into one directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'burrow-cgv2-'));
    try {
      const cg: CgroupDirs = { mode: 'v2', dirs: { memory: dir, cpu: dir, pids: dir } };
      const res = { memory: { limit: 64 * MiB }, cpu: { shares: 1024, quota: 50000, period: 100000 }, pids: { limit: 20 } };
      const { skipped } = await applyCgroupWrites(cg, cgroupWrites(res, 'v2'));
      expect(skipped).toEqual([]);
      expect(await readFile(join(dir, 'memory.max'), 'utf8')).toBe(String(64 * MiB));
      expect(await readFile(join(dir, 'cpu.max'), 'utf8')).toBe('50000 100000');
      expect(await readFile(join(dir, 'cpu.weight'), 'utf8')).toBe('39');
      expect(await readFile(join(dir, 'pids.max'), 'utf8')).toBe('20');
      const none = await applyCgroupWrites({ mode: 'v2', dirs: {} }, cgroupWrites({ pids: { limit: 5 } }, 'v2'));
      expect(none.skipped).toEqual(['pids']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  // The host's cgroup2 has no memory/cpu/pids controllers, so the same code path is checked on the
  // real v1 files of a scratch cgroup in the delegated subtree.
  const scratch = `burrow-scratch-${process.pid}`;
  const made: string[] = [];
  afterAll(async () => {
    for (const d of made.reverse()) await rmdir(d).catch(() => undefined);
  });

  it.skipIf(!delegated)('writes memory, cpu and pids limits into a real v1 cgroup and lifts them again', async () => {
    const cg = containerCgroupDirs(facts, scratch);
    if (!cg) throw new Error('no cgroup dirs');
    const dirs: CgroupDirs = { mode: 'v1', dirs: { memory: cg.dirs.memory, cpu: cg.dirs.cpu, pids: cg.dirs.pids } };
    for (const d of Object.values(dirs.dirs)) {
      await mkdir(d);
      made.push(d);
    }
    const read = (c: 'memory' | 'cpu' | 'pids', f: string): Promise<string> => readFile(join(dirs.dirs[c] ?? '', f), 'utf8').then((t) => t.trim());
    await applyCgroupWrites(dirs, cgroupWrites({ memory: { limit: 64 * MiB, swap: 128 * MiB }, cpu: { shares: 512, period: 100000, quota: 50000 }, pids: { limit: 20 } }, 'v1'));
    expect(await read('memory', 'memory.limit_in_bytes')).toBe(String(64 * MiB));
    expect(await read('memory', 'memory.memsw.limit_in_bytes')).toBe(String(128 * MiB));
    expect(await read('cpu', 'cpu.shares')).toBe('512');
    expect(await read('cpu', 'cpu.cfs_quota_us')).toBe('50000');
    expect(await read('pids', 'pids.max')).toBe('20');
    // Raising memory past the memsw limit in place needs memsw first: the applier's retry does it.
    await applyCgroupWrites(dirs, cgroupWrites({ memory: { limit: 256 * MiB, swap: 512 * MiB } }, 'v1'));
    expect(await read('memory', 'memory.limit_in_bytes')).toBe(String(256 * MiB));
    expect(await read('memory', 'memory.memsw.limit_in_bytes')).toBe(String(512 * MiB));
    await applyCgroupWrites(dirs, cgroupWrites({ cpu: { quota: -1 }, pids: { limit: -1 } }, 'v1'));
    expect(await read('cpu', 'cpu.cfs_quota_us')).toBe('-1');
    expect(await read('pids', 'pids.max')).toBe('max');
  });
});
