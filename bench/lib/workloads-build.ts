/**
 * Build workloads: a cold build and the identical cached rebuild, with the classic builder
 * (dockerode's /build) and with BuildKit (`docker buildx build` through the buildx plugin's default
 * `docker` driver, which needs the engine's /grpc and /session: Burrow's buildkitd, rootless
 * Docker's built-in BuildKit; Podman's compat service has none, so its cell says why it failed).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mustRun } from './proc.js';
import { summarize, timeRuns } from './stats.js';
import { ms } from './kit.js';
import type { EngineContext, Workload } from './workloads.js';

/** Where scripts/install-buildkit.sh puts the buildx plugin (not the CLI's system plugin dir). */
const BUILDX_PLUGINS = '/usr/local/lib/burrow-tools/cli-plugins';

const ratio = { key: 'ratio', title: 'cold / cached (medians)', unit: '×', better: 'higher' as const };

/** A context dir with the bench Dockerfile (ENV, COPY, RUN, CMD on busybox) and 8 KiB of data. */
async function benchContext(ctx: EngineContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'burrow-bench-build-'));
  await writeFile(join(dir, 'Dockerfile'), `FROM ${ctx.refs.busybox}\nENV MODE=bench\nCOPY data.txt /data.txt\nRUN cat /data.txt > /copy.txt\nCMD ["cat", "/copy.txt"]\n`);
  await writeFile(join(dir, 'data.txt'), randomBytes(4096).toString('hex'));
  return dir;
}

/** `docker buildx build` against the engine, with a CLI config that finds the buildx plugin. */
async function buildxRunner(ctx: EngineContext): Promise<{ build: (dir: string, nocache: boolean) => Promise<void>; done: () => Promise<void> }> {
  const config = await mkdtemp(join(tmpdir(), 'burrow-bench-buildx-'));
  await writeFile(join(config, 'config.json'), JSON.stringify({ cliPluginsExtraDirs: [BUILDX_PLUGINS] }));
  const env = { DOCKER_HOST: ctx.engine.dockerHost, DOCKER_CONFIG: config, BUILDKIT_PROGRESS: 'quiet' };
  return {
    build: async (dir, nocache) => {
      await mustRun('docker', ['buildx', 'build', ...(nocache ? ['--no-cache'] : []), '-t', `${ctx.prefix}-buildkit`, dir], { env, timeoutMs: 600_000 });
    },
    done: () => rm(config, { recursive: true, force: true }),
  };
}

export const BUILD_WORKLOADS: Workload[] = [
  {
    id: 'build-cache',
    title: 'docker build (classic builder): cold build vs the identical cached rebuild',
    containers: true,
    rows: [ms('cold', 'build, nocache (ENV + COPY + RUN + CMD)'), ms('cached', 'identical rebuild, every step cached'), ratio],
    describe: (c) => `dockerode buildImage (the classic /build API) of a 5-step Dockerfile on the busybox image: nocache=1, then the identical build from the cache; ${c.pullRuns} runs each after 1 warm-up.`,
    run: async (ctx) => {
      const dir = await benchContext(ctx);
      try {
        const build = async (nocache: boolean): Promise<void> => {
          const stream = await ctx.docker.buildImage({ context: dir, src: ['Dockerfile', 'data.txt'] }, { t: `${ctx.prefix}-build`, nocache });
          const out = await new Promise<{ error?: string }[]>((resolve, reject) => ctx.docker.modem.followProgress(stream, (err: Error | null, res: { error?: string }[]) => (err ? reject(err) : resolve(res))));
          const failed = out.find((m) => m.error);
          if (failed) throw new Error(failed.error);
        };
        const cold = await timeRuns(ctx.counts.pullRuns, 1, () => build(true));
        const cached = await timeRuns(ctx.counts.pullRuns, 1, () => build(false));
        return { cold, cached, ratio: summarize([cold.median / cached.median], '×') };
      } finally {
        await rm(dir, { recursive: true, force: true });
        await ctx.cliTry(['rmi', `${ctx.prefix}-build`]);
      }
    },
  },
];

/**
 * Last in the run: Burrow's buildkitd runs on demand and stays up for its idle time (5 min) after
 * a build, so the memory workloads after it would count it (rootless Docker's BuildKit lives in
 * dockerd and counts everywhere).
 */
export const BUILDKIT_WORKLOADS: Workload[] = [
  {
    id: 'buildkit-cache',
    title: 'docker buildx build (BuildKit, docker driver): cold build vs the identical cached rebuild',
    containers: true,
    rows: [ms('cold', 'buildx build --no-cache (ENV + COPY + RUN + CMD)'), ms('cached', 'identical rebuild, every step cached'), ratio],
    describe: (c) => `The buildx CLI plugin (scripts/install-buildkit.sh) with its default docker driver, the same 5-step Dockerfile: --no-cache, then the identical build from the cache; ${c.pullRuns} runs each after 1 warm-up (the warm-up also starts Burrow's buildkitd, which runs on demand).`,
    run: async (ctx) => {
      const dir = await benchContext(ctx);
      const buildx = await buildxRunner(ctx);
      try {
        const cold = await timeRuns(ctx.counts.pullRuns, 1, () => buildx.build(dir, true));
        const cached = await timeRuns(ctx.counts.pullRuns, 1, () => buildx.build(dir, false));
        return { cold, cached, ratio: summarize([cold.median / cached.median], '×') };
      } finally {
        await buildx.done();
        await rm(dir, { recursive: true, force: true });
        await ctx.cliTry(['rmi', `${ctx.prefix}-buildkit`]);
      }
    },
  },
];
