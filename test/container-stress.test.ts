/**
 * Many clients on the same containers at once, through the API (dockerode): random start, stop,
 * kill, restart, pause, unpause, exec, rename, rm and commit on ~10 containers from 8 clients,
 * while one more client tags, removes, pulls and builds on the image those containers are created from.
 * Every refusal must be a dockerd-shaped 304/404/409 (never a 500), inspect must never show an
 * impossible state, a removed container must never come back, and once it is over no process or
 * mount of any of them may be left.
 *
 * The randomness is seeded; the seed is printed, and BURROW_STRESS_SEED=<seed> replays a run
 * (BURROW_STRESS_SECONDS sets its length).
 */
import { readFile } from 'node:fs/promises';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerCli } from './harness/clients.js';
import { containerKit, processesOf } from './harness/container-kit.js';
import { isolatedTestbed } from './harness/isolated.js';
import { mulberry32 } from './harness/seeded.js';

const bed = await isolatedTestbed();
const docker = dockerCli(bed.dockerHost);
const busybox = bed.images.busybox.reference;
const { ok } = containerKit(docker);
const client = new Docker({ socketPath: bed.socket });

const SEED = process.env.BURROW_STRESS_SEED ? Number(process.env.BURROW_STRESS_SEED) : Math.floor(Math.random() * 2 ** 31);
const SECONDS = process.env.BURROW_STRESS_SECONDS ? Number(process.env.BURROW_STRESS_SECONDS) : 40;
const CLIENTS = 8;
const SLOTS = 10;
const LABEL = `burrow.stress=${process.pid}`;
const COMMIT_REPO = `stress-commit-${process.pid}`;
/** A second name for busybox that the image client removes and brings back while containers are made from it. */
const BASE = `stress-base-${process.pid}:latest`;
const BUILT = `stress-built-${process.pid}:latest`;



type Op = 'create' | 'start' | 'stop' | 'kill' | 'restart' | 'pause' | 'unpause' | 'exec' | 'rename' | 'rm' | 'commit' | 'inspect' | 'update' | 'top' | 'logs' | 'stats';
const OPS: Op[] = ['create', 'start', 'start', 'stop', 'kill', 'restart', 'pause', 'unpause', 'exec', 'exec', 'rename', 'rm', 'commit', 'inspect', 'update', 'top', 'logs', 'stats'];

interface ApiError {
  statusCode?: number;
  json?: { message?: string } | null;
  message: string;
}

const violations: string[] = [];
const seen = new Set<string>();
/** Container id → when its removal was answered 204: no list or inspect begun later may show it. */
const removedAt = new Map<string, number>();
const tally = new Map<string, number>();
const count = (key: string): void => void tally.set(key, (tally.get(key) ?? 0) + 1);

const DOCKER_STATUSES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];

/** The State fields of one inspect, checked against each other as dockerd keeps them. */
function stateProblems(id: string, s: { Status: string; Running: boolean; Paused: boolean; Restarting: boolean; Pid: number; ExitCode: number }): string[] {
  const out: string[] = [];
  const who = `${id.slice(0, 12)} ${JSON.stringify(s)}`;
  if (!DOCKER_STATUSES.includes(s.Status)) out.push(`unknown status: ${who}`);
  if (s.Paused && !s.Running) out.push(`paused but not running: ${who}`);
  if ((s.Status === 'paused') !== (s.Paused && s.Running)) out.push(`status and Paused disagree: ${who}`);
  if (s.Status === 'running' && (!s.Running || s.Paused || s.Restarting)) out.push(`status running with other flags: ${who}`);
  if ((s.Status === 'exited' || s.Status === 'created' || s.Status === 'dead') && (s.Running || s.Paused)) out.push(`stopped but running: ${who}`);
  if ((s.Pid > 0) !== (s.Running && !s.Restarting)) out.push(`Pid and Running disagree: ${who}`);
  return out;
}

async function inspectChecked(id: string): Promise<Docker.ContainerInspectInfo | undefined> {
  const began = Date.now();
  try {
    const info = await client.getContainer(id).inspect();
    const gone = removedAt.get(info.Id);
    if (gone !== undefined && gone < began) violations.push(`resurrected: ${info.Id} inspected after its removal`);
    violations.push(...stateProblems(info.Id, info.State));
    return info;
  } catch (err) {
    expectDockerError('inspect', err);
    return undefined;
  }
}

/** dockerd's refusals a racing client may get: not modified, no such container, conflict. */
function expectDockerError(op: string, err: unknown): void {
  const e = err as ApiError;
  const status = e.statusCode;
  const message = e.json?.message ?? e.message;
  if (status === 304 || status === 404 || status === 409) {
    count(`${op} ${status}`);
    if (status !== 304 && (!message || /TypeError|at .*\(.*:\d+:\d+\)/.test(message))) violations.push(`${op}: ${status} without a dockerd message: ${message}`);
    return;
  }
  violations.push(`${op}: ${status ?? 'no status'} ${message}`);
}

async function slotContainers(slot: number): Promise<string[]> {
  const began = Date.now();
  const list = await client.listContainers({ all: true, filters: { label: [`${LABEL}`, `burrow.slot=${slot}`] } });
  for (const c of list) {
    const gone = removedAt.get(c.Id);
    if (gone !== undefined && gone < began) violations.push(`resurrected: ${c.Id} listed after its removal`);
  }
  return list.map((c) => c.Id);
}

async function runOp(op: Op, slot: number, pick: () => number): Promise<void> {
  const ids = await slotContainers(slot);
  if (op === 'create' || ids.length === 0) {
    if (ids.length > 0) return;
    const c = await client.createContainer({
      Image: pick() < 0.5 ? BASE : busybox,
      Cmd: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'],
      Labels: { 'burrow.stress': String(process.pid), 'burrow.slot': String(slot) },
      name: `stress-${process.pid}-${slot}-${Math.floor(pick() * 1e9)}`,
    });
    seen.add(c.id);
    count('create ok');
    return;
  }
  const id = ids[Math.floor(pick() * ids.length)] as string;
  seen.add(id);
  const c = client.getContainer(id);
  try {
    switch (op) {
      case 'start':
        await c.start();
        break;
      case 'stop':
        await c.stop({ t: 1 });
        break;
      case 'kill':
        await c.kill();
        break;
      case 'restart':
        await c.restart({ t: 1 });
        break;
      case 'pause':
        await c.pause();
        break;
      case 'unpause':
        await c.unpause();
        break;
      case 'exec': {
        const exec = await c.exec({ Cmd: ['echo', 'hi'], AttachStdout: true, AttachStderr: true });
        const stream = await exec.start({ hijack: true, stdin: false });
        const ended = await new Promise<boolean>((resolve) => {
          const t = setTimeout(() => resolve(false), 20_000);
          const done = (): void => {
            clearTimeout(t);
            resolve(true);
          };
          stream.on('end', done);
          stream.on('close', done);
          stream.on('error', done);
          stream.resume();
        });
        if (!ended) violations.push(`exec: the output of an exec in ${id.slice(0, 12)} never ended`);
        stream.destroy();
        break;
      }
      case 'rename':
        await c.rename({ name: `stress-${process.pid}-${slot}-${Math.floor(pick() * 1e9)}` });
        break;
      case 'rm':
        await c.remove({ force: pick() < 0.7 });
        removedAt.set(id, Date.now());
        break;
      case 'commit':
        await c.commit({ repo: COMMIT_REPO, tag: `s${slot}`, pause: pick() < 0.5 });
        break;
      case 'inspect':
        await inspectChecked(id);
        break;
      case 'update':
        await c.update({ CpuShares: 256 + Math.floor(pick() * 768), PidsLimit: 1000 });
        break;
      case 'top':
        await c.top();
        break;
      case 'logs':
        await c.logs({ stdout: true, stderr: true, tail: 5 });
        break;
      case 'stats':
        await c.stats({ stream: false, 'one-shot': true });
        break;
      default:
        break;
    }
    count(`${op} ok`);
  } catch (err) {
    expectDockerError(op, err);
  }
}

async function clientLoop(index: number, until: number): Promise<void> {
  const pick = mulberry32(SEED + index * 7919);
  while (Date.now() < until) {
    const op = OPS[Math.floor(pick() * OPS.length)] as Op;
    const slot = Math.floor(pick() * SLOTS);
    try {
      await runOp(op, slot, pick);
    } catch (err) {
      // A create or list that failed: the same rule applies.
      expectDockerError(`${op} (setup)`, err);
    }
  }
}

type ImageOp = 'tag' | 'rmi-base' | 'rmi-busybox' | 'rmi-commit' | 'pull' | 'build' | 'rmi-built';
const IMAGE_OPS: ImageOp[] = ['tag', 'tag', 'rmi-base', 'rmi-busybox', 'rmi-commit', 'pull', 'build', 'rmi-built'];

/** The image client: the image the containers come from is untagged, retagged, pulled and built on meanwhile. */
async function imageLoop(until: number): Promise<void> {
  const pick = mulberry32(SEED + 104729);
  while (Date.now() < until) {
    const op = IMAGE_OPS[Math.floor(pick() * IMAGE_OPS.length)] as ImageOp;
    try {
      switch (op) {
        case 'tag': {
          const [repo, tag] = BASE.split(':') as [string, string];
          await client.getImage(busybox).tag({ repo, tag });
          break;
        }
        case 'rmi-base':
          await client.getImage(BASE).remove();
          break;
        case 'rmi-busybox':
          // Without force: an image that containers use is dockerd's 409, never gone from under them.
          await client.getImage((await client.getImage(busybox).inspect()).Id).remove();
          break;
        case 'rmi-commit':
          await client.getImage(`${COMMIT_REPO}:s${Math.floor(pick() * SLOTS)}`).remove({ force: pick() < 0.5 });
          break;
        case 'pull': {
          const r = await docker(['pull', '-q', busybox]);
          if (r.code !== 0) violations.push(`pull: ${r.stderr.trim()}`);
          break;
        }
        case 'build': {
          // FROM the registry's name: removed meanwhile, it is pulled again from the loopback registry.
          const r = await docker(['build', '-q', '-t', BUILT, '-'], { input: `FROM ${busybox}\nRUN echo built > /built\n`, env: { DOCKER_BUILDKIT: '0' } });
          if (r.code !== 0) violations.push(`build: ${r.stderr.trim().split('\n').at(-1) ?? ''}`);
          break;
        }
        case 'rmi-built':
          await client.getImage(BUILT).remove({ force: true });
          break;
      }
      count(`image ${op} ok`);
    } catch (err) {
      expectDockerError(`image ${op}`, err);
    }
  }
}

/** Mount points of the daemon (in its own mount namespace) that belong to one of the containers. */
async function containerMounts(ids: Iterable<string>): Promise<string[]> {
  const mounts = await readFile(`/proc/${bed.daemonPid}/mounts`, 'utf8');
  const all = [...ids];
  return mounts.split('\n').filter((line) => all.some((id) => line.includes(`/containers/${id}/`)));
}

beforeAll(async () => {
  await ok(['pull', busybox]);
  await ok(['tag', busybox, BASE]);
});

afterAll(async () => {
  for (const id of seen) await docker(['rm', '-f', id]);
  await docker(['image', 'rm', '-f', BASE, BUILT, ...Array.from({ length: SLOTS }, (_, i) => `${COMMIT_REPO}:s${i}`)]);
});

describe('container stress', () => {
  it(`${CLIENTS} clients for ${SECONDS} s on ${SLOTS} containers: only dockerd's 4xx, consistent states, nothing comes back, nothing left behind`, async () => {
    console.log(`container stress: seed ${SEED} (replay with BURROW_STRESS_SEED=${SEED}), ${SECONDS} s`);
    const until = Date.now() + SECONDS * 1000;
    // A watcher looks at every container while the clients work.
    const watching = (async () => {
      while (Date.now() < until) {
        for (let slot = 0; slot < SLOTS; slot++) for (const id of await slotContainers(slot)) await inspectChecked(id);
      }
    })();
    await Promise.all([...Array.from({ length: CLIENTS }, (_, i) => clientLoop(i, until)), imageLoop(until), watching]);
    console.log(`container stress: seed ${SEED}: ${JSON.stringify(Object.fromEntries([...tally].sort()))}`);
    expect(violations, `seed ${SEED}`).toEqual([]);

    // The daemon still answers, every container left is consistent and can be removed.
    const left = (await client.listContainers({ all: true, filters: { label: [LABEL] } })).map((c) => c.Id);
    for (const id of left) await inspectChecked(id);
    expect(violations, `seed ${SEED}`).toEqual([]);
    for (const id of left) {
      await client.getContainer(id).remove({ force: true });
      removedAt.set(id, Date.now());
    }
    expect(await client.listContainers({ all: true, filters: { label: [LABEL] } })).toEqual([]);
    for (const id of seen) {
      expect(await processesOf(id), `processes of ${id} (seed ${SEED})`).toEqual([]);
    }
    expect(await containerMounts(seen), `mounts (seed ${SEED})`).toEqual([]);
    // The image store is whole: busybox (pulled again if the image client removed it) runs, and saves.
    await ok(['pull', busybox]);
    expect((await docker(['run', '--rm', busybox, 'true'])).code, `run after the image churn (seed ${SEED})`).toBe(0);
    expect((await docker(['save', '-o', `${bed.privateDir}/stress-save.tar`, busybox])).code, `save (seed ${SEED})`).toBe(0);
    // No network endpoint (address, netns) is left to a removed container.
    for (const net of await client.listNetworks()) {
      const endpoints = Object.keys(((await client.getNetwork(net.Id).inspect()) as { Containers?: Record<string, unknown> }).Containers ?? {});
      expect(endpoints.filter((id) => seen.has(id)), `endpoints on ${net.Name} (seed ${SEED})`).toEqual([]);
    }
  }, (SECONDS + 180) * 1000);
});
