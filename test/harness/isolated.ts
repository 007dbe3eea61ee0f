import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, inject } from 'vitest';
import { stopHolder } from '../../rootless/userns-holder.js';
import { rawRequest } from './clients.js';
import { removeTree } from './cleanup.js';
import { startDaemon } from './daemon.js';
import type { TestBed } from './global-setup.js';

/**
 * The shared test bed with a daemon of this test file's own. Suites that pull, remove or prune
 * images, containers, volumes or networks use it so that files running in parallel never see
 * each other's changes. Stopped (and its namespace holder with it) after the file.
 */
export async function isolatedTestbed(): Promise<TestBed & { privateDir: string }> {
  const shared = inject('testbed');
  const dir = await mkdtemp(join(tmpdir(), 'burrow-file-daemon-'));
  const daemon = await startDaemon({ dir });
  afterAll(async () => {
    await removeContainersLeft(daemon.socket);
    await daemon.stop();
    await stopHolder(daemon.runtimeDir);
    await removeTree(dir);
  });
  return { ...shared, dockerHost: daemon.dockerHost, socket: daemon.socket, daemonPid: daemon.pid, privateDir: dir };
}

/**
 * Containers a file leaves (testcontainers' ryuk still running at the end, a test that failed
 * before its clean-up) are removed through the daemon before it stops: containers outlive a daemon
 * stop by design, and the holder's stop then kills their processes but leaves their cgroups
 * (empty, under the delegated tree) behind. A daemon already gone, or one that does not answer
 * within 30 s, leaves them: the teardown goes on.
 */
async function removeContainersLeft(socket: string): Promise<void> {
  const work = (async () => {
    const list = await rawRequest(socket, 'GET', '/containers/json?all=1');
    if (list.status !== 200) return;
    for (const c of JSON.parse(list.body) as { Id: string }[]) await rawRequest(socket, 'DELETE', `/containers/${c.Id}?force=1&v=1`);
  })().catch(() => undefined);
  await Promise.race([work, new Promise((r) => setTimeout(r, 30_000).unref())]);
}
