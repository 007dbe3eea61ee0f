/**
 * The network registry's locks and the coalesced DNS push, without a daemon: many containers
 * claiming addresses on one network at once, a removal racing with them, and pushes that overlap.
 * Real files (NetworkStore in a temp dir); nothing touches the kernel, nothing is timed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CoalescedPush } from '../slirp/coalesced-push.js';
import { NetworkRegistry } from '../slirp/network-registry.js';
import { NetworkStore } from '../slirp/store.js';
import type { ContainerNetRecord } from '../slirp/types.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function registry(): Promise<NetworkRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'burrow-registry-'));
  dirs.push(dir);
  return NetworkRegistry.open(await NetworkStore.open(dir), 'engine-test');
}

function container(i: number): ContainerNetRecord {
  const id = i.toString(16).padStart(64, '0');
  return { containerId: id, name: `c${i}`, hostname: id.slice(0, 12), netnsPath: `/nonexistent/${id}`, endpoints: [], ports: [], exposed: [], extraHosts: [] };
}

describe('NetworkRegistry', () => {
  it('gives containers claiming at once on one network distinct addresses, on the default bridge too', async () => {
    const r = await registry();
    const user = await r.create({ name: 'u1', ipam: { config: [{ subnet: '10.9.0.0/24' }] } });
    const bridge = r.get('bridge');
    const recs = Array.from({ length: 40 }, (_, i) => container(i + 1));
    await Promise.all(recs.map((rec) => r.claim(rec, [{ net: user, req: { name: 'u1' }, ifName: 'eth0' }, { net: bridge, req: { name: 'bridge' }, ifName: 'eth1' }])));
    for (const net of [user, bridge]) {
      const ips = r.endpointsOf(net.id).map((e) => e.endpoint.ip);
      expect(ips).toHaveLength(40);
      expect(new Set(ips).size).toBe(40);
    }
  });

  it('a claim that asks for a taken address changes nothing; the others still get theirs', async () => {
    const r = await registry();
    const net = await r.create({ name: 'u2', ipam: { config: [{ subnet: '10.9.1.0/24' }] } });
    const [a, b, c] = [container(1), container(2), container(3)];
    const results = await Promise.allSettled([
      r.claim(a, [{ net, req: { name: 'u2', ipv4: '10.9.1.50' }, ifName: 'eth0' }]),
      r.claim(b, [{ net, req: { name: 'u2', ipv4: '10.9.1.50' }, ifName: 'eth0' }]),
      r.claim(c, [{ net, req: { name: 'u2' }, ifName: 'eth0' }]),
    ]);
    expect(results.map((x) => x.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(b.endpoints).toEqual([]);
    expect(r.containers.has(b.containerId)).toBe(false);
    expect(r.endpointsOf(net.id).map((e) => e.containerId).sort()).toEqual([a.containerId, c.containerId].sort());
  });

  it('a removal racing with claims either finds an endpoint (403) or wins, and later claims get 404', async () => {
    const r = await registry();
    for (let round = 0; round < 8; round++) {
      const net = await r.create({ name: `race${round}` });
      const recs = Array.from({ length: 6 }, (_, i) => container(round * 100 + i + 1));
      // The removal is queued after `round` of the claims: it must see exactly those.
      const claims = recs.slice(0, round % 7).map((rec) => r.claim(rec, [{ net, req: { name: net.name }, ifName: 'eth0' }]));
      const removal = r.remove(net.name, async () => undefined).then(
        () => 'removed',
        (err: { statusCode?: number; message: string }) => `${err.statusCode}: ${err.message}`,
      );
      const late = recs.slice(round % 7).map((rec) => r.claim(rec, [{ net, req: { name: net.name }, ifName: 'eth0' }]).then(() => 'attached', (err: { statusCode?: number }) => err.statusCode));
      await Promise.all(claims);
      const outcome = await removal;
      const lateResults = await Promise.all(late);
      if (round % 7 === 0) {
        expect(outcome).toBe('removed');
        expect(lateResults.every((x) => x === 404)).toBe(true);
        expect(r.find(net.id)).toBeUndefined();
      } else {
        expect(outcome).toMatch(/^403: error while removing network: .* has active endpoints$/);
        expect(lateResults.every((x) => x === 'attached')).toBe(true);
        expect(r.endpointsOf(net.id)).toHaveLength(6);
      }
      for (const rec of recs) if (r.containers.get(rec.containerId) === rec) r.unregister(rec, false);
    }
  });
});

describe('CoalescedPush', () => {
  it('sends at most one more time for any number of requests during a send, and each caller sees its change sent', async () => {
    let state = 0;
    const sent: number[] = [];
    let finish: (() => void) | undefined;
    const push = new CoalescedPush(() => {
      sent.push(state);
      return new Promise<void>((resolve) => (finish = resolve));
    });
    state = 1;
    const first = push.request();
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent).toEqual([1]);
    const later = [2, 3, 4].map((n) => {
      state = n;
      return push.request();
    });
    finish!();
    await first;
    await new Promise((resolve) => setImmediate(resolve));
    // The three requests made during the first send share one send, of the latest state.
    expect(sent).toEqual([1, 4]);
    finish!();
    await Promise.all(later);
    expect(sent).toEqual([1, 4]);
  });

  it('passes a failed send on to its callers, and the next request sends again', async () => {
    let fail = true;
    let sends = 0;
    const push = new CoalescedPush(async () => {
      sends++;
      if (fail) throw new Error('agent gone');
    });
    await expect(push.request()).rejects.toThrow('agent gone');
    fail = false;
    await push.request();
    expect(sends).toBe(2);
  });
});
