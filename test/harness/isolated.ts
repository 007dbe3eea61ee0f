import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, inject } from 'vitest';
import { stopHolder } from '../../rootless/userns-holder.js';
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
    await daemon.stop();
    await stopHolder(daemon.runtimeDir);
    await removeTree(dir);
  });
  return { ...shared, dockerHost: daemon.dockerHost, socket: daemon.socket, daemonPid: daemon.pid, privateDir: dir };
}
