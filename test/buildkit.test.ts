import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { dockerCli, rawRequest, runProcess } from './harness/clients.js';
import { isolatedTestbed } from './harness/isolated.js';
import { startDaemon } from './harness/daemon.js';
import { removeTree } from './harness/cleanup.js';
import { isRunning, stopHolder } from '../rootless/userns-holder.js';
import { buildContexts } from './harness/build-context.js';

/**
 * BuildKit through the real buildx CLI plugin (scripts/install-buildkit.sh builds it, with
 * buildkitd, from their Go modules) and its default `docker` driver: no builder to create, no
 * --load; the image lands in Burrow's store and `docker run` runs it.
 */
const bed = await isolatedTestbed();
const docker = dockerCli(bed.dockerHost);
const busybox = bed.images.busybox.reference;
const { context, beside, cleanup: removeContexts } = buildContexts('burrow-buildkit-ctx');

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

  it('FROM an image only Burrow\'s store holds (tagged here, or built by an earlier BuildKit build)', { timeout: 300_000 }, async () => {
    expect((await docker(['pull', busybox])).code).toBe(0);
    expect((await docker(['tag', busybox, 'burrowlocal/base:1'])).code).toBe(0);
    const dir = await context({
      Dockerfile: 'FROM bk-two-stage AS earlier\nFROM burrowlocal/base:1\nCOPY --from=earlier /out /out\nRUN echo from-local >> /out\nCMD ["cat", "/out"]\n',
    });
    const r = await docker(['buildx', 'build', '-t', 'bk-from-local', dir], { env: withBuildx, timeoutMs: 240_000 });
    expect(r.code, r.stderr).toBe(0);
    expect((await docker(['run', '--rm', 'bk-from-local'])).stdout).toBe('hello-from-buildkit\nfrom-local\n');
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

  it('an identical rebuild comes from the cache and names the image already stored: the new tag joins the old, --iidfile gives its ID', { timeout: 300_000 }, async () => {
    const dir = await context({ Dockerfile: `FROM ${busybox}\nRUN echo rebuilt > /r\nCMD ["cat", "/r"]\n` });
    const build = async (tag: string): Promise<{ id: string; log: string }> => {
      const iidFile = beside(dir, `.${tag}.iid`);
      const r = await docker(['buildx', 'build', '--iidfile', iidFile, '-t', `bk-rebuild:${tag}`, dir], { env: withBuildx, timeoutMs: 240_000 });
      expect(r.code, r.stderr).toBe(0);
      return { id: (await readFile(iidFile, 'utf8')).trim(), log: r.stderr };
    };
    const since = (Date.now() / 1000).toFixed(3);
    const first = await build('1');
    const second = await build('2');
    expect(second.log).toMatch(/CACHED/);
    expect(second.id).toBe(first.id);
    // Each landing tags as dockerd's moby exporter does: an image `tag` event per name (the cold landing and the cached one).
    const until = (Date.now() / 1000 + 0.2).toFixed(3);
    const tagEvents = await docker(['events', '--since', since, '--until', until, '--filter', 'type=image', '--format', '{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}}']);
    expect(tagEvents.stdout.trim().split('\n')).toEqual([`tag ${first.id} bk-rebuild:1`, `tag ${first.id} bk-rebuild:2`]);
    const tags = JSON.parse((await docker(['image', 'inspect', '--format', '{{json .RepoTags}}', first.id])).stdout) as string[];
    expect(tags.sort()).toEqual(['bk-rebuild:1', 'bk-rebuild:2']);
    expect((await docker(['run', '--rm', 'bk-rebuild:2'])).stdout).toBe('rebuilt\n');
  });

  it('two builds without -t at once land as two images, each its own', { timeout: 300_000 }, async () => {
    const build = async (word: string): Promise<string> => {
      const dir = await context({ Dockerfile: `FROM ${busybox}\nRUN echo ${word} > /w\nCMD ["cat", "/w"]\n` });
      const r = await docker(['buildx', 'build', '--iidfile', join(dir, 'iid'), dir], { env: withBuildx, timeoutMs: 240_000 });
      expect(r.code, r.stderr).toBe(0);
      return (await readFile(join(dir, 'iid'), 'utf8')).trim();
    };
    const [a, b] = await Promise.all([build('first-of-two'), build('second-of-two')]);
    expect(a).not.toBe(b);
    expect((await docker(['run', '--rm', a])).stdout).toBe('first-of-two\n');
    expect((await docker(['run', '--rm', b])).stdout).toBe('second-of-two\n');
  });

  it('FROM a local image named under a registry that does not exist: served from Burrow\'s store; docker info names the snapshotter', { timeout: 300_000 }, async () => {
    expect((await docker(['pull', busybox])).code).toBe(0);
    expect((await docker(['tag', busybox, 'registry.invalid:5000/team/base:1'])).code).toBe(0);
    const dir = await context({ Dockerfile: 'FROM registry.invalid:5000/team/base:1\nRUN echo elsewhere > /e\nCMD ["cat", "/e"]\n' });
    const r = await docker(['buildx', 'build', '-t', 'bk-from-elsewhere', dir], { env: withBuildx, timeoutMs: 240_000 });
    expect(r.code, r.stderr).toBe(0);
    expect((await docker(['run', '--rm', 'bk-from-elsewhere'])).stdout).toBe('elsewhere\n');
    expect((await docker(['info', '--format', '{{json .DriverStatus}}'])).stdout).toContain('["BuildKit snapshotter","overlayfs"]');
  });

  it('a step has a network namespace of its own: the host\'s loopback (here the registry) is out of reach', { timeout: 300_000 }, async () => {
    const registry = busybox.split('/')[0] as string;
    const dir = await context({
      Dockerfile:
        `FROM ${busybox}\n` +
        `RUN sed -n 's/^ *\\([a-z0-9]*\\):.*/\\1/p' /proc/net/dev | sort > /ifaces && (wget -q -T 5 -O /dev/null http://${registry}/v2/ && echo reached || echo isolated) > /net\n` +
        'CMD ["cat", "/ifaces", "/net"]\n',
    });
    const r = await docker(['buildx', 'build', '-t', 'bk-net', dir], { env: withBuildx, timeoutMs: 240_000 });
    expect(r.code, r.stderr).toBe(0);
    expect((await docker(['run', '--rm', 'bk-net'])).stdout.split('\n')).toEqual(['eth0', 'lo', 'isolated', '']);
  });

  it('secrets, COPY --link, heredocs and .dockerignore', { timeout: 300_000 }, async () => {
    const dir = await context({
      Dockerfile:
        `FROM ${busybox}\n` +
        'RUN --mount=type=secret,id=token wc -c < /run/secrets/token > /secret-size\n' +
        'COPY --link . /ctx/\n' +
        'RUN <<EOF\nls /ctx > /listing\ntest ! -e /run/secrets/token && echo gone > /after\nEOF\n' +
        'CMD ["cat", "/secret-size", "/listing", "/after"]\n',
      'kept.txt': 'k',
      'ignored.txt': 'i',
      '.dockerignore': 'ignored.txt\n',
    });
    const secret = beside(dir, '-token');
    await writeFile(secret, 's3cr3t');
    try {
      const r = await docker(['buildx', 'build', '--secret', `id=token,src=${secret}`, '-t', 'bk-features', dir], { env: withBuildx, timeoutMs: 240_000 });
      expect(r.code, r.stderr).toBe(0);
      expect((await docker(['run', '--rm', 'bk-features'])).stdout.split('\n').map((l) => l.trim())).toEqual(['6', 'Dockerfile', 'kept.txt', 'gone', '']);
    } finally {
      await rm(secret, { force: true });
    }
  });

  it('RUN --mount=type=ssh reaches the client\'s ssh-agent (--ssh default=…); --platform names the target', { timeout: 300_000 }, async () => {
    const dir = await context({
      Dockerfile:
        `FROM --platform=$TARGETPLATFORM ${busybox}\n` +
        'ARG TARGETPLATFORM\n' +
        'RUN --mount=type=ssh test -S "$SSH_AUTH_SOCK" && echo "agent at $SSH_AUTH_SOCK" > /ssh\n' +
        'RUN echo "$TARGETPLATFORM" > /platform\n' +
        'CMD ["cat", "/ssh", "/platform"]\n',
    });
    const agentSock = beside(dir, '-agent.sock');
    // A real ssh-agent (openssh-client, which scripts/setup-host.sh installs) holding a fresh key.
    const agent = spawn('ssh-agent', ['-D', '-a', agentSock], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const key = beside(dir, '-key');
      beside(dir, '-key.pub'); // ssh-keygen writes the public half next to it
      // It prints the SSH_AUTH_SOCK line once its socket listens.
      await new Promise<void>((resolve, reject) => {
        agent.stdout.on('data', (b: Buffer) => b.toString().includes('SSH_AUTH_SOCK') && resolve());
        agent.once('exit', (code) => reject(new Error(`ssh-agent exited (${code})`)));
      });
      const keygen = await runProcess('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
      expect(keygen.code, keygen.stderr).toBe(0);
      const add = await runProcess('ssh-add', [key], { env: { ...process.env, SSH_AUTH_SOCK: agentSock } });
      expect(add.code, add.stderr).toBe(0);
      const r = await docker(['buildx', 'build', '--ssh', `default=${agentSock}`, '--platform', 'linux/amd64', '-t', 'bk-ssh', dir], { env: withBuildx, timeoutMs: 240_000 });
      expect(r.code, r.stderr).toBe(0);
      expect((await docker(['run', '--rm', 'bk-ssh'])).stdout).toMatch(/^agent at \/run\/buildkit\/ssh_agent\.0\nlinux\/amd64\n$/);
      expect((await docker(['image', 'inspect', '--format', '{{.Os}}/{{.Architecture}}', 'bk-ssh'])).stdout.trim()).toBe('linux/amd64');
    } finally {
      agent.kill();
    }
  });

  it('Ctrl-C on the client stops the running step and leaves no process behind', { timeout: 300_000 }, async () => {
    const marker = `${Date.now() % 1000}.4242`;
    const dir = await context({ Dockerfile: `FROM ${busybox}\nRUN echo step-started && sleep ${marker}\n` });
    const child = spawn('docker', ['buildx', 'build', '--no-cache', dir], {
      env: { ...process.env, DOCKER_HOST: bed.dockerHost, ...withBuildx },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
    await new Promise<void>((resolveStarted, reject) => {
      let text = '';
      child.stderr.on('data', (b: Buffer) => {
        text += b.toString();
        if (text.includes('step-started')) resolveStarted();
      });
      void exited.then(() => reject(new Error(`buildx ended before the step started:\n${text}`)));
    });
    try {
      // The echo comes just before the shell starts sleep: watch for the sleep itself.
      const started = Date.now() + 30_000;
      while ((await stepProcesses(marker)).length === 0 && Date.now() < started) await sleep(50);
      expect(await stepProcesses(marker)).not.toEqual([]);
      child.kill('SIGINT');
      expect(await exited).not.toBe(0);
      // The cancellation travels client → Burrow → buildkitd → runc asynchronously; watch for it.
      const deadline = Date.now() + 30_000;
      while ((await stepProcesses(marker)).length > 0 && Date.now() < deadline) await sleep(50);
      expect(await stepProcesses(marker)).toEqual([]);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('a failing step reports the step and its output, as dockerd\'s BuildKit does', { timeout: 300_000 }, async () => {
    const dir = await context({ Dockerfile: `FROM ${busybox}\nRUN echo about-to-fail && exit 3\n` });
    const r = await docker(['buildx', 'build', '-t', 'bk-failing', dir], { env: withBuildx, timeoutMs: 240_000 });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('about-to-fail');
    expect(r.stderr).toContain('did not complete successfully: exit code: 3');
    expect((await docker(['image', 'inspect', 'bk-failing'])).code).not.toBe(0);
  });

  it('docker compose build (BuildKit, the default): a service built FROM another service\'s image', { timeout: 300_000 }, async () => {
    const dir = await context({
      'compose.yaml':
        'services:\n' +
        '  base:\n    build: ./base\n    image: bk-compose-base\n' +
        '  app:\n    build: ./app\n    image: bk-compose-app\n    depends_on: [base]\n',
      'base/Dockerfile': `FROM ${busybox}\nRUN echo base-layer > /base\n`,
      'app/Dockerfile': 'FROM bk-compose-base\nRUN cat /base > /app && echo app-layer >> /app\nCMD ["cat", "/app"]\n',
    });
    const env = { ...withBuildx, COMPOSE_PROGRESS: 'plain' };
    const base = await docker(['compose', '--project-directory', dir, 'build', 'base'], { env, timeoutMs: 240_000 });
    expect(base.code, base.stderr).toBe(0);
    const app = await docker(['compose', '--project-directory', dir, 'build', 'app'], { env, timeoutMs: 240_000 });
    expect(app.code, app.stderr).toBe(0);
    expect((await docker(['run', '--rm', 'bk-compose-app'])).stdout).toBe('base-layer\napp-layer\n');
    // up --build rebuilds what changed (BuildKit again) and starts it.
    await writeFile(join(dir, 'app', 'Dockerfile'), 'FROM bk-compose-base\nRUN cat /base > /app && echo app-layer-2 >> /app\nCMD ["cat", "/app"]\n');
    const up = await docker(['compose', '--project-directory', dir, 'up', '--build', '--abort-on-container-exit', 'app'], { env, timeoutMs: 240_000 });
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toContain('app-layer-2');
    expect((await docker(['compose', '--project-directory', dir, 'down'], { env })).code).toBe(0);
  });

  it('--target stops at the named stage; a stage the target does not need is not built', { timeout: 300_000 }, async () => {
    const dir = await context({
      Dockerfile:
        `FROM ${busybox} AS first\nRUN echo first > /stage\n` +
        `FROM ${busybox} AS broken\nRUN exit 3\n` +
        'FROM first AS final\nRUN echo final >> /stage\nCMD ["cat", "/stage"]\n',
    });
    const r = await docker(['buildx', 'build', '--target', 'first', '-t', 'bk-target', dir], { env: withBuildx, timeoutMs: 240_000 });
    expect(r.code, r.stderr).toBe(0);
    expect((await docker(['run', '--rm', 'bk-target', 'cat', '/stage'])).stdout).toBe('first\n');
    // The default target (the last stage) needs first, not broken: BuildKit skips broken.
    const all = await docker(['buildx', 'build', '-t', 'bk-target-final', dir], { env: withBuildx, timeoutMs: 240_000 });
    expect(all.code, all.stderr).toBe(0);
    expect((await docker(['run', '--rm', 'bk-target-final'])).stdout).toBe('first\nfinal\n');
  });

  it('docker system df counts BuildKit\'s cache (the cache mount too), POST /build/prune empties it, and so do buildx du / prune', { timeout: 300_000 }, async () => {
    const df = async (): Promise<{ Type: string; Size: number }[]> =>
      (JSON.parse((await rawRequest(bed.socket, 'GET', '/system/df?type=build-cache')).body) as { BuildCache: { Type: string; Size: number }[] }).BuildCache;
    const dir = await context({ Dockerfile: `FROM ${busybox}\nRUN --mount=type=cache,target=/c echo cached > /c/x && echo du > /du\n` });
    const build = async (): Promise<void> => expect((await docker(['buildx', 'build', '--no-cache', '-t', 'bk-du', dir], { env: withBuildx, timeoutMs: 240_000 })).code).toBe(0);
    await build();
    expect((await df()).map((r) => r.Type)).toContain('exec.cachemount');
    expect((await docker(['system', 'df'])).stdout).toMatch(/Build Cache\s+[1-9]/);
    // buildx's own du goes to buildkitd through /grpc.
    const du = await docker(['buildx', 'du'], { env: withBuildx });
    expect(du.code, du.stderr).toBe(0);
    expect(du.stdout).toMatch(/Total:\s+\S*[1-9]/);
    const pruned = JSON.parse((await rawRequest(bed.socket, 'POST', '/build/prune?all=1')).body) as { CachesDeleted: string[]; SpaceReclaimed: number };
    expect(pruned.SpaceReclaimed).toBeGreaterThan(0);
    expect(await df()).toEqual([]);
    // And buildx prune, again through /grpc.
    await build();
    const prune = await docker(['buildx', 'prune', '-af'], { env: withBuildx });
    expect(prune.code, prune.stderr).toBe(0);
    expect(prune.stdout).toMatch(/Total:\s+\S*[1-9]/);
    expect(await df()).toEqual([]);
  });
});

/** Processes of ours whose command line holds `marker` (a build step's `sleep <marker>`). */
async function stepProcesses(marker: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmd = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmd.split('\0').includes(marker)) found.push(Number(entry));
  }
  return found;
}

describe('buildkitd lifecycle', () => {
  const pidOf = async (runtimeDir: string): Promise<number> => Number((await readFile(join(runtimeDir, 'buildkit', 'buildkitd.pid'), 'utf8')).trim());
  /** Kills the daemon and what a failed run may leave: its buildkitd (which outlives a killed daemon by design) and holder. */
  const dispose = async (daemon: Awaited<ReturnType<typeof startDaemon>>, dir: string): Promise<void> => {
    await daemon.kill();
    const left = await pidOf(daemon.runtimeDir).catch(() => 0);
    if (left > 0 && (await isRunning(left))) process.kill(left, 'SIGKILL');
    await stopHolder(daemon.runtimeDir);
    await removeTree(dir);
  };
  /** buildkitd exits on its own (idle); nothing announces it to a test, so its /proc entry is watched. */
  const gone = async (pid: number): Promise<boolean> => {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (!(await isRunning(pid))) return true;
      await sleep(50);
    }
    return false;
  };

  it('without a buildkitd the daemon says Builder-Version 1 and /grpc is not found', async () => {
    const dir = await mkdtemp(join(process.env.BURROW_TEST_SCRATCH || tmpdir(), 'burrow-bk-none-'));
    const daemon = await startDaemon({ dir, env: { BURROW_BUILDKITD: '' } });
    try {
      expect((await rawRequest(daemon.socket, 'GET', '/_ping')).headers['builder-version']).toBe('1');
      const grpc = await rawRequest(daemon.socket, 'POST', '/grpc', undefined, { Connection: 'Upgrade', Upgrade: 'h2c' });
      expect(grpc.status).toBe(404);
    } finally {
      await daemon.stop();
      await stopHolder(daemon.runtimeDir);
      await removeTree(dir);
    }
  });

  it('runs its steps on the fuse-overlayfs snapshotter, the one a host without kernel overlay in a user namespace gets', { timeout: 300_000 }, async () => {
    const dir = await mkdtemp(join(process.env.BURROW_TEST_SCRATCH || tmpdir(), 'burrow-bk-fuse-'));
    const daemon = await startDaemon({ dir, env: { BURROW_BUILDKIT_SNAPSHOTTER: 'fuse-overlayfs' } });
    try {
      const cli = dockerCli(daemon.dockerHost);
      expect((await cli(['info', '--format', '{{json .DriverStatus}}'])).stdout).toContain('["BuildKit snapshotter","fuse-overlayfs"]');
      const ctx = await context({ Dockerfile: `FROM ${busybox}\nRUN echo on-fuse > /f && cat /f\nRUN cp /f /g && cat /g >> /f\nCMD ["cat", "/f"]\n` });
      const r = await cli(['buildx', 'build', '-t', 'on-fuse', ctx], { env: withBuildx, timeoutMs: 240_000 });
      expect(r.code, r.stderr).toBe(0);
      expect((await cli(['run', '--rm', 'on-fuse'])).stdout).toBe('on-fuse\non-fuse\n');
      await daemon.stop();
    } finally {
      await dispose(daemon, dir);
    }
  });

  it('is adopted by the next daemon after kill -9, stops when idle (a leftover too), starts again on demand and stops with the daemon', { timeout: 600_000 }, async () => {
    const dir = await mkdtemp(join(process.env.BURROW_TEST_SCRATCH || tmpdir(), 'burrow-bk-life-'));
    const ctx = await context({ Dockerfile: `FROM ${busybox}\nRUN echo life > /l\nCMD ["cat", "/l"]\n` });
    let daemon = await startDaemon({ dir });
    try {
      let cli = dockerCli(daemon.dockerHost);
      expect((await cli(['buildx', 'build', '-t', 'life', ctx], { env: withBuildx, timeoutMs: 240_000 })).code).toBe(0);
      const first = await pidOf(daemon.runtimeDir);
      expect(await isRunning(first)).toBe(true);

      await daemon.kill();
      expect(await isRunning(first)).toBe(true);
      daemon = await startDaemon({ dir });
      cli = dockerCli(daemon.dockerHost);
      const again = await cli(['buildx', 'build', '-t', 'life2', ctx], { env: withBuildx, timeoutMs: 240_000 });
      expect(again.code, again.stderr).toBe(0);
      expect(await pidOf(daemon.runtimeDir)).toBe(first);
      expect((await cli(['run', '--rm', 'life2'])).stdout).toBe('life\n');

      // A daemon that finds a leftover buildkitd at start and gets no build stops it once idle.
      await daemon.kill();
      daemon = await startDaemon({ dir, env: { BURROW_BUILDKIT_IDLE_MS: '1000' } });
      cli = dockerCli(daemon.dockerHost);
      expect(await gone(first)).toBe(true);
      const third = await cli(['buildx', 'build', '--build-arg', 'X=1', '-t', 'life3', ctx], { env: withBuildx, timeoutMs: 240_000 });
      expect(third.code, third.stderr).toBe(0);
      const restarted = await pidOf(daemon.runtimeDir);
      expect(restarted).not.toBe(first);

      await daemon.stop();
      expect(await isRunning(restarted)).toBe(false);
    } finally {
      await dispose(daemon, dir);
    }
  });
});
