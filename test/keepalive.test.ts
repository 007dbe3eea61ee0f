import { describe, expect, inject, it } from 'vitest';
import { Agent, request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDaemon } from './harness/daemon.js';

const bed = inject('testbed');

/** Sends a request on the agent's one pooled connection; reports whether that same socket served it. */
function get(agent: Agent, socketPath: string, path: string): Promise<{ status: number; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('HTTP keep-alive', () => {
  it('keeps an idle connection usable for 6 minutes with the default timeout', { timeout: 420_000 }, async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    expect((await get(agent, bed.socket, '/_ping')).status).toBe(200);
    await sleep(6 * 60 * 1000);
    const again = await get(agent, bed.socket, '/_ping');
    expect(again).toEqual({ status: 200, reused: true });
    agent.destroy();
  });

  it('--keepalive-timeout shortens the idle window', { timeout: 60_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'burrow-keepalive-'));
    const daemon = await startDaemon({ dir, args: ['--keepalive-timeout', '2'] });
    try {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      await get(agent, daemon.socket, '/_ping');
      await sleep(500);
      expect((await get(agent, daemon.socket, '/_ping')).reused).toBe(true);
      await sleep(3500);
      expect((await get(agent, daemon.socket, '/_ping')).reused).toBe(false);
      agent.destroy();
    } finally {
      await daemon.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
