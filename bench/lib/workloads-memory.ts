/**
 * Memory workloads: PSS (shared pages counted once across processes) with N running containers,
 * and the daemon's memory across many create/start/rm cycles and API calls (it must stay flat).
 */
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { summarize, type Sample } from './stats.js';
import { createStarted, keepAliveGetter, mib, pool, removeAll, uname } from './kit.js';
import { pageShare, type PageShare } from './page-share.js';
import type { EngineContext, Workload } from './workloads.js';

/** Proportional set size of one process (0 when it is gone or unreadable). */
async function pssKiB(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => '');
  const m = /^Pss:\s+(\d+)\s+kB/m.exec(text);
  return m ? Number(m[1]) : 0;
}

interface Footprint {
  pids: Set<number>;
  rss: number;
  pss: number;
  /** Every page counted once (page-share.ts); NaN when not asked for or the frame numbers are hidden. */
  alone: number;
  /** The processes and their page shares, for the breakdown. */
  procs: { pid: number; comm: string }[];
  share?: PageShare;
}

/** RSS and PSS sums (MiB) over the engine's processes, or over `only` of them; `pages`: also each page once. */
async function footprint(ctx: EngineContext, only?: Set<number>, pages = false): Promise<Footprint> {
  const procs = await ctx.engine.processes();
  const sel = only ? procs.filter((p) => only.has(p.pid)) : procs;
  const pss = await Promise.all(sel.map((p) => pssKiB(p.pid)));
  const share = pages ? await pageShare(sel.map((p) => p.pid)) : undefined;
  return {
    pids: new Set(procs.map((p) => p.pid)),
    rss: sel.reduce((a, p) => a + p.rssKiB, 0) / 1024,
    pss: pss.reduce((a, b) => a + b, 0) / 1024,
    alone: share ? share.totalKiB / 1024 : Number.NaN,
    procs: sel,
    ...(share ? { share } : {}),
  };
}

/**
 * Where the memory goes (each page once, PSS where frames are hidden), by command name
 * (`node 24.1 · conmon 50× 18.3 …`), for the log: the totals alone do not say whether a daemon
 * grew or a helper stayed behind.
 */
async function breakdown(f: Footprint): Promise<string> {
  const { procs, share } = f;
  const kib = share ? procs.map((p) => share.byPid.get(p.pid) ?? 0) : await Promise.all(procs.map((p) => pssKiB(p.pid)));
  const by = new Map<string, { n: number; kib: number }>();
  procs.forEach((p, i) => {
    const e = by.get(p.comm) ?? { n: 0, kib: 0 };
    e.n += 1;
    e.kib += kib[i] ?? 0;
    by.set(p.comm, e);
  });
  return [...by.entries()]
    .sort((a, b) => b[1].kib - a[1].kib)
    .map(([comm, e]) => `${comm}${e.n > 1 ? ` ${e.n}×` : ''} ${(e.kib / 1024).toFixed(1)}`)
    .join(' · ');
}

/** Three samples 0.5 s apart; `last` is the third. */
async function sampled(ctx: EngineContext, only?: Set<number>, pages = false): Promise<{ rss: number[]; pss: number[]; alone: number[]; pids: Set<number>; last: Footprint }> {
  const rss: number[] = [];
  const pss: number[] = [];
  const alone: number[] = [];
  let last: Footprint | undefined;
  for (let i = 0; i < 3; i++) {
    last = await footprint(ctx, only, pages);
    rss.push(last.rss);
    pss.push(last.pss);
    alone.push(last.alone);
    await sleep(500);
  }
  const f = last as Footprint;
  return { rss, pss, alone, pids: f.pids, last: f };
}

function apiLoop(socket: string, paths: readonly string[], calls: number): Promise<void> {
  const http = keepAliveGetter(socket);
  return (async () => {
    for (let i = 0; i < calls; i++) await http.get(paths[i % paths.length] as string);
  })().finally(() => http.close());
}

/**
 * How long mem-churn lets an engine sit before it measures the start and the end: V8's memory
 * reducer gave a burst's emptied pages back 20-30 s after the daemon went quiet (measured by hand,
 * 100-300 cycles; a full gc() at 2 s gave back only a quarter of it).
 */
const SETTLE_S = 45;

export const MEMORY_WORKLOADS: Workload[] = [
  {
    id: 'pss-running',
    title: 'PSS (and RSS) of the engine with N running containers',
    containers: true,
    rows: [
      mib('alone', 'all engine processes with N running, each page once'),
      mib('idleAlone', 'all engine processes before, each page once'),
      mib('idlePss', 'all engine processes before, PSS'),
      mib('idleRss', 'all engine processes before, RSS'),
      mib('pss', 'all engine processes with N running, PSS'),
      mib('rss', 'all engine processes with N running, RSS'),
      mib('daemonPss', 'the processes that were there before (daemon, helpers), PSS with N running'),
      mib('perPss', 'per-container PSS ((with − before) / N)'),
    ],
    describe: (c) => `${c.pssContainers} \`sleep\` containers started (4 at a time), 3 s settle; 3 samples 0.5 s apart before and after. "Each page once": the distinct physical pages the engine's processes have resident (/proc/PID/pagemap, needs root), what the engine holds when it runs alone. PSS (/proc/PID/smaps_rollup) divides a shared page among every process on the machine that maps it, so it also depends on what else runs: this bench runner is node and shares node's code with Burrow's daemon, which made Burrow's PSS up to 20 MiB lower than what it holds.`,
    run: async (ctx) => {
      const ids: string[] = [];
      try {
        // Earlier workloads leave garbage a collector returns lazily: let it settle before the baseline.
        await sleep(5000);
        const before = await sampled(ctx, undefined, true);
        process.stderr.write(`[bench] pss-running: ${ctx.engine.name} before (MiB, pages counted once): ${await breakdown(before.last)}\n`);
        await pool(Array.from({ length: ctx.counts.pssContainers }, (_, i) => i), 4, async () => {
          ids.push(await createStarted(ctx, uname(ctx, 'pss'), ['sleep', '3600']));
        });
        await sleep(3000);
        const after = await sampled(ctx, undefined, true);
        process.stderr.write(`[bench] pss-running: ${ctx.engine.name} with ${ids.length} running (MiB, pages counted once): ${await breakdown(after.last)}\n`);
        const daemon = await sampled(ctx, before.pids);
        const n = Math.max(1, ctx.counts.pssContainers);
        const base = Math.min(...before.pss);
        const known = (xs: number[]): Sample | undefined => (xs.every((x) => Number.isFinite(x)) ? summarize(xs, 'MiB') : undefined);
        return {
          ...(known(after.alone) ? { alone: known(after.alone) as Sample } : {}),
          ...(known(before.alone) ? { idleAlone: known(before.alone) as Sample } : {}),
          idlePss: summarize(before.pss, 'MiB'),
          idleRss: summarize(before.rss, 'MiB'),
          pss: summarize(after.pss, 'MiB'),
          rss: summarize(after.rss, 'MiB'),
          daemonPss: summarize(daemon.pss, 'MiB'),
          perPss: summarize(after.pss.map((x) => (x - base) / n), 'MiB'),
        };
      } finally {
        await removeAll(ctx, ids);
      }
    },
  },
  {
    id: 'mem-churn',
    title: 'Daemon memory across N create/start/rm cycles and M API calls',
    containers: true,
    rows: [
      mib('start', 'the idle processes at the start, PSS'),
      mib('cycles', 'after the cycles, PSS'),
      mib('calls', 'right after the API calls, PSS'),
      mib('settled', `${SETTLE_S} s after the API calls, PSS`),
      mib('growth', 'growth (settled − start), PSS'),
      mib('rssGrowth', 'growth (settled − start), RSS'),
      mib('peak', 'highest of 20 samples during the cycles, PSS'),
      mib('trend', 'trend: lowest sample of the second half − of the first half (after a tenth), PSS'),
    ],
    describe: (c) =>
      `The processes running at the start (daemon and helpers) are measured (3 samples 0.5 s apart) ${SETTLE_S} s after the previous workload, after ${c.memCycles} sequential create/start/rm -f cycles of \`sleep 60\` containers (dockerode) and after ${c.memCalls} GET calls (/_ping, /containers/json?all=1, /images/json, /version, /info) over one keep-alive connection, right after them and again ${SETTLE_S} s later: V8 hands the pages a burst emptied back to the kernel only when its memory reducer runs, 20-30 s after the daemon went quiet (Go's scavenger returns memory gradually too), so the growth is what is still held then, measured as the start was. A garbage-collected heap rises and falls (a sawtooth) under load, so one sample after the cycles lands anywhere on it: 20 more samples, one every twentieth of the cycles, give its peak and its trend, the lowest sample of the second half of the cycles less the lowest of the first half (a leak raises the troughs; a sawtooth does not). The first tenth of the cycles is warm-up and left out of the trend; a tooth is about 250 cycles with the default V8 flags, so the trend needs the full run's 1,000.`,
    run: async (ctx) => {
      await sleep(SETTLE_S * 1000);
      const start = await sampled(ctx);
      const every = Math.max(1, Math.ceil(ctx.counts.memCycles / 20));
      const during: number[] = [];
      for (let i = 0; i < ctx.counts.memCycles; i++) {
        if (i > 0 && i % every === 0) during.push((await footprint(ctx, start.pids)).pss);
        // sleep, not true: a start racing the process's exit is another workload's business.
        const c = await ctx.docker.createContainer({ Image: ctx.refs.busybox, Cmd: ['sleep', '60'], name: uname(ctx, 'mem') });
        try {
          await c.start();
        } finally {
          await c.remove({ force: true });
        }
      }
      const cycles = await sampled(ctx, start.pids);
      during.push(cycles.pss[0] as number);
      const settled = during.slice(2);
      const half = Math.floor(settled.length / 2);
      await apiLoop(ctx.engine.socket, ['/_ping', '/containers/json?all=1', '/images/json', '/version', '/info'], ctx.counts.memCalls);
      const calls = await sampled(ctx, start.pids);
      await sleep(SETTLE_S * 1000);
      const settledAfter = await sampled(ctx, start.pids);
      const startPss = summarize(start.pss, 'MiB');
      const rows: Record<string, Sample> = {
        start: startPss,
        cycles: summarize(cycles.pss, 'MiB'),
        calls: summarize(calls.pss, 'MiB'),
        settled: summarize(settledAfter.pss, 'MiB'),
        growth: summarize(settledAfter.pss.map((x) => x - startPss.median), 'MiB'),
        rssGrowth: summarize(settledAfter.rss.map((x) => x - summarize(start.rss).median), 'MiB'),
        peak: summarize([Math.max(...during)], 'MiB'),
        trend: summarize([half > 0 ? Math.min(...settled.slice(half)) - Math.min(...settled.slice(0, half)) : 0], 'MiB'),
      };
      return rows;
    },
  },
];
