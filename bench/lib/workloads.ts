/**
 * The workloads. Every engine is driven by the same client: the docker CLI (with DOCKER_HOST) for
 * end-to-end commands, dockerode or plain HTTP for in-process loops where process start-up would
 * drown the number. A workload that throws gets "failed: <message>" for that engine; the run goes on.
 */
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import Docker from 'dockerode';
import type { Engine } from './engines.js';
import { mustRun, runCmd, type CmdResult } from './proc.js';
import { summarize, timeRuns, type Sample } from './stats.js';

export interface Counts {
  /** Generic repetitions for latency workloads (warm-ups come on top). */
  runs: number;
  warmup: number;
  ping: number;
  pullRuns: number;
  psContainers: number;
  logsMiB: number;
  concurrent: number;
  concurrentRuns: number;
  churn: number;
  rssContainers: number;
  portMiB: number;
  /** Running containers for the PSS workload. */
  pssContainers: number;
  /** create/start/rm cycles and API calls for the memory-churn workload. */
  memCycles: number;
  memCalls: number;
}

export const FULL_COUNTS: Counts = {
  runs: 20,
  warmup: 3,
  ping: 5000,
  pullRuns: 5,
  psContainers: 100,
  logsMiB: 50,
  concurrent: 20,
  concurrentRuns: 3,
  churn: 200,
  rssContainers: 100,
  portMiB: 1024,
  pssContainers: 50,
  memCycles: 1000,
  memCalls: 10000,
};

export const QUICK_COUNTS: Counts = {
  runs: 5,
  warmup: 1,
  ping: 1000,
  pullRuns: 2,
  psContainers: 20,
  logsMiB: 5,
  concurrent: 5,
  concurrentRuns: 2,
  churn: 20,
  rssContainers: 10,
  portMiB: 128,
  pssContainers: 10,
  memCycles: 100,
  memCalls: 1000,
};

export interface Row {
  key: string;
  title: string;
  unit: string;
  better: 'lower' | 'higher';
}

export interface EngineContext {
  engine: Engine;
  docker: Docker;
  cli: (args: string[], opts?: { capture?: boolean; timeoutMs?: number }) => Promise<CmdResult>;
  /** Same client, but a failure is returned instead of thrown (for untimed clean-up steps). */
  cliTry: (args: string[]) => Promise<CmdResult>;
  /** Full references of the bench images as this engine pulls them. */
  refs: { busybox: string; big: string };
  counts: Counts;
  /** Unique name prefix for containers made by this run. */
  prefix: string;
  /** Idle RSS, measured by the first workload, for the last one. */
  idle?: { pids: Set<number>; daemonKiB: number; totalKiB: number };
}

export interface Workload {
  id: string;
  title: string;
  /** Needs containers (fails on an engine without them; never aborts the run). */
  containers: boolean;
  rows: Row[];
  /** What the numbers mean, for the README and the JSON. */
  describe: (c: Counts) => string;
  run: (ctx: EngineContext) => Promise<Record<string, Sample>>;
}

import { createStarted, keepAliveGetter, mib, ms, pool, removeAll, rss, uname } from './kit.js';
import { BUILD_WORKLOADS, BUILDKIT_WORKLOADS } from './workloads-build.js';
import { LOG_WORKLOADS } from './workloads-logs.js';
import { MEMORY_WORKLOADS } from './workloads-memory.js';

function httpGetLoop(socket: string, path: string, runs: number, warmup: number): Promise<Sample> {
  const http = keepAliveGetter(socket);
  return timeRuns(runs, warmup, () => http.get(path)).finally(() => http.close());
}

// ----------------------------------------------------------------------------------------------

export const WORKLOADS: Workload[] = [
  {
    id: 'rss-idle',
    title: 'Daemon RSS, idle (after start and the image pre-pull)',
    containers: false,
    rows: [mib('daemon', 'all engine processes, idle')],
    describe: () => 'Sum of VmRSS over the engine\'s processes (launcher tree + everything in its user namespace), 3 samples 0.5 s apart.',
    run: async (ctx) => {
      const v: number[] = [];
      let pids = new Set<number>();
      for (let i = 0; i < 3; i++) {
        const r = await rss(ctx);
        pids = r.pids;
        v.push(r.kib / 1024);
        await sleep(500);
      }
      const s = summarize(v, 'MiB');
      ctx.idle = { pids, daemonKiB: s.min * 1024, totalKiB: s.min * 1024 };
      return { daemon: s };
    },
  },
  {
    id: 'ping',
    title: 'GET /_ping (in-process, keep-alive)',
    containers: false,
    rows: [ms('first', 'GET /_ping, the first requests'), ms('ping', 'GET /_ping, the rest')],
    describe: (c) =>
      `${c.ping} requests over one keep-alive connection after 10 warm-ups: the first ${Math.floor(c.ping / 10)}, then the rest. A Node daemon answers its first ~1,500 pings slower while V8 compiles the path (a Go daemon has nothing to compile); the rest is what a daemon that has been up a while answers.`,
    run: async (ctx) => {
      const http = keepAliveGetter(ctx.engine.socket);
      try {
        const firstRuns = Math.floor(ctx.counts.ping / 10);
        const first = await timeRuns(firstRuns, 10, () => http.get('/_ping'));
        return { first, ping: await timeRuns(ctx.counts.ping - firstRuns, 0, () => http.get('/_ping')) };
      } finally {
        http.close();
      }
    },
  },
  {
    id: 'version',
    title: 'docker version (CLI end to end)',
    containers: false,
    rows: [ms('version', 'docker version')],
    describe: (c) => `The CLI process start to exit, ${c.runs} runs.`,
    run: async (ctx) => ({ version: await timeRuns(ctx.counts.runs, ctx.counts.warmup, async () => void (await ctx.cli(['version']))) }),
  },
  {
    id: 'pull',
    title: 'docker pull of the ~100 MB multi-layer image after rmi',
    containers: false,
    rows: [ms('pull', 'docker pull (6 layers)')],
    describe: (c) => `\`docker rmi\` (untimed), then \`docker pull\` from the loopback registry, ${c.pullRuns} runs after 1 warm-up. The busybox base layer stays (the busybox image shares it) on every engine.`,
    run: async (ctx) => ({
      pull: await timeRuns(
        ctx.counts.pullRuns,
        1,
        async () => void (await ctx.cli(['pull', ctx.refs.big], { capture: false, timeoutMs: 600_000 })),
        async () => void (await ctx.cliTry(['rmi', ctx.refs.big])),
      ),
    }),
  },
  ...BUILD_WORKLOADS,
  {
    id: 'run',
    title: 'docker run --rm busybox true (CLI end to end)',
    containers: true,
    rows: [ms('run', 'docker run --rm busybox true')],
    describe: (c) => `The whole CLI command, ${c.runs} runs. The floor is \`crun run\` of the same rootfs in a user+mount namespace of the same user.`,
    run: async (ctx) => ({ run: await timeRuns(ctx.counts.runs, ctx.counts.warmup, async () => void (await ctx.cli(['run', '--rm', ctx.refs.busybox, 'true']))) }),
  },
  {
    id: 'netsetup',
    title: "a container's network setup: docker run on the default bridge vs --network none",
    containers: true,
    rows: [ms('bridge', 'docker run --rm busybox true (default bridge)'), ms('none', 'docker run --rm --network none busybox true'), ms('setup', 'network setup (bridge − none, medians)')],
    describe: (c) => `The same CLI command with and without a bridge network, ${c.runs} runs each, interleaved; the difference of the medians is what setting a container's network up (and tearing it down) costs.`,
    run: async (ctx) => {
      const bridgeTimes: number[] = [];
      const noneTimes: number[] = [];
      const once = async (args: string[], into: number[]): Promise<void> => {
        const t0 = performance.now();
        await ctx.cli(['run', '--rm', ...args, ctx.refs.busybox, 'true']);
        into.push(performance.now() - t0);
      };
      for (let i = 0; i < ctx.counts.warmup; i++) {
        await once([], []);
        await once(['--network', 'none'], []);
      }
      for (let i = 0; i < ctx.counts.runs; i++) {
        await once([], bridgeTimes);
        await once(['--network', 'none'], noneTimes);
      }
      const bridge = summarize(bridgeTimes);
      const none = summarize(noneTimes);
      return { bridge, none, setup: summarize([bridge.median - none.median]) };
    },
  },
  {
    id: 'phases',
    title: 'create / start / wait / remove (dockerode, in-process)',
    containers: true,
    rows: [ms('create', 'create'), ms('start', 'start'), ms('wait', 'wait (until exit)'), ms('remove', 'remove'), ms('total', 'total')],
    describe: (c) => `\`true\` in busybox, each API call timed separately, ${c.runs} runs.`,
    run: async (ctx) => {
      const t: Record<string, number[]> = { create: [], start: [], wait: [], remove: [], total: [] };
      for (let i = 0; i < ctx.counts.warmup + ctx.counts.runs; i++) {
        const t0 = performance.now();
        const c = await ctx.docker.createContainer({ Image: ctx.refs.busybox, Cmd: ['true'], name: uname(ctx, 'phase') });
        const t1 = performance.now();
        try {
          await c.start();
          const t2 = performance.now();
          const w = (await c.wait()) as { StatusCode?: number };
          const t3 = performance.now();
          if (w.StatusCode !== 0) throw new Error(`container exited ${w.StatusCode}`);
          await c.remove();
          const t4 = performance.now();
          if (i >= ctx.counts.warmup) {
            t.create.push(t1 - t0);
            t.start.push(t2 - t1);
            t.wait.push(t3 - t2);
            t.remove.push(t4 - t3);
            t.total.push(t4 - t0);
          }
        } catch (err) {
          await removeAll(ctx, [c.id]);
          throw err;
        }
      }
      return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, summarize(v)]));
    },
  },
  {
    id: 'exec',
    title: 'docker exec c true (CLI end to end)',
    containers: true,
    rows: [ms('exec', 'docker exec c true')],
    describe: (c) => `Into a running \`sleep\` container, ${c.runs} runs.`,
    run: async (ctx) => {
      const name = uname(ctx, 'exec');
      await ctx.cli(['run', '-d', '--name', name, ctx.refs.busybox, 'sleep', '3600']);
      try {
        return { exec: await timeRuns(ctx.counts.runs, ctx.counts.warmup, async () => void (await ctx.cli(['exec', name, 'true']))) };
      } finally {
        await removeAll(ctx, [name]);
      }
    },
  },
  {
    id: 'ps',
    title: 'Listing with N exited containers',
    containers: true,
    rows: [ms('cli', 'docker ps -a'), ms('api', 'GET /containers/json?all=1 (in-process)')],
    describe: (c) => `${c.psContainers} containers that ran \`true\` and exited; \`docker ps -a\` ${c.runs} runs, the API call ${c.runs * 5} runs.`,
    run: async (ctx) => {
      const ids: string[] = [];
      try {
        await pool(Array.from({ length: ctx.counts.psContainers }, (_, i) => i), 4, async () => {
          ids.push(await createStarted(ctx, uname(ctx, 'ps'), ['true']));
        });
        await pool(ids, 4, async (id) => void (await ctx.docker.getContainer(id).wait()));
        const cli = await timeRuns(ctx.counts.runs, ctx.counts.warmup, async () => {
          const r = await ctx.cli(['ps', '-a', '-q', '--no-trunc']);
          if (r.stdout.trim().split('\n').length < ids.length) throw new Error(`docker ps -a listed fewer than ${ids.length} containers`);
        });
        const api = await httpGetLoop(ctx.engine.socket, '/containers/json?all=1', ctx.counts.runs * 5, ctx.counts.warmup * 5);
        return { cli, api };
      } finally {
        await removeAll(ctx, ids);
      }
    },
  },
  ...LOG_WORKLOADS,
  {
    id: 'concurrent',
    title: 'N containers started concurrently (docker run -d, N CLI processes at once)',
    containers: true,
    rows: [ms('all', 'wall time until all N are running')],
    describe: (c) => `${c.concurrent} \`docker run -d busybox sleep\` at once, ${c.concurrentRuns} runs after 1 warm-up; removal untimed.`,
    run: async (ctx) => {
      let names: string[] = [];
      const s = await timeRuns(
        ctx.counts.concurrentRuns,
        1,
        async () => {
          await Promise.all(names.map((n) => ctx.cli(['run', '-d', '--name', n, ctx.refs.busybox, 'sleep', '3600'])));
        },
        async () => {
          await removeAll(ctx, names);
          names = Array.from({ length: ctx.counts.concurrent }, () => uname(ctx, 'conc'));
        },
      ).finally(() => removeAll(ctx, names));
      await removeAll(ctx, names);
      return { all: s };
    },
  },
  {
    id: 'churn',
    title: 'Churn: N × create/start/stop/rm (dockerode, sequential)',
    containers: true,
    rows: [ms('total', 'total for N containers'), ms('each', 'per container')],
    describe: (c) => `${c.churn} containers one after another, each \`sh\` that exits on SIGTERM: create, start, stop (t=10), remove; 3 warm-up cycles first.`,
    run: async (ctx) => {
      const cmd = ['sh', '-c', 'trap "exit 0" TERM; sleep 3600 & wait'];
      const cycle = async (): Promise<void> => {
        const c = await ctx.docker.createContainer({ Image: ctx.refs.busybox, Cmd: cmd, name: uname(ctx, 'churn') });
        try {
          await c.start();
          await c.stop({ t: 10 });
          await c.remove();
        } catch (err) {
          await removeAll(ctx, [c.id]);
          throw err;
        }
      };
      for (let i = 0; i < 3; i++) await cycle();
      const per: number[] = [];
      const t0 = performance.now();
      for (let i = 0; i < ctx.counts.churn; i++) {
        const s = performance.now();
        await cycle();
        per.push(performance.now() - s);
      }
      return { total: summarize([performance.now() - t0]), each: summarize(per) };
    },
  },
  {
    id: 'rss-running',
    title: 'RSS with N running containers',
    containers: true,
    rows: [
      mib('daemon', 'daemon (the idle processes) with N running'),
      mib('total', 'all engine processes with N running (monitors, containers)'),
      mib('per', 'per-container overhead ((total − total just before) / N)'),
    ],
    describe: (c) => `${c.rssContainers} \`sleep\` containers started (4 at a time), 3 s settle, then 3 samples 0.5 s apart.`,
    run: async (ctx) => {
      const ids: string[] = [];
      try {
        const idle: NonNullable<EngineContext['idle']> = ctx.idle ?? (await rss(ctx).then((r) => ({ pids: r.pids, daemonKiB: r.kib, totalKiB: r.kib })));
        // The baseline for the per-container figure is taken now, not at idle: an engine that leaks
        // helpers from earlier workloads (Podman leaves slirp4netns behind) must not be charged twice.
        const before = (await rss(ctx)).kib / 1024;
        await pool(Array.from({ length: ctx.counts.rssContainers }, (_, i) => i), 4, async () => {
          ids.push(await createStarted(ctx, uname(ctx, 'rss'), ['sleep', '3600']));
        });
        await sleep(3000);
        const d: number[] = [];
        const t: number[] = [];
        for (let i = 0; i < 3; i++) {
          d.push((await rss(ctx, idle.pids)).kib / 1024);
          t.push((await rss(ctx)).kib / 1024);
          await sleep(500);
        }
        const total = summarize(t, 'MiB');
        return {
          daemon: summarize(d, 'MiB'),
          total,
          per: summarize(t.map((x) => (x - before) / ctx.counts.rssContainers), 'MiB'),
        };
      } finally {
        await removeAll(ctx, ids);
      }
    },
  },
  ...MEMORY_WORKLOADS,
  {
    id: 'port',
    title: 'Published port throughput host → container (TCP sink)',
    containers: true,
    rows: [{ key: 'tput', title: 'host 127.0.0.1:PORT → container nc sink', unit: 'Gbit/s', better: 'higher' }],
    describe: (c) =>
      `\`-p 127.0.0.1:PORT:5000\`, the container runs busybox \`nc -ll -p 5000 -e wc -c\`; the host sends ${c.portMiB} MiB, half-closes and waits for the byte count to come back (so the data really arrived), 3 runs after 1 warm-up.`,
    run: async (ctx) => {
      const port = 20000 + Math.floor(Math.random() * 20000);
      const name = uname(ctx, 'port');
      await ctx.cli(['run', '-d', '--name', name, '-p', `127.0.0.1:${port}:5000`, ctx.refs.busybox, 'nc', '-ll', '-p', '5000', '-e', 'wc', '-c']);
      try {
        const bytes = ctx.counts.portMiB * 1024 * 1024;
        // The forwarder may accept before the container listens: retry a small transfer first.
        const deadline = Date.now() + 15_000;
        for (;;) {
          try {
            await sendAndCount(port, 1024 * 1024);
            break;
          } catch (err) {
            if (Date.now() > deadline) throw err;
            await sleep(200);
          }
        }
        const v: number[] = [];
        for (let i = 0; i < 4; i++) {
          const t0 = performance.now();
          await sendAndCount(port, bytes);
          const dt = (performance.now() - t0) / 1000;
          if (i >= 1) v.push((bytes * 8) / dt / 1e9);
        }
        return { tput: summarize(v, 'Gbit/s') };
      } finally {
        await removeAll(ctx, [name]);
      }
    },
  },
  // Last: it leaves Burrow's on-demand buildkitd up for its idle time (workloads-build.ts).
  ...BUILDKIT_WORKLOADS,
];

const CHUNK = randomBytes(256 * 1024);

/** Send `bytes`, half-close, and require the sink to report exactly that count. */
function sendAndCount(port: number, bytes: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port });
    let reply = '';
    let sent = 0;
    const timer = setTimeout(() => sock.destroy(new Error('timed out')), 120_000);
    const pump = (): void => {
      while (sent < bytes) {
        const n = Math.min(CHUNK.length, bytes - sent);
        sent += n;
        if (!sock.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) return void sock.once('drain', pump);
      }
      sock.end();
    };
    sock.once('connect', pump);
    sock.on('data', (b: Buffer) => (reply += b.toString()));
    sock.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.once('close', () => {
      clearTimeout(timer);
      const got = Number(reply.trim());
      if (got === bytes) resolve();
      else reject(new Error(`sink counted ${reply.trim() || 'nothing'} of ${bytes} bytes`));
    });
  });
}

export function cliFor(engine: Engine, config: string): Pick<EngineContext, 'cli' | 'cliTry'> {
  const env = { DOCKER_HOST: engine.dockerHost, DOCKER_CONFIG: config };
  return {
    cli: (args, opts = {}) => mustRun('docker', args, { env, capture: opts.capture, timeoutMs: opts.timeoutMs ?? 300_000 }),
    cliTry: (args) => runCmd('docker', args, { env }),
  };
}
