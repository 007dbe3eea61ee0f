import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { StartedTestContainer } from 'testcontainers';
import { dockerCli } from './harness/clients.js';
import { waitFor } from './harness/container-kit.js';
import { isolatedTestbed } from './harness/isolated.js';
import { pushRyukImage, RYUK_REPOSITORY, RYUK_TAGS } from './harness/ryuk-image.js';
import { labelledIds } from './harness/labelled.js';

// testcontainers with Ryuk on, its default: the reaper image comes from the test registry under the
// name testcontainers asks for (testcontainers/ryuk:<its tag>), found through the hub image prefix
// users of a registry mirror set. testcontainers reads that prefix and its reaper image name when
// it loads, so the environment is set before the (dynamic) import.
const bed = await isolatedTestbed();
await pushRyukImage(bed.registry);
const tcEnv: Record<string, string> = {
  DOCKER_HOST: bed.dockerHost,
  TESTCONTAINERS_HUB_IMAGE_NAME_PREFIX: `${bed.registry.host}/`,
};
// Where the test host is itself a container (/.dockerenv, as on CI), testcontainers looks for
// published ports at the bridge network's gateway, as for a dockerd beside it; a rootless engine's
// ports are on the host's loopback, which users in that case name with the documented override.
if (existsSync('/.dockerenv')) tcEnv.TESTCONTAINERS_HOST_OVERRIDE = '127.0.0.1';
Object.assign(process.env, tcEnv);
delete process.env.TESTCONTAINERS_RYUK_DISABLED;
const { GenericContainer, Wait } = await import('testcontainers');

const docker = dockerCli(bed.dockerHost);
const CHILD = fileURLToPath(new URL('./fixtures/testcontainers-child.mjs', import.meta.url));
const RYUK_LABEL = 'org.testcontainers.ryuk=true';

const listIds = (kind: 'containers' | 'networks', label: string): Promise<string[]> => labelledIds(bed.socket, kind, label);

interface ChildResources {
  containers: string[];
  network: string;
}

/** Starts the testcontainers child and resolves with what it made once it prints its JSON line. */
function startChild(): { resources: Promise<ChildResources>; kill: () => Promise<void> } {
  const child = spawn(process.execPath, [CHILD, bed.images.busybox.reference], {
    env: { ...process.env, ...tcEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  const resources = new Promise<ChildResources>((resolveRes, reject) => {
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
      const line = stdout.split('\n').find((l) => l.startsWith('{'));
      if (line !== undefined) resolveRes(JSON.parse(line) as ChildResources);
    });
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.once('exit', (code, signal) => reject(new Error(`testcontainers child exited (${code ?? signal}) before starting its containers:\n${stdout}\n${stderr}`)));
  });
  return {
    resources,
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

describe('testcontainers (node) with Ryuk', () => {
  it('reaps the containers and network of a test process killed with SIGKILL', { timeout: 180_000 }, async () => {
    const child = startChild();
    let made: ChildResources;
    try {
      made = await child.resources;
    } catch (err) {
      await child.kill();
      throw err;
    }
    // The reaper is a container of the image testcontainers asked for, running beside the ones it guards.
    const reapers = await listIds('containers', RYUK_LABEL);
    expect(reapers).toHaveLength(1);
    const reaperImage = await docker(['inspect', '--format', '{{.Config.Image}}', reapers[0]]);
    expect(reaperImage.stdout.trim()).toBe(`${bed.registry.host}/${RYUK_REPOSITORY}:${RYUK_TAGS.node}`);
    const session = (await docker(['inspect', '--format', '{{index .Config.Labels "org.testcontainers.session-id"}}', made.containers[0]])).stdout.trim();
    expect(session).not.toBe('');
    const sessionLabel = `org.testcontainers.session-id=${session}`;
    expect((await listIds('containers', sessionLabel)).sort()).toEqual([...made.containers, reapers[0]].sort());
    expect(await listIds('networks', sessionLabel)).toEqual([made.network]);

    await child.kill();

    // Ryuk sees its client's connection close, waits its reconnection timeout (10 s), removes what
    // carries the session's label, then exits and is removed itself (AutoRemove).
    await waitFor(async () => (await listIds('containers', sessionLabel)).length === 0 && (await listIds('networks', sessionLabel)).length === 0, 120_000);
    expect(await listIds('containers', RYUK_LABEL)).toEqual([]);
  });
});

describe('testcontainers (node)', () => {
  let started: StartedTestContainer | undefined;

  afterAll(async () => {
    await started?.stop();
  });

  it('starts a container with a mapped port and a log wait strategy, then stops it', { timeout: 120_000 }, async () => {
    started = await new GenericContainer(bed.images.busybox.reference)
      .withCommand(['sh', '-c', 'echo ready; exec httpd -f -p 8080 -h /etc'])
      .withExposedPorts(8080)
      .withWaitStrategy(Wait.forLogMessage('ready'))
      .start();
    const port = started.getMappedPort(8080);
    expect(port).toBeGreaterThan(0);
    const res = await fetch(`http://127.0.0.1:${port}/passwd`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('root:x:0:0');
    const exec = await started.exec(['echo', 'from-exec']);
    expect(exec.exitCode).toBe(0);
    expect(exec.output.trim()).toBe('from-exec');
    const id = started.getId();
    await started.stop();
    started = undefined;
    const ps = await docker(['ps', '-aq', '--no-trunc']);
    expect(ps.stdout).not.toContain(id);
    // Ryuk guards this process's session too: its reaper runs until the process ends.
    expect(await listIds('containers', RYUK_LABEL)).toHaveLength(1);
  });
});
