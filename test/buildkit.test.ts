import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { dockerCli, rawRequest } from './harness/clients.js';
import { isolatedTestbed } from './harness/isolated.js';
import { buildContexts } from './harness/build-context.js';

/**
 * BuildKit through the real buildx CLI plugin (scripts/install-buildkit.sh builds it, with
 * buildkitd, from their Go modules) and its default `docker` driver: no builder to create, no
 * --load; the image lands in Burrow's store and `docker run` runs it.
 */
const bed = await isolatedTestbed();
const docker = dockerCli(bed.dockerHost);
const busybox = bed.images.busybox.reference;
const { context, cleanup: removeContexts } = buildContexts('burrow-buildkit-ctx');

// buildx is not in the CLI's system plugin directory (it would turn every other suite's `docker
// build` into a BuildKit build): this suite's CLI config opts in, as a user's would.
const config = await mkdtemp(join(process.env.BURROW_TEST_SCRATCH || tmpdir(), 'burrow-buildx-config-'));
await writeFile(join(config, 'config.json'), JSON.stringify({ cliPluginsExtraDirs: ['/usr/local/lib/burrow-tools/cli-plugins'] }));
const withBuildx = { DOCKER_CONFIG: config, BUILDKIT_PROGRESS: 'plain', NO_COLOR: '1' };

afterAll(async () => {
  await removeContexts();
  await rm(config, { recursive: true, force: true });
});

describe('BuildKit builds (docker buildx, docker driver)', () => {
  it('advertises BuildKit on /_ping', async () => {
    const r = await rawRequest(bed.socket, 'GET', '/_ping');
    expect(r.headers['builder-version']).toBe('2');
  });

  it('a two-stage build with a cache mount lands in the image store and runs; the cache mount persists', { timeout: 600_000 }, async () => {
    const dir = await context({
      Dockerfile:
        `FROM ${busybox} AS build\n` +
        'ARG ROUND=1\n' +
        'RUN --mount=type=cache,target=/cache echo "round $ROUND" >> /cache/rounds && wc -l < /cache/rounds > /count && echo hello-from-buildkit > /out\n' +
        // A step runs in its own pid namespace: its command is pid 1, buildkitd and Burrow are out of sight.
        'RUN tr "\\0" " " < /proc/1/cmdline > /pid1\n' +
        `FROM ${busybox}\n` +
        'COPY --from=build /out /count /pid1 /\n' +
        'CMD ["cat", "/out", "/count"]\n',
    });
    const first = await docker(['buildx', 'build', '-t', 'bk-two-stage', dir], { env: withBuildx, timeoutMs: 540_000 });
    expect(first.code, first.stderr).toBe(0);
    const run = await docker(['run', '--rm', 'bk-two-stage']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.split('\n').map((l) => l.trim())).toEqual(['hello-from-buildkit', '1', '']);
    expect((await docker(['run', '--rm', 'bk-two-stage', 'cat', '/pid1'])).stdout).toMatch(/^tr /);

    // A new ROUND reruns the step; the cache mount still holds the first round's line.
    const second = await docker(['buildx', 'build', '--build-arg', 'ROUND=2', '-t', 'bk-two-stage', dir], { env: withBuildx, timeoutMs: 300_000 });
    expect(second.code, second.stderr).toBe(0);
    const again = await docker(['run', '--rm', 'bk-two-stage']);
    expect(again.stdout.split('\n').map((l) => l.trim())).toEqual(['hello-from-buildkit', '2', '']);
  });

  it('a build without -t lands untagged; --iidfile names the image Burrow stored', { timeout: 300_000 }, async () => {
    const dir = await context({ Dockerfile: `FROM ${busybox}\nRUN echo unnamed > /u\nCMD ["cat", "/u"]\n` });
    const iidfile = join(dir, 'iid');
    const r = await docker(['buildx', 'build', '--iidfile', iidfile, dir], { env: withBuildx, timeoutMs: 240_000 });
    expect(r.code, r.stderr).toBe(0);
    const id = (await readFile(iidfile, 'utf8')).trim();
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    const run = await docker(['run', '--rm', id]);
    expect(run.code, `${id}: ${run.stderr}\n${r.stderr}`).toBe(0);
    expect(run.stdout).toBe('unnamed\n');
    expect((await docker(['image', 'inspect', '--format', '{{json .RepoTags}}', id])).stdout.trim()).toBe('[]');
  });
});
