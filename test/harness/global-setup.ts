import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startRegistry } from './registry.js';
import { buildTestImages, type TestImages } from './images.js';
import { startDaemon } from './daemon.js';
import { removeTree } from './cleanup.js';

export interface TestBed {
  /** The shared daemon every suite talks to (unix://...). */
  dockerHost: string;
  socket: string;
  daemonPid: number;
  registry: { host: string; url: string };
  images: TestImages;
  /** A scratch directory the suites may use; removed at the end. */
  scratch: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    testbed: TestBed;
  }
}

/**
 * Starts the real components once for the whole run: Debian's docker-registry on loopback with the
 * test images pushed to it, and a Burrow daemon on a private socket, as the current unprivileged user.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.getuid?.() === 0) throw new Error('the test bed runs as an unprivileged user: start it with `npm test`, which drops privileges');
  const dir = await mkdtemp(join(tmpdir(), 'burrow-testbed-'));
  // Workers are forked after this runs and inherit it: their scratch files go away with the test bed.
  process.env.BURROW_TEST_SCRATCH = join(dir, 'scratch');
  await mkdir(process.env.BURROW_TEST_SCRATCH, { recursive: true });
  const registry = await startRegistry({ dir: join(dir, 'registry') });
  const images = await buildTestImages(registry);
  const daemon = await startDaemon({ dir: join(dir, 'daemon') }).catch(async (err: unknown) => {
    await registry.stop();
    throw err;
  });
  project.provide('testbed', {
    dockerHost: daemon.dockerHost,
    socket: daemon.socket,
    daemonPid: daemon.pid,
    registry: { host: registry.host, url: registry.url },
    images,
    scratch: join(dir, 'scratch'),
  });
  return async () => {
    const code = await daemon.stop();
    await registry.stop();
    if (code !== 0) process.stderr.write(`burrow daemon exited with ${code}:\n${daemon.output()}\n`);
    await removeTree(dir);
  };
}
