import { mkdtemp, rm, writeFile } from 'node:fs/promises';
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
        `FROM ${busybox}\n` +
        'COPY --from=build /out /count /\n' +
        'CMD ["cat", "/out", "/count"]\n',
    });
    const first = await docker(['buildx', 'build', '-t', 'bk-two-stage', dir], { env: withBuildx, timeoutMs: 540_000 });
    expect(first.code, first.stderr).toBe(0);
    const run = await docker(['run', '--rm', 'bk-two-stage']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.split('\n').map((l) => l.trim())).toEqual(['hello-from-buildkit', '1', '']);

    // A new ROUND reruns the step; the cache mount still holds the first round's line.
    const second = await docker(['buildx', 'build', '--build-arg', 'ROUND=2', '-t', 'bk-two-stage', dir], { env: withBuildx, timeoutMs: 300_000 });
    expect(second.code, second.stderr).toBe(0);
    const again = await docker(['run', '--rm', 'bk-two-stage']);
    expect(again.stdout.split('\n').map((l) => l.trim())).toEqual(['hello-from-buildkit', '2', '']);
  });
});
