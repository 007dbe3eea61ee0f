/**
 * IPv6 through the docker CLI: IPv6-only networks (--ipv4=false --ipv6), IPv6 --ip-range and
 * --aux-address, and IPv6 on the default bridge from the daemon's --ipv6 / --fixed-cidr-v6.
 * Traffic stays between containers on networks this daemon made.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopHolder } from '../rootless/userns-holder.js';
import { dockerCli, rawRequest } from './harness/clients.js';
import { removeTree } from './harness/cleanup.js';
import { containerKit } from './harness/container-kit.js';
import { startDaemon } from './harness/daemon.js';
import { isolatedTestbed } from './harness/isolated.js';

const bed = await isolatedTestbed();
const docker = dockerCli(bed.dockerHost);
const busybox = bed.images.busybox.reference;
const { uniqueName: name, ok, removeAll, inspectField } = containerKit(docker);
const networks = new Set<string>();

/** busybox-static's `wget -T` crashes here; `timeout` bounds it instead. */
const fetchIn = (url: string): string[] => ['timeout', '10', 'wget', '-qO-', url];

beforeAll(async () => {
  await ok(['pull', busybox]);
});

afterAll(async () => {
  await removeAll();
  for (const n of networks) await docker(['network', 'rm', n]);
});

async function network(n: string, args: string[]): Promise<string> {
  networks.add(n);
  return ok(['network', 'create', ...args, n]);
}

describe('IPv6-only networks (--ipv4=false --ipv6)', () => {
  it('refuses a bridge network with neither family, as dockerd does', async () => {
    const r = await docker(['network', 'create', '--ipv4=false', 'bt6-neither']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('Error response from daemon: IPv4 or IPv6 must be enabled');
  });

  it('shows EnableIPv4 for every network, false only for the IPv6-only one, with its IPv6 IPAM config alone', async () => {
    const net = `bt6only-${process.pid}`;
    const id = await network(net, ['--ipv4=false', '--ipv6', '--subnet', 'fd00:61::/64']);
    expect(await ok(['network', 'inspect', net, '--format', '{{.EnableIPv4}} {{.EnableIPv6}} {{json .IPAM.Config}}'])).toBe('false true [{"Subnet":"fd00:61::/64"}]');
    const list = JSON.parse((await rawRequest(bed.socket, 'GET', '/networks')).body) as { Id: string; Name: string; Driver: string; EnableIPv4: boolean }[];
    for (const n of list) expect(n.EnableIPv4, n.Name).toBe(n.Id === id ? false : n.Driver === 'bridge');
  });

  it('takes EnableIPv4 false from dockerode, or the enable_ipv4 driver option, and lists it', async () => {
    const client = new Docker({ socketPath: bed.socket });
    const a = `bt6-dockerode-${process.pid}`;
    const b = `bt6-opt-${process.pid}`;
    networks.add(a).add(b);
    const created = await client.createNetwork({ Name: a, EnableIPv4: false, EnableIPv6: true } as Docker.NetworkCreateOptions);
    const info = (await created.inspect()) as unknown as { EnableIPv4: boolean; EnableIPv6: boolean; IPAM: { Config: { Subnet: string }[] } };
    expect(info.EnableIPv4).toBe(false);
    expect(info.EnableIPv6).toBe(true);
    expect(info.IPAM.Config).toHaveLength(1);
    expect(info.IPAM.Config[0]!.Subnet).toMatch(/^fd[0-9a-f]{2}:[0-9a-f:]+::\/64$/);
    await client.createNetwork({ Name: b, EnableIPv6: true, Options: { 'com.docker.network.enable_ipv4': 'false' } });
    const listed = (await client.listNetworks()) as unknown as { Name: string; EnableIPv4: boolean }[];
    expect(listed.filter((n) => n.Name === a || n.Name === b).map((n) => n.EnableIPv4)).toEqual([false, false]);
  });

  it('gives containers an IPv6 address only, reachable from a peer over IPv6', async () => {
    const net = `bt6web-${process.pid}`;
    await network(net, ['--ipv4=false', '--ipv6', '--subnet', 'fd00:62::/64']);
    const web = name('v6web');
    await ok(['run', '-d', '--name', web, '--hostname', 'v6host', '--network', net, busybox, 'httpd', '-f', '-p', '80', '-h', '/etc']);
    expect(await inspectField(web, `{{with index .NetworkSettings.Networks "${net}"}}[{{.IPAddress}}] {{.IPPrefixLen}} [{{.Gateway}}] {{.GlobalIPv6Address}}/{{.GlobalIPv6PrefixLen}} {{.IPv6Gateway}}{{end}}`)).toBe(
      '[] 0 [] fd00:62::2/64 fd00:62::1',
    );
    const inspect = JSON.parse(await ok(['network', 'inspect', net, '--format', '{{json .Containers}}'])) as Record<string, { IPv4Address: string; IPv6Address: string }>;
    expect(Object.values(inspect)).toEqual([expect.objectContaining({ IPv4Address: '', IPv6Address: 'fd00:62::2/64' })]);
    // No IPv4 on eth0, the IPv6 address there, and /etc/hosts names the container by its IPv6 address only.
    const probe = await ok(['run', '--rm', '--network', net, busybox, 'sh', '-c', 'ip -4 addr show dev eth0 | grep -c inet; ip -6 addr show dev eth0 scope global | grep -o "fd00:62::[0-9a-f]*/64"; cat /etc/hosts']);
    const [v4count, v6addr, ...hosts] = probe.split('\n');
    expect(v4count).toBe('0');
    expect(v6addr).toBe('fd00:62::3/64');
    const own = hosts.filter((l) => !/localhost|ip6-/.test(l));
    expect(own).toHaveLength(1);
    expect(own[0]).toMatch(/^fd00:62::3\t[0-9a-f]{12}$/);
    expect(await inspectField(web, '{{range .NetworkSettings.Networks}}{{.MacAddress}}{{end}}')).toMatch(/^02:42:/);
    expect(await ok(['run', '--rm', '--network', net, busybox, ...fetchIn('http://[fd00:62::2]/hostname')])).toBe('v6host');
    expect(await ok(['run', '--rm', '--network', net, '--ip6', 'fd00:62::99', busybox, ...fetchIn('http://[fd00:62::2]/hostname')])).toBe('v6host');
    // By name: the network's resolver listens on its IPv6 gateway and answers AAAA only.
    expect(await ok(['run', '--rm', '--network', net, busybox, 'cat', '/etc/resolv.conf'])).toContain('nameserver fd00:62::1');
    expect(await ok(['run', '--rm', '--network', net, busybox, ...fetchIn(`http://${web}/hostname`)])).toBe('v6host');
    const aaaa = await ok(['run', '--rm', '--network', net, busybox, 'nslookup', '-type=AAAA', web]);
    expect(aaaa).toContain('fd00:62::2');
    const a = await docker(['run', '--rm', '--network', net, busybox, 'nslookup', '-type=A', web]);
    expect(a.stdout).not.toMatch(/Address: \d+\.\d+\.\d+\.\d+/);
    const v4 = await docker(['run', '--rm', '--network', net, '--ip', '172.31.9.9', busybox, 'true']);
    expect(v4.code).not.toBe(0);
    expect(v4.stderr).toContain('no configured subnet contains IP address 172.31.9.9');
  });
});

describe('IPv6 --ip-range and --aux-address', () => {
  it('hands out dynamic IPv6 addresses from the range, never an aux address, and shows both in inspect', async () => {
    const net = `bt6range-${process.pid}`;
    await network(net, ['--ipv6', '--subnet', 'fd00:63::/64', '--ip-range', 'fd00:63::1:0/112', '--aux-address', 'router=fd00:63::1:0', '--aux-address', 'r4=172.29.5.2', '--subnet', '172.29.5.0/24']);
    const cfg = JSON.parse(await ok(['network', 'inspect', net, '--format', '{{json .IPAM.Config}}'])) as Record<string, unknown>[];
    expect(cfg).toEqual([
      { Subnet: '172.29.5.0/24', AuxiliaryAddresses: { r4: '172.29.5.2' } },
      { Subnet: 'fd00:63::/64', IPRange: 'fd00:63::1:0/112', AuxiliaryAddresses: { router: 'fd00:63::1:0' } },
    ]);
    const c = name('v6range');
    await ok(['run', '-d', '--name', c, '--network', net, busybox, 'sleep', '60']);
    expect(await inspectField(c, '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{.GlobalIPv6Address}}{{end}}')).toBe('172.29.5.3 fd00:63::1:1');
  });

  it("refuses a range outside its subnet with dockerd's message", async () => {
    // The CLI checks this itself; the API answers other clients with dockerd's validation text.
    const r = await rawRequest(
      bed.socket,
      'POST',
      '/networks/create',
      JSON.stringify({ Name: 'bt6-badrange', EnableIPv6: true, IPAM: { Config: [{ Subnet: 'fd00:64::/64', IPRange: 'fd00:65::/80', AuxiliaryAddresses: { a: 'fd00:66::1' } }] } }),
    );
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body)).toEqual({
      message:
        "invalid network config:\ninvalid ip-range fd00:65::/80: parent subnet fd00:64::/64 doesn't contain ip-range\ninvalid auxiliary address a: parent subnet fd00:64::/64 doesn't contain this address",
    });
  });
});

describe('IPv6 on the default bridge (burrow daemon --ipv6 --fixed-cidr-v6)', () => {
  it('shows it in network inspect, addresses containers, and goes away on a start without --ipv6', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'burrow-ipv6-daemon-'));
    let cleanup: (() => Promise<void>) | undefined;
    const inspectBridge = async (cli: ReturnType<typeof dockerCli>): Promise<string> =>
      (await cli(['network', 'inspect', 'bridge', '--format', '{{.EnableIPv6}} {{json .IPAM.Config}}'])).stdout.trim();
    try {
      // A container on a user network keeps the hub (and the default bridge in it) across the restarts,
      // so each daemon must re-plumb the bridge it finds with the addresses its options give.
      const keeper = `bt6-keeper-${process.pid}`;
      let keeperLeft = true;
      const zero = await startDaemon({ dir });
      cleanup = async () => {
        // A failure midway leaves the keeper running in the namespace: a daemon removes it, then the holder goes.
        if (keeperLeft) {
          const d = await startDaemon({ dir });
          await dockerCli(d.dockerHost)(['rm', '-f', keeper]);
          await d.stop();
        }
        await stopHolder(zero.runtimeDir);
      };
      try {
        const cli = dockerCli(zero.dockerHost);
        expect((await cli(['pull', busybox])).code).toBe(0);
        expect((await cli(['network', 'create', `${keeper}-net`])).code).toBe(0);
        expect((await cli(['run', '-d', '--name', keeper, '--network', `${keeper}-net`, busybox, 'sleep', '600'])).code).toBe(0);
        expect((await cli(['run', '--rm', busybox, 'true'])).code).toBe(0);
      } finally {
        await zero.stop();
      }
      const first = await startDaemon({ dir, args: ['--ipv6', '--fixed-cidr-v6', 'fd00:d0c::/64'] });
      const cli = dockerCli(first.dockerHost);
      try {
        expect(await inspectBridge(cli)).toBe('true [{"Subnet":"172.17.0.0/16","Gateway":"172.17.0.1"},{"Subnet":"fd00:d0c::/64","Gateway":"fd00:d0c::1"}]');
        const c = `bt6-bridge-${process.pid}`;
        expect((await cli(['run', '-d', '--name', c, busybox, 'sleep', '60'])).code).toBe(0);
        const addr = await cli(['exec', c, 'sh', '-c', 'ip -6 addr show dev eth0 scope global | grep -o "fd00:d0c::[0-9a-f]*/64"']);
        expect(addr.stdout.trim()).toBe('fd00:d0c::2/64');
        // The gateway answers: the bridge the hub kept from the last daemon got its IPv6 address.
        const ping = await cli(['exec', c, 'ping', '-6', '-c', '1', '-W', '5', 'fd00:d0c::1']);
        expect(ping.code, ping.stdout + ping.stderr).toBe(0);
        // The default bridge's IPv6 shows in the endpoint and in the legacy top-level fields too.
        const fields = '{{.NetworkSettings.Networks.bridge.GlobalIPv6Address}} {{.NetworkSettings.GlobalIPv6Address}}/{{.NetworkSettings.GlobalIPv6PrefixLen}} {{.NetworkSettings.IPv6Gateway}}';
        expect((await cli(['inspect', '--format', fields, c])).stdout.trim()).toBe('fd00:d0c::2 fd00:d0c::2/64 fd00:d0c::1');
        // dockerd refuses a static address on the default bridge, IPv6 as IPv4.
        const ip6 = await cli(['run', '--rm', '--ip6', 'fd00:d0c::77', busybox, 'true']);
        expect(ip6.stderr).toContain('user specified IP address is supported on user defined networks only');
        expect((await cli(['rm', '-f', c])).code).toBe(0);
      } finally {
        await first.stop();
      }
      const second = await startDaemon({ dir });
      const cli2 = dockerCli(second.dockerHost);
      try {
        expect(await inspectBridge(cli2)).toBe('false [{"Subnet":"172.17.0.0/16","Gateway":"172.17.0.1"}]');
        const r = await cli2(['run', '--rm', busybox, 'sh', '-c', 'ip -6 addr show dev eth0 scope global | grep -c inet6; ping -c 1 -W 5 172.17.0.1 >/dev/null && echo gw']);
        expect(r.stdout.trim()).toBe('0\ngw');
        expect((await cli2(['inspect', '--format', '{{.State.Running}}', keeper])).stdout.trim()).toBe('true');
        await cli2(['rm', '-f', keeper]);
        keeperLeft = false;
        await cli2(['network', 'rm', `${keeper}-net`]);
      } finally {
        await second.stop();
      }
    } finally {
      await cleanup?.();
      await removeTree(dir);
    }
  });
});
