/**
 * Containers attach to networks side by side (one lock per network and per container, not one
 * queue): many at once must still get distinct addresses and working DNS, and a network removed
 * while containers attach to it ends consistent. Nothing here times anything.
 */
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerCli } from './harness/clients.js';
import { containerKit } from './harness/container-kit.js';
import { isolatedTestbed } from './harness/isolated.js';

const bed = await isolatedTestbed();
const docker = dockerCli(bed.dockerHost);
const client = new Docker({ socketPath: bed.socket });
const busybox = bed.images.busybox.reference;
const { uniqueName: name, ok, removeAll } = containerKit(docker);
const networks = new Set<string>();
const N = 12;

/** busybox-static's `wget -T` crashes here; `timeout` bounds it instead. */
const fetchIn = (url: string): string => `timeout 10 wget -qO- ${url}`;

/** N `docker run -d` CLI processes at once, each a web server that serves its own /etc. */
async function runAtOnce(prefix: string, network: string): Promise<string[]> {
  const names = Array.from({ length: N }, () => name(prefix));
  const runs = await Promise.all(names.map((n) => docker(['run', '-d', '--name', n, '--hostname', n, '--network', network, busybox, 'httpd', '-f', '-p', '80', '-h', '/etc'])));
  for (const [i, r] of runs.entries()) expect(r.code, `${names[i]}: ${r.stderr}`).toBe(0);
  return names;
}

async function addresses(names: string[], network: string): Promise<string[]> {
  return Promise.all(names.map((n) => ok(['inspect', '--format', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, n])));
}

beforeAll(async () => {
  await ok(['pull', busybox]);
});

afterAll(async () => {
  await removeAll();
  for (const n of networks) await docker(['network', 'rm', n]);
});

describe('containers attaching at once', () => {
  it('on one user network get distinct addresses and reach each other by name', async () => {
    const net = `conc-${process.pid}`;
    networks.add(net);
    await ok(['network', 'create', net]);
    const names = await runAtOnce('conc-user', net);
    const ips = await addresses(names, net);
    for (const ip of ips) expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(new Set(ips).size).toBe(N);
    // Every name resolves to its container's address and serves that container's hostname.
    const script = names.map((n) => `nslookup ${n} | tail -n +3; ${fetchIn(`http://${n}/hostname`)}`).join('; ');
    const out = await ok(['exec', names[0]!, 'sh', '-c', script]);
    for (const [i, n] of names.entries()) {
      expect(out).toContain(ips[i]!);
      expect(out).toContain(n);
    }
    const inspected = JSON.parse(await ok(['network', 'inspect', net])) as { Containers: Record<string, { Name: string; IPv4Address: string }> }[];
    const attached = Object.values(inspected[0]!.Containers);
    expect(attached.map((c) => c.Name).sort()).toEqual([...names].sort());
  });

  it('on the default bridge get distinct addresses and reach each other by address', async () => {
    const names = await runAtOnce('conc-bridge', 'bridge');
    const ips = await addresses(names, 'bridge');
    for (const ip of ips) expect(ip).toMatch(/^172\.17\./);
    expect(new Set(ips).size).toBe(N);
    const out = await ok(['exec', names[N - 1]!, 'sh', '-c', ips.map((ip) => fetchIn(`http://${ip}/hostname`)).join('; ')]);
    expect(out.split('\n').sort()).toEqual([...names].sort());
  });

  it('a network removed while containers start on it ends consistent: each container attached with an address, or refused with 404', async () => {
    const net = `conc-rm-${process.pid}`;
    networks.add(net);
    await ok(['network', 'create', net]);
    const created = await Promise.all(
      Array.from({ length: N }, () => client.createContainer({ name: name('conc-rm'), Image: busybox, Cmd: ['sleep', '300'], HostConfig: { NetworkMode: net } })),
    );
    const status = (err: unknown): number => (err as { statusCode?: number }).statusCode ?? -1;
    const starts = created.map((c) => c.start().then(() => 204, (err: unknown) => ({ status: status(err), message: String((err as Error).message) })));
    // Removal attempts interleave with the starts until one succeeds or every start has settled.
    let settled = false;
    void Promise.all(starts).then(() => (settled = true));
    const removals: (number | { status: number; message: string })[] = [];
    const netObj = client.getNetwork(net);
    while (!settled) {
      const r = await netObj.remove().then(() => 204, (err: unknown) => ({ status: status(err), message: String((err as Error).message) }));
      removals.push(r);
      if (r === 204) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    const startResults = await Promise.all(starts);
    for (const r of startResults) if (r !== 204) expect(r, JSON.stringify(r)).toMatchObject({ status: 404, message: expect.stringContaining(`network ${net} not found`) });
    for (const r of removals) if (r !== 204) expect(r, JSON.stringify(r)).toMatchObject({ status: 403, message: expect.stringContaining('has active endpoints') });
    const removed = removals.includes(204);
    const running: string[] = [];
    for (const [i, c] of created.entries()) {
      const info = await c.inspect();
      expect(info.State.Running).toBe(startResults[i] === 204);
      if (!info.State.Running) continue;
      running.push(info.Id);
      expect(info.NetworkSettings.Networks[net]?.IPAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    }
    if (removed) {
      // The removal won every race it could: nothing is attached to a network that is gone.
      expect(running).toEqual([]);
      networks.delete(net);
      expect((await docker(['network', 'inspect', net])).code).not.toBe(0);
    } else {
      const inspected = (await netObj.inspect()) as { Containers: Record<string, { IPv4Address: string }> };
      expect(Object.keys(inspected.Containers).sort()).toEqual([...running].sort());
      const ips = Object.values(inspected.Containers).map((c) => c.IPv4Address);
      expect(new Set(ips).size).toBe(ips.length);
    }
    // No endpoint is left behind: once the containers are gone the network goes.
    await Promise.all(created.map((c) => c.remove({ force: true })));
    if (!removed) {
      await ok(['network', 'rm', net]);
      networks.delete(net);
    }
  });
});
