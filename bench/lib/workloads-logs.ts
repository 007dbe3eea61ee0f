/**
 * Log workloads: `docker logs` of a finished container (long and 2-byte lines), `docker logs --tail`
 * of a big log, and `docker logs -f` of a container writing as fast as it can, with the engine's
 * memory sampled while it follows.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { summarize, timeRuns, type Sample } from './stats.js';
import { mib, ms, removeAll, rss, uname } from './kit.js';
import type { Counts, EngineContext, Workload } from './workloads.js';

const mbps = (key: string, title: string) => ({ key, title, unit: 'MB/s', better: 'higher' as const });

const logRuns = (c: Counts): number => Math.max(2, Math.ceil(c.runs / 2));

/** `docker logs` of a finished container that wrote `bytes` with `script` (which gets $BYTES): time and MB/s. */
async function logsOf(ctx: EngineContext, what: string, bytes: number, script: string): Promise<Record<string, Sample>> {
  const name = uname(ctx, what);
  await ctx.cli(['run', '--name', name, '-e', `BYTES=${bytes}`, ctx.refs.busybox, 'sh', '-c', script], { capture: false, timeoutMs: 600_000 });
  try {
    const logs = await timeRuns(logRuns(ctx.counts), 1, async () => {
      const r = await ctx.cli(['logs', name], { capture: false, timeoutMs: 600_000 });
      if (r.stdoutBytes < bytes) throw new Error(`docker logs returned ${r.stdoutBytes} of ${bytes} bytes`);
    });
    return { logs, rate: summarize(logs.values.map((t) => bytes / 1e6 / (t / 1000)), 'MB/s') };
  } finally {
    await removeAll(ctx, [name]);
  }
}

const line99 = 'x'.repeat(99);

export const LOG_WORKLOADS: Workload[] = [
  {
    id: 'logs',
    title: 'docker logs of a container that printed N MiB',
    containers: true,
    rows: [ms('logs', 'docker logs > /dev/null'), mbps('rate', 'throughput (output bytes)')],
    describe: (c) => `The container writes ${c.logsMiB} MiB as 100-byte lines and exits; \`docker logs\` read to the end (output counted, not kept), ${logRuns(c)} runs after 1 warm-up.`,
    run: (ctx) => logsOf(ctx, 'logs', ctx.counts.logsMiB * 1024 * 1024, `yes ${line99} | head -c $BYTES`),
  },
  {
    id: 'logs-yes',
    title: 'docker logs of a container that printed 2-byte lines (yes)',
    containers: true,
    rows: [ms('logs', 'docker logs > /dev/null'), mbps('rate', 'throughput (output bytes)')],
    describe: (c) => `The container runs \`yes | head -c ${c.logsMiB / 10} MiB\` (every line is "y\\n", so the log holds about 24 bytes of framing per 2 bytes of output) and exits; \`docker logs\` read to the end, ${logRuns(c)} runs after 1 warm-up.`,
    run: (ctx) => logsOf(ctx, 'logsyes', Math.round((ctx.counts.logsMiB / 10) * 1024 * 1024), 'yes | head -c $BYTES'),
  },
  {
    id: 'logs-tail',
    title: 'docker logs --tail 10 of a container that printed N MiB',
    containers: true,
    rows: [ms('tail', 'docker logs --tail 10 > /dev/null')],
    describe: (c) => `The container writes ${c.logsMiB} MiB as 100-byte lines and exits; \`docker logs --tail 10\` (its 1,000 bytes checked), ${c.runs} runs after ${c.warmup} warm-up.`,
    run: async (ctx) => {
      const name = uname(ctx, 'logstail');
      const bytes = ctx.counts.logsMiB * 1024 * 1024;
      await ctx.cli(['run', '--name', name, '-e', `BYTES=${bytes}`, ctx.refs.busybox, 'sh', '-c', `yes ${line99} | head -c $BYTES`], { capture: false, timeoutMs: 600_000 });
      try {
        const tail = await timeRuns(ctx.counts.runs, ctx.counts.warmup, async () => {
          const r = await ctx.cli(['logs', '--tail', '10', name], { capture: false });
          // head -c cut the last line short: nine whole lines and the cut one.
          if (r.stdoutBytes < 900 || r.stdoutBytes > 1000) throw new Error(`docker logs --tail 10 returned ${r.stdoutBytes} bytes`);
        });
        return { tail };
      } finally {
        await removeAll(ctx, [name]);
      }
    },
  },
  {
    id: 'logs-follow',
    title: 'docker logs -f of a container writing N MiB as fast as it can',
    containers: true,
    rows: [
      ms('follow', 'docker run -d returned → logs -f ended'),
      ms('lag', 'container exit → logs -f ended'),
      mbps('rate', 'throughput (output bytes / (follow time − the 1 s pause))'),
      mib('growth', 'engine RSS while following − before (peak)'),
    ],
    describe: (c) =>
      `The container sleeps 1 s, then writes ${c.logsMiB} MiB of 100-byte lines as fast as it can and exits; \`docker logs -f\` starts right after \`docker run -d\` and must print every byte. Engine RSS is sampled every 250 ms while it follows. ${logRuns(c)} runs after 1 warm-up.`,
    run: async (ctx) => {
      const bytes = ctx.counts.logsMiB * 1024 * 1024;
      const follow: number[] = [];
      const lag: number[] = [];
      const growth: number[] = [];
      for (let i = 0; i < 1 + logRuns(ctx.counts); i++) {
        const name = uname(ctx, 'logsf');
        try {
          const before = (await rss(ctx)).kib / 1024;
          const t0 = performance.now();
          await ctx.cli(['run', '-d', '--name', name, '-e', `BYTES=${bytes}`, ctx.refs.busybox, 'sh', '-c', `sleep 1; yes ${line99} | head -c $BYTES`]);
          let peak = before;
          let done = false;
          const sampler = (async () => {
            while (!done) {
              peak = Math.max(peak, (await rss(ctx)).kib / 1024);
              await sleep(250);
            }
          })();
          const r = await ctx.cli(['logs', '-f', name], { capture: false, timeoutMs: 600_000 }).finally(() => (done = true));
          const t1 = performance.now();
          const ended = Date.now();
          await sampler;
          if (r.stdoutBytes < bytes) throw new Error(`docker logs -f returned ${r.stdoutBytes} of ${bytes} bytes`);
          const finished = Date.parse((await ctx.cli(['inspect', '--format', '{{.State.FinishedAt}}', name])).stdout.trim());
          if (i === 0) continue;
          follow.push(t1 - t0);
          lag.push(Math.max(0, ended - finished));
          growth.push(peak - before);
        } finally {
          await removeAll(ctx, [name]);
        }
      }
      return {
        follow: summarize(follow),
        lag: summarize(lag),
        rate: summarize(follow.map((t) => bytes / 1e6 / (Math.max(1, t - 1000) / 1000)), 'MB/s'),
        growth: summarize(growth, 'MiB'),
      };
    },
  },
];
