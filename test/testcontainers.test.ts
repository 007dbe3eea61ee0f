import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { dockerCli } from './harness/clients.js';
import { isolatedTestbed } from './harness/isolated.js';

const bed = await isolatedTestbed();

describe('testcontainers (node)', () => {
  let started: StartedTestContainer | undefined;

  beforeAll(() => {
    // testcontainers reads its engine from the environment, as users set it.
    process.env.DOCKER_HOST = bed.dockerHost;
    // Ryuk, its reaper, is an image from Docker Hub, which this machine cannot reach.
    process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  });

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
    const ps = await dockerCli(bed.dockerHost)(['ps', '-aq', '--no-trunc']);
    expect(ps.stdout).not.toContain(id);
  });
});
