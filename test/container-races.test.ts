/**
 * Operations on one container that clients run at the same time, as Compose and test harnesses do:
 * each must see the other's outcome, never undo it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerCli, rawRequest } from './harness/clients.js';
import { containerKit, processesOf } from './harness/container-kit.js';
import { isolatedTestbed } from './harness/isolated.js';

const bed = await isolatedTestbed();
const docker = dockerCli(bed.dockerHost);
const busybox = bed.images.busybox.reference;
const { uniqueName, removeAll, ok } = containerKit(docker);

beforeAll(async () => {
  await ok(['pull', busybox]);
});

afterAll(async () => {
  await removeAll();
});

describe('racing operations on one container', () => {
  it('docker rm -f during a start removes the container for good: no record, directory or process comes back', async () => {
    for (let i = 0; i < 8; i++) {
      const name = uniqueName('start-rm');
      const id = await ok(['create', '--name', name, busybox, 'sleep', '300']);
      const start = rawRequest(bed.socket, 'POST', `/containers/${id}/start`);
      await new Promise((r) => setTimeout(r, i * 15));
      const removed = await rawRequest(bed.socket, 'DELETE', `/containers/${id}?force=1`);
      const started = await start;
      expect([204, 404, 409], started.body).toContain(started.status);
      expect(removed.status, removed.body).toBe(204);
      // Whatever the start was doing, nothing of the container is left once both have answered.
      const inspect = await rawRequest(bed.socket, 'GET', `/containers/${id}/json`);
      expect(inspect.status).toBe(404);
      expect(existsSync(join(bed.privateDir, 'data', 'containers', id))).toBe(false);
      expect(await processesOf(id)).toEqual([]);
    }
  });
});
