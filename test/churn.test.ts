/**
 * Issue 4's acceptance: a create/start/remove loop of many containers leaves no process, mount or
 * file behind. BURROW_CHURN sets the count (default 200); four loops run side by side.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import { dockerCli } from './harness/clients.js';
import { isolatedTestbed } from './harness/isolated.js';

const COUNT = Number(process.env.BURROW_CHURN ?? '200');
const WIDTH = 4;

const bed = await isolatedTestbed();
const client = new Docker({ socketPath: bed.socket });
const busybox = bed.images.busybox.reference;
const dataRoot = join(bed.privateDir, 'data');
const runtimeDir = join(bed.privateDir, 'xdg-run', 'burrow');

async function pool(count: number, width: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await fn(next++);
  };
  await Promise.all(Array.from({ length: width }, worker));
}

/** Every path under `dir` (skipping `skip` names), as far as this user may read. */
async function walk(dir: string, skip: ReadonlySet<string> = new Set()): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const out: string[] = [];
  for (const e of entries) {
    if (skip.has(e.name)) continue;
    const p = join(dir, e.name);
    out.push(p);
    if (e.isDirectory()) out.push(...(await walk(p, skip)));
  }
  return out;
}

/** Commands of the processes in the daemon's user namespace (the engine's own helpers included). */
async function namespaceProcesses(daemonPid: number): Promise<string[]> {
  const userns = await readlink(`/proc/${daemonPid}/ns/user`);
  const found: string[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === daemonPid) continue;
    const ns = await readlink(`/proc/${pid}/ns/user`).catch(() => undefined);
    if (ns !== userns) continue;
    const cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').join(' ').trim();
    if (cmd) found.push(`${pid} ${cmd}`);
  }
  return found;
}

describe(`create/start/remove of ${COUNT} containers`, () => {
  it('leaves no process, mount, container dir, netns or exit file behind', { timeout: 180_000 }, async () => {
    const docker = dockerCli(bed.dockerHost);
    const pulled = await docker(['pull', busybox]);
    expect(pulled.code, pulled.stderr).toBe(0);
    // One run first, so the network hub the first container brings up counts as "before".
    const warm = await docker(['run', '--rm', busybox, 'true']);
    expect(warm.code, warm.stderr).toBe(0);
    const ids: string[] = [];
    const before = await namespaceProcesses(bed.daemonPid);

    await pool(COUNT, WIDTH, async (i) => {
      // Half exit on their own and are removed after wait; half still run and are force-removed.
      const running = i % 2 === 0;
      const c = await client.createContainer({ Image: busybox, Cmd: running ? ['sleep', '60'] : ['true'], name: `churn-${process.pid}-${i}` });
      ids.push(c.id);
      await c.start();
      if (running) {
        await c.remove({ force: true });
      } else {
        await c.wait();
        await c.remove();
      }
    });
    expect(ids).toHaveLength(COUNT);

    expect(await client.listContainers({ all: true })).toEqual([]);

    // Processes: nothing in the engine's user namespace beyond what was there before the loop.
    const after = await namespaceProcesses(bed.daemonPid);
    const beforePids = new Set(before.map((l) => l.split(' ')[0]));
    const extra = after.filter((l) => !beforePids.has(l.split(' ')[0]));
    expect(extra).toEqual([]);
    expect(after.filter((l) => /\b(conmon|crun|sleep)\b/.test(l))).toEqual([]);

    // Mounts, seen from inside the engine's mount namespace.
    const mountinfo = await readFile(`/proc/${bed.daemonPid}/mountinfo`, 'utf8');
    const leftMounts = mountinfo.split('\n').filter((l) => l.includes(join(dataRoot, 'containers')) || ids.some((id) => l.includes(id)));
    expect(leftMounts).toEqual([]);

    // Files: no container dir, and nothing named after a container in the runtime dir (exit files,
    // netns files, attach socket links, runtime state) or the data root (network records).
    expect(await readdir(join(dataRoot, 'containers'))).toEqual([]);
    expect(await readdir(join(runtimeDir, 'exits')).catch(() => [])).toEqual([]);
    const idSet = new Set(ids);
    const named = [...(await walk(runtimeDir)), ...(await walk(dataRoot, new Set(['images'])))].filter((p) => p.split('/').some((part) => idSet.has(part) || [...idSet].some((id) => part.startsWith(id))));
    expect(named).toEqual([]);
  });
});
