/**
 * The fault test of issue 15: the daemon is SIGKILLed at random moments while real clients create,
 * start, stop, remove and commit containers, write volumes and pull images, at least 50 times. After
 * each restart the state must be consistent: what a client was told had happened has happened (an
 * acknowledged create, start, stop, rm, commit, volume write or pull is kept), what was cut short is
 * either whole or absent, and nothing half-made shows: no container in a state dockerd has no word
 * for, no process or overlay mount of a container that is not running, no image whose layers are
 * gone. The seed is printed; BURROW_FAULT_SEED replays a run, BURROW_FAULT_ROUNDS sets its length.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProcessResult } from './harness/clients.js';
import { RestartableDaemon } from './harness/restartable.js';
import { mulberry32 } from './harness/seeded.js';
import { processesOf } from './harness/container-kit.js';

const bed = inject('testbed');
const busybox = bed.images.busybox.reference;
const pullable = bed.images.layers.reference;
const ROUNDS = Number(process.env.BURROW_FAULT_ROUNDS || 50);
const SEED = Number(process.env.BURROW_FAULT_SEED || randomInt(2 ** 31));

/** Integers in [0, n) from the seeded generator. */
function seeded(seed: number): (n: number) => number {
  const next = mulberry32(seed);
  return (n) => Math.floor(next() * n);
}

let bedDaemon: RestartableDaemon;
const docker = (args: string[]): Promise<ProcessResult> => bedDaemon.docker(args);

/** What the clients were told: the model the state after each restart is checked against. */
interface Model {
  /** Containers whose create/run was acknowledged and whose rm was not. */
  containers: Map<string, { running?: boolean }>;
  /** Names whose create/run or rm was cut short: either whole or absent. */
  unsure: Set<string>;
  images: Set<string>;
  volumes: Map<string, string>;
  pulled: boolean;
}

type Op = { what: string; run: () => Promise<ProcessResult>; acked: () => void; cut: () => void };

function pick<T>(rand: (n: number) => number, xs: T[]): T | undefined {
  return xs.length ? xs[rand(xs.length)] : undefined;
}

/** One op of each kind that has a target, each on its own object, so one round's ops never race each other. */
function plan(rand: (n: number) => number, m: Model, round: number): Op[] {
  const names = [...m.containers.keys()];
  const used = new Set<string>();
  const target = (filter: (n: string) => boolean): string | undefined => {
    const n = pick(rand, names.filter((x) => !used.has(x) && filter(x)));
    if (n) used.add(n);
    return n;
  };
  const ops: Op[] = [];
  const fresh = `fk-${round}`;
  const make = rand(2) === 0 ? ['create', '--name', fresh, '-v', '/data', busybox, 'sleep', '1000'] : ['run', '-d', '--name', fresh, busybox, 'sleep', '1000'];
  ops.push({
    what: make.slice(0, 3).join(' '),
    run: () => docker(make),
    acked: () => m.containers.set(fresh, { running: make[0] === 'run' }),
    cut: () => m.unsure.add(fresh),
  });
  const toStart = target((n) => m.containers.get(n)?.running === false);
  if (toStart) ops.push({ what: `start ${toStart}`, run: () => docker(['start', toStart]), acked: () => m.containers.set(toStart, { running: true }), cut: () => m.containers.set(toStart, {}) });
  const toStop = target((n) => m.containers.get(n)?.running === true);
  if (toStop) ops.push({ what: `stop ${toStop}`, run: () => docker(['stop', '-t', '0', toStop]), acked: () => m.containers.set(toStop, { running: false }), cut: () => m.containers.set(toStop, {}) });
  const toRemove = names.length > 4 ? target(() => true) : undefined;
  if (toRemove) {
    ops.push({
      what: `rm -f ${toRemove}`,
      run: () => docker(['rm', '-f', '-v', toRemove]),
      acked: () => m.containers.delete(toRemove),
      cut: () => {
        m.containers.delete(toRemove);
        m.unsure.add(toRemove);
      },
    });
  }
  const toCommit = rand(3) === 0 ? target(() => true) : undefined;
  if (toCommit) {
    const image = `fk-image-${round}`;
    ops.push({ what: `commit ${toCommit}`, run: () => docker(['commit', toCommit, image]), acked: () => m.images.add(image), cut: () => undefined });
  }
  if (rand(3) === 0) {
    const volume = `fk-vol-${round}`;
    const text = `written-${round}`;
    const writer = `fk-writer-${round}`;
    ops.push({
      what: `volume write ${volume}`,
      run: async () => {
        const made = await docker(['volume', 'create', volume]);
        if (made.code !== 0) return made;
        return docker(['run', '--rm', '--name', writer, '-v', `${volume}:/d`, busybox, 'sh', '-c', `echo ${text} > /d/f && sync`]);
      },
      acked: () => m.volumes.set(volume, text),
      // Its --rm container may be left, whole, by a kill between its exit and its removal.
      cut: () => m.unsure.add(writer),
    });
  }
  if (rand(4) === 0) {
    ops.push({
      what: 'rmi + pull',
      run: async () => {
        await docker(['rmi', pullable]);
        return docker(['pull', pullable]);
      },
      acked: () => (m.pulled = true),
      cut: () => (m.pulled = false),
    });
  }
  return ops;
}

const STATUSES = ['created', 'running', 'paused', 'restarting', 'exited', 'dead'];

async function inspectContainer(ref: string): Promise<Record<string, unknown> | undefined> {
  const r = await docker(['container', 'inspect', ref]);
  return r.code === 0 ? (JSON.parse(r.stdout) as Record<string, unknown>[])[0] : undefined;
}

/** Every container is whole and in a state dockerd has a word for; its processes and mounts agree with it. */
async function checkConsistent(m: Model, context: string): Promise<void> {
  const listed = await docker(['ps', '-a', '--no-trunc', '--format', '{{.ID}} {{.Names}}']);
  expect(listed.code, `${context}: ps -a: ${listed.stderr}`).toBe(0);
  const present = new Map(listed.stdout.split('\n').filter(Boolean).map((l) => [l.split(' ')[1] ?? '', l.split(' ')[0] ?? '']));
  for (const [name, want] of m.containers) {
    expect(present.has(name), `${context}: acknowledged container ${name} is missing`).toBe(true);
    const state = (await inspectContainer(name))?.State as Record<string, unknown> | undefined;
    if (want.running === true) expect(state?.Running, `${context}: ${name} was started`).toBe(true);
    if (want.running === false) expect(state?.Running, `${context}: ${name} was stopped or never started`).toBe(false);
  }
  for (const [name, id] of present) {
    const c = await inspectContainer(id);
    expect(c, `${context}: ${name} is listed but does not inspect`).toBeDefined();
    const state = c?.State as Record<string, unknown>;
    expect(STATUSES, `${context}: ${name} is ${String(state.Status)}`).toContain(state.Status);
    if (!m.containers.has(name)) expect(m.unsure.has(name), `${context}: ${name} came back after an acknowledged rm`).toBe(true);
    if (state.Running === true) {
      expect(state.Pid, `${context}: running ${name} has no pid`).not.toBe(0);
      expect(state.Paused, `${context}: ${name} was left paused`).toBe(false);
    } else {
      expect(state.Pid, `${context}: stopped ${name} has a pid`).toBe(0);
      expect(await processesOf(id), `${context}: stopped ${name} has processes`).toEqual([]);
      expect(await bedDaemon.mountsOf(id), `${context}: stopped ${name} is mounted`).toEqual([]);
    }
  }
  for (const image of m.images) {
    const r = await docker(['image', 'inspect', '--format', '{{.Id}}', image]);
    expect(r.code, `${context}: committed ${image}: ${r.stderr}`).toBe(0);
  }
  if (m.pulled) expect((await docker(['image', 'inspect', pullable])).code, `${context}: pulled image is gone`).toBe(0);
  // Any image listed at all is whole: its layers can be read back.
  const images = (await docker(['images', '-q', '--no-trunc'])).stdout.split('\n').filter(Boolean);
  for (const image of new Set(images)) {
    const saved = await docker(['save', '-o', join(bedDaemon.dir, 'saved.tar'), image]);
    expect(saved.code, `${context}: image ${image} is not whole: ${saved.stderr}`).toBe(0);
  }
}

beforeAll(async () => {
  bedDaemon = await RestartableDaemon.create('burrow-fault-');
  await bedDaemon.restart();
  const pulled = await docker(['pull', busybox]);
  expect(pulled.code, pulled.stderr).toBe(0);
});

afterAll(async () => {
  await bedDaemon?.close();
});

describe('the daemon SIGKILLed at random moments', () => {
  it(`keeps what it acknowledged and shows nothing half-made, over ${ROUNDS} kills`, { timeout: 1_200_000 }, async () => {
    process.stdout.write(`fault test: BURROW_FAULT_SEED=${SEED} BURROW_FAULT_ROUNDS=${ROUNDS}\n`);
    const rand = seeded(SEED);
    const m: Model = { containers: new Map(), unsure: new Set(), images: new Set(), volumes: new Map(), pulled: false };
    for (let round = 0; round < ROUNDS; round++) {
      const ops = plan(rand, m, round);
      const delay = rand(600);
      const context = `round ${round} (seed ${SEED}; kill after ${delay} ms during ${ops.map((o) => o.what).join(', ')})`;
      const settled = ops.map((op) => {
        let done = false;
        const result = op.run().then((r) => {
          done = true;
          return r;
        });
        return { op, result, done: () => done };
      });
      await sleep(delay);
      // What had been answered before the kill was acknowledged; the rest was cut short.
      const answered = settled.map((s) => s.done());
      await bedDaemon.kill();
      const results = await Promise.all(settled.map((s) => s.result));
      settled.forEach((s, i) => (answered[i] && results[i]?.code === 0 ? s.op.acked() : s.op.cut()));
      await bedDaemon.restart();
      // A container whose create or rm was cut short is whole or absent; from here on it is known.
      const listed = (await docker(['ps', '-a', '--format', '{{.Names}}'])).stdout.split('\n').filter(Boolean);
      await checkConsistent(m, context);
      for (const name of m.unsure) {
        if (!listed.includes(name) || m.containers.has(name)) continue;
        // A --rm container left by a kill goes on exit: not one to start and stop again.
        const autoRemove = ((await inspectContainer(name))?.HostConfig as Record<string, unknown> | undefined)?.AutoRemove === true;
        if (autoRemove) expect((await docker(['rm', '-f', name])).code, `${context}: rm of the left ${name}`).toBe(0);
        else m.containers.set(name, {});
      }
      m.unsure.clear();
      for (const [name, want] of m.containers) if (want.running === undefined) m.containers.set(name, { running: ((await inspectContainer(name))?.State as Record<string, unknown>)?.Running === true });
    }
    for (const [volume, text] of m.volumes) {
      const r = await docker(['run', '--rm', '-v', `${volume}:/d`, busybox, 'cat', '/d/f']);
      expect(r.stdout.trim(), `volume ${volume}: ${r.stderr}`).toBe(text);
    }
  });
});
