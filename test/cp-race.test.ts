/**
 * A hostile container races the daemon: while `docker cp` (the archive endpoints), `docker diff`,
 * `docker export` and `docker commit` work on its files, it keeps swapping a directory for symlinks to
 * a host directory (absolute, relative with `..`, and "/"). Nothing may be read from or written to that
 * host directory, however many times the race is run (CVE-2018-15664's class).
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerCli } from './harness/clients.js';
import { containerKit } from './harness/container-kit.js';
import { isolatedTestbed } from './harness/isolated.js';
import { writeTar } from './harness/tar.js';

const bed = await isolatedTestbed();
const docker = dockerCli(bed.dockerHost);
const busybox = bed.images.busybox.reference;
const { uniqueName, removeAll, ok } = containerKit(docker);
/** Each direction's number of calls: a few thousand in all. */
const ROUNDS = Number(process.env.BURROW_RACE_ROUNDS ?? 1000);
const SECRET = 'HOST SECRET: never to be read through the daemon';
/** The canary's one file; the container's own directory holds `secret` instead. */
const HOST_FILE = 'host-only-secret';
let canary = '';
const volumes = new Set<string>();

interface Reply {
  status: number;
  body: Buffer;
}

function call(method: string, path: string, body?: Buffer): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers = body ? { 'Content-Type': 'application/x-tar', 'Content-Length': String(body.length) } : {};
    const req = request({ socketPath: bed.socket, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (b: Buffer) => chunks.push(b));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Runs `work(i)` for i in [0, n) on `lanes` concurrent lanes. */
async function inLanes(n: number, lanes: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (next < n) await work(next++);
    }),
  );
}

/** A loop swapping `dir` between a real directory (holding `secret`) and symlinks out to the canary. */
function racer(dir: string): string {
  const depth = '../'.repeat(12);
  return [
    `mkdir -p $(dirname ${dir})`,
    'while :; do',
    `  rm -rf ${dir}; mkdir ${dir}; echo inside > ${dir}/secret`,
    `  rm -rf ${dir}; ln -s ${canary} ${dir}`,
    `  rm -f ${dir}; ln -s ${depth}${canary.slice(1)} ${dir}`,
    `  rm -f ${dir}; mkdir ${dir}; rm -rf ${dir}; ln -s / ${dir}`,
    `  rm -f ${dir}`,
    'done',
  ].join('\n');
}

async function canaryIntact(): Promise<void> {
  expect((await readdir(canary)).sort()).toEqual([HOST_FILE]);
}

beforeAll(async () => {
  await ok(['pull', busybox]);
  canary = await mkdtemp(join(process.env.BURROW_TEST_SCRATCH ?? tmpdir(), 'burrow-canary-'));
  await writeFile(join(canary, HOST_FILE), `${SECRET}\n`);
});

afterAll(async () => {
  await removeAll();
  for (const v of volumes) await docker(['volume', 'rm', '-f', v]);
  if (canary) await rm(canary, { recursive: true, force: true });
});

describe('a container racing the archive calls with symlink swaps', () => {
  it('never lets a copy in or out reach the host, in the rootfs or in a volume', async () => {
    const vol = uniqueName('race-vol');
    volumes.add(vol);
    const c = uniqueName('racer');
    const script = `(${racer('/vol/d')}) & ${racer('/race/d')}`;
    // Half a core is plenty to race (each loop swaps the directory thousands of times a second) and leaves
    // the daemon the CPU it needs on a small machine.
    await ok(['run', '-d', '--name', c, '--cpus', '0.5', '-v', `${vol}:/vol`, busybox, 'sh', '-c', script]);
    const statuses = new Map<number, number>();
    const faults = new Set<string>();
    const seen = (s: number, r?: Reply): void => {
      statuses.set(s, (statuses.get(s) ?? 0) + 1);
      if (s >= 500 && r) faults.add(r.body.toString());
    };
    let landed = 0;
    await inLanes(ROUNDS, 4, async (i) => {
      const dir = i % 2 === 0 ? '/race/d' : '/vol/d';
      const tar = writeTar([{ type: 'file', name: `payload-${i}.txt`, content: 'payload\n' }]);
      const put = await call('PUT', `/containers/${c}/archive?path=${encodeURIComponent(dir)}`, tar);
      seen(put.status, put);
      if (put.status === 200) landed++;
      const get = await call('GET', `/containers/${c}/archive?path=${encodeURIComponent(i % 4 < 2 ? `${dir}/${HOST_FILE}` : dir)}`);
      seen(get.status, get);
      // (A 404's message names the path asked for; only an archive could carry the host's file.)
      if (get.status === 200) expect(get.body.includes(Buffer.from(HOST_FILE)) || get.body.includes(Buffer.from('HOST SECRET'))).toBe(false);
      const head = await call('HEAD', `/containers/${c}/archive?path=${encodeURIComponent(`${dir}/${HOST_FILE}`)}`);
      expect(head.status).toBe(404);
    });
    console.log(`race: ${ROUNDS} rounds of PUT, GET and HEAD: ${JSON.stringify([...statuses])}`);
    await canaryIntact();
    // The race really ran: some copies landed inside the container, some found no directory.
    expect(landed).toBeGreaterThan(0);
    expect([...statuses.keys()].every((s) => [200, 400, 404].includes(s)), JSON.stringify([...statuses, ...faults])).toBe(true);
  }, 900_000);

  it('never lets docker diff, export or commit read the host through a swapped directory', async () => {
    const c = uniqueName('racer-tools');
    await ok(['run', '-d', '--name', c, '--cpus', '0.5', busybox, 'sh', '-c', racer('/race/d')]);
    const rounds = Math.max(10, Math.floor(ROUNDS / 60));
    await inLanes(rounds, 2, async (i) => {
      const diff = await call('GET', `/containers/${c}/changes`);
      expect(diff.status, diff.body.toString()).toBe(200);
      expect(diff.body.toString()).not.toContain(HOST_FILE);
      const exported = await call('GET', `/containers/${c}/export`);
      expect(exported.status, exported.body.toString().slice(0, 300)).toBe(200);
      expect(exported.body.includes(Buffer.from('HOST SECRET'))).toBe(false);
      const image = `race-commit-${process.pid}-${i}`;
      const committed = await call('POST', `/commit?container=${c}&repo=${image}&pause=false`);
      expect(committed.status, committed.body.toString()).toBe(201);
      const saved = await call('GET', `/images/${image}/get`);
      expect(saved.status, saved.body.toString().slice(0, 300)).toBe(200);
      expect(saved.body.includes(Buffer.from('HOST SECRET'))).toBe(false);
      // A file the container removes mid-commit is left out, never the whole layer: /race is in it.
      expect(saved.body.includes(Buffer.from('race/'))).toBe(true);
      await docker(['rmi', '-f', image]);
    });
    await canaryIntact();
  }, 900_000);
});
