/**
 * IPv6-only networks, IPv6 --ip-range, --aux-address and the default bridge's IPv6 as pure IPAM
 * logic and registry state (real files in a temp dir; nothing touches the kernel).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { allocate, subnetConfig, formatIp } from '../slirp/ipam.js';
import { allocate6, checkStatic6, formatIp6, parseIp6, subnetConfig6 } from '../slirp/ipam6.js';
import { validateIpam } from '../slirp/ipam-validate.js';
import { allocateEndpoint } from '../slirp/endpoints.js';
import { hostsFile } from '../slirp/container-files.js';
import { NetworkRegistry } from '../slirp/network-registry.js';
import { NetworkStore } from '../slirp/store.js';
import { networkJson } from '../translate/network-json.js';
import type { ContainerNetRecord } from '../slirp/types.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function storeDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'burrow-ipv6-'));
  dirs.push(dir);
  return dir;
}

const container = (i: number): ContainerNetRecord => {
  const id = i.toString(16).padStart(64, '0');
  return { containerId: id, name: `c${i}`, hostname: id.slice(0, 12), netnsPath: `/nonexistent/${id}`, endpoints: [], ports: [], exposed: [], extraHosts: [] };
};

describe('IPv6 --ip-range and --aux-address', () => {
  it('hands out dynamic IPv6 addresses from the range, skipping reserved ones; static ones anywhere in the subnet', () => {
    const cfg = subnetConfig6('fd00:1::/64', undefined, 'fd00:1::1:0:0:0/80', ['fd00:1::1:0:0:0']);
    const first = allocate6(cfg, new Set());
    expect(formatIp6(first)).toBe('fd00:1::1:0:0:1');
    expect(formatIp6(allocate6(cfg, new Set([first])))).toBe('fd00:1::1:0:0:2');
    // The range's first address is free to hand out unless it is the subnet's own or reserved.
    const plain = subnetConfig6('fd00:2::/64', undefined, 'fd00:2::100/120');
    expect(formatIp6(allocate6(plain, new Set()))).toBe('fd00:2::100');
    expect(() => checkStatic6(plain, parseIp6('fd00:2::5'), new Set(), 'n')).not.toThrow();
    const aux = subnetConfig6('fd00:3::/64', undefined, undefined, ['fd00:3::2']);
    expect(formatIp6(allocate6(aux, new Set()))).toBe('fd00:3::3');
    expect(() => checkStatic6(aux, parseIp6('fd00:3::2'), new Set(), 'n')).toThrow('Address already in use: fd00:3::2 on network n');
  });

  it('never hands out an IPv4 aux address', () => {
    const cfg = subnetConfig('10.5.0.0/24', undefined, undefined, ['10.5.0.2', '10.5.0.3']);
    expect(formatIp(allocate(cfg, new Set()))).toBe('10.5.0.4');
  });

  it("checks the IPAM config with dockerd's messages, every problem at once", () => {
    expect(() => validateIpam([{ subnet: 'fd00:1::/64', ipRange: 'fd00:1::/80', auxAddresses: { a: 'fd00:1::9' } }], true)).not.toThrow();
    expect(() => validateIpam([{ subnet: 'fd00:1::1/64', ipRange: 'fd00:2::/80', gateway: '10.0.0.1', auxAddresses: { r: 'fd00:9::1' } }], true)).toThrow(
      [
        'invalid network config:',
        'invalid subnet fd00:1::1/64: it should be fd00:1::/64',
        "invalid ip-range fd00:2::/80: parent subnet fd00:1::1/64 doesn't contain ip-range",
        'invalid gateway 10.0.0.1: parent subnet is an IPv6 block',
        "invalid auxiliary address r: parent subnet fd00:1::1/64 doesn't contain this address",
      ].join('\n'),
    );
    expect(() => validateIpam([{ subnet: '10.1.0.0/24', ipRange: '10.1.0.0/16' }], false)).toThrow('invalid ip-range 10.1.0.0/16: CIDR block is bigger than its parent subnet 10.1.0.0/24');
    expect(() => validateIpam([{ subnet: 'nonsense' }], false)).toThrow('invalid subnet nonsense: invalid CIDR block notation');
    // IPv6 entries of a network without IPv6 are not checked here (dockerd skips them too).
    expect(() => validateIpam([{ subnet: 'fd00:1::1/64' }], false)).not.toThrow();
  });
});

describe('IPv6-only networks (EnableIPv4 false)', () => {
  it('refuses a network with neither family, and gives an IPv6-only one no IPv4 subnet', async () => {
    const reg = await NetworkRegistry.open(await NetworkStore.open(await storeDir()), 'engine-v6');
    await expect(reg.create({ name: 'neither', enableIPv4: false })).rejects.toThrow('IPv4 or IPv6 must be enabled');
    await expect(reg.create({ name: 'opt', options: { 'com.docker.network.enable_ipv4': 'false' } })).rejects.toThrow('IPv4 or IPv6 must be enabled');
    const net = await reg.create({ name: 'v6', enableIPv4: false, enableIPv6: true, ipam: { config: [{ subnet: 'fd00:6::/64', ipRange: 'fd00:6::100/120' }] } });
    expect(net).toMatchObject({ enableIPv4: false, enableIPv6: true, subnet6: 'fd00:6::/64', ipRange6: 'fd00:6::100/120' });
    expect(net.subnet).toBeUndefined();
    const json = networkJson(net, []);
    expect(json.EnableIPv4).toBe(false);
    expect(json.IPAM).toEqual({ Driver: 'default', Options: null, Config: [{ Subnet: 'fd00:6::/64', IPRange: 'fd00:6::100/120' }] });
    // No IPv4 pool was used: the next dual-stack network still gets the first default pool.
    expect((await reg.create({ name: 'v4' })).subnet).toBe('172.18.0.0/16');

    const ep = allocateEndpoint(container(1), net, { name: 'v6' }, 'eth0', []);
    expect(ep).toMatchObject({ ip: '', prefixLen: 0, gateway: '', ip6: 'fd00:6::100', prefixLen6: 64, gateway6: 'fd00:6::1' });
    expect(ep.mac).toMatch(/^02:42:/);
    expect(() => allocateEndpoint(container(2), net, { name: 'v6', ipv4: '172.30.0.5' }, 'eth0', [ep])).toThrow('no configured subnet contains IP address 172.30.0.5');
    expect(allocateEndpoint(container(3), net, { name: 'v6' }, 'eth0', [ep]).ip6).toBe('fd00:6::101');
  });

  it('puts only the IPv6 address in /etc/hosts', () => {
    const text = hostsFile({ hostname: 'h', ip6: 'fd00:6::100', extraHosts: [] });
    expect(text).toContain('fd00:6::100\th\n');
    expect(text).not.toContain('127.0.0.1\th');
  });
});

describe('IPv6 on the default bridge (daemon --ipv6, --fixed-cidr-v6)', () => {
  it('follows the options at every start, and keeps an allocated ULA subnet while --ipv6 stays', async () => {
    const dir = await storeDir();
    const open = async (enabled: boolean, fixedCidr6?: string): Promise<NetworkRegistry> =>
      NetworkRegistry.open(await NetworkStore.open(dir), 'engine-b6', { enabled, ...(fixedCidr6 ? { fixedCidr6 } : {}) });
    const bridgeOf = (r: NetworkRegistry) => r.get('bridge');
    expect(bridgeOf(await open(false)).enableIPv6).toBeUndefined();
    const ula = bridgeOf(await open(true));
    expect(ula).toMatchObject({ enableIPv6: true });
    expect(ula.subnet6).toMatch(/^fd[0-9a-f]{2}:[0-9a-f:]+\/64$/);
    expect(bridgeOf(await open(true)).subnet6).toBe(ula.subnet6);
    const fixed = bridgeOf(await open(true, 'fd00:cafe::/64'));
    expect(fixed).toMatchObject({ subnet6: 'fd00:cafe::/64', gateway6: 'fd00:cafe::1' });
    expect((networkJson(fixed, []).IPAM as { Config: unknown[] }).Config).toEqual([
      { Subnet: '172.17.0.0/16', Gateway: '172.17.0.1' },
      { Subnet: 'fd00:cafe::/64', Gateway: 'fd00:cafe::1' },
    ]);
    const off = await open(false);
    expect(bridgeOf(off).enableIPv6).toBeUndefined();
    expect(bridgeOf(off).subnet6).toBeUndefined();
    expect(off.replacedBridge?.subnet6).toBe('fd00:cafe::/64');
  });

  it('keeps the bridge as it was while a container is still attached', async () => {
    const dir = await storeDir();
    const first = await NetworkRegistry.open(await NetworkStore.open(dir), 'engine-b7', { enabled: true, fixedCidr6: 'fd00:beef::/64' });
    const c = container(7);
    await first.claim(c, [{ net: first.get('bridge'), req: { name: 'bridge' }, ifName: 'eth0' }]);
    await first.store.saveContainer(c);
    const second = await NetworkRegistry.open(await NetworkStore.open(dir), 'engine-b7', { enabled: false });
    expect(second.get('bridge').subnet6).toBe('fd00:beef::/64');
    expect(c.endpoints[0]!.ip6).toBe('fd00:beef::2');
  });
});
