import { describe, expect, it } from 'vitest';
import { networkCreateJson, networkInspectJson, networkListJson, networkPruneJson } from '../translate/network-json.js';
import { networkConnectParams, networkCreateSpec, networkRequestContainer } from '../translate/network-request.js';
import type { NetworkRecord } from '../slirp/types.js';
import type { NetworkView } from '../slirp/interface.js';

/** Pure: the network service's domain types as dockerd's wire JSON (compared as text, so field order counts), and request bodies into them. */
const net: NetworkRecord = {
  id: 'a'.repeat(64),
  name: 'app',
  created: '2026-03-01T10:20:30.123456789Z',
  driver: 'bridge',
  internal: false,
  attachable: true,
  labels: { k: 'v' },
  options: {},
  ipamOptions: null,
  subnet: '172.18.0.0/16',
  gateway: '172.18.0.1',
  bridge: 'br-aaaaaaaaaaaa',
  predefined: false,
  userIpam: false,
};

const view: NetworkView = {
  network: net,
  endpoints: [
    {
      containerId: 'c'.repeat(64),
      name: 'web',
      endpoint: { networkId: net.id, networkName: 'app', endpointId: 'e'.repeat(64), ifName: 'eth0', hostIf: 'veth0', ip: '172.18.0.2', prefixLen: 16, gateway: '172.18.0.1', mac: '02:42:ac:12:00:02', aliases: [], dnsNames: ['web'] },
    },
  ],
};

const BODY =
  `"Scope":"local","Driver":"bridge","EnableIPv4":true,"EnableIPv6":false,"IPAM":{"Driver":"default","Options":null,"Config":[{"Subnet":"172.18.0.0/16","Gateway":"172.18.0.1"}]},` +
  `"Internal":false,"Attachable":true,"Ingress":false,"ConfigFrom":{"Network":""},"ConfigOnly":false`;

describe('network wire JSON', () => {
  it('inspect: dockerd field order, the attached containers with their addresses', () => {
    expect(JSON.stringify(networkInspectJson(view))).toBe(
      `{"Name":"app","Id":"${net.id}","Created":"2026-03-01T10:20:30.123456789Z",${BODY},` +
        `"Containers":{"${'c'.repeat(64)}":{"Name":"web","EndpointID":"${'e'.repeat(64)}","MacAddress":"02:42:ac:12:00:02","IPv4Address":"172.18.0.2/16","IPv6Address":""}},` +
        `"Options":{},"Labels":{"k":"v"}}`,
    );
  });

  it('list: no attached containers (Containers {}), an empty list is []', () => {
    expect(JSON.stringify(networkListJson([net]))).toBe(`[{"Name":"app","Id":"${net.id}","Created":"2026-03-01T10:20:30.123456789Z",${BODY},"Containers":{},"Options":{},"Labels":{"k":"v"}}]`);
    expect(JSON.stringify(networkListJson([]))).toBe('[]');
  });

  it('host and none: no IPAM config (null), EnableIPv4 false', () => {
    const host = { ...net, name: 'host', driver: 'host' as const, subnet: undefined, gateway: undefined, predefined: true, labels: {} };
    expect(JSON.stringify(networkInspectJson({ network: host, endpoints: [] }))).toContain('"EnableIPv4":false,"EnableIPv6":false,"IPAM":{"Driver":"default","Options":null,"Config":null}');
  });

  it('create: the id and an empty warning', () => {
    expect(JSON.stringify(networkCreateJson(net))).toBe(`{"Id":"${net.id}","Warning":""}`);
  });

  it('prune: the removed names, none is []', () => {
    expect(JSON.stringify(networkPruneJson([]))).toBe('{"NetworksDeleted":[]}');
    expect(JSON.stringify(networkPruneJson(['a', 'b']))).toBe('{"NetworksDeleted":["a","b"]}');
  });
});

describe('network request bodies', () => {
  it('create: defaults, "" as not given, IPAM options absent stay absent', () => {
    expect(networkCreateSpec({ Name: 'n' })).toEqual({ name: 'n', internal: false, attachable: false, enableIPv6: false, labels: {}, options: {} });
    expect(
      networkCreateSpec({
        Name: 'n',
        Driver: 'bridge',
        EnableIPv4: false,
        EnableIPv6: true,
        IPAM: { Driver: '', Config: [{ Subnet: 'fd00::/64', Gateway: '', AuxiliaryAddresses: { a: 'fd00::9' } }] },
      }),
    ).toEqual({
      name: 'n',
      driver: 'bridge',
      internal: false,
      attachable: false,
      enableIPv6: true,
      enableIPv4: false,
      labels: {},
      options: {},
      ipam: { config: [{ subnet: 'fd00::/64', auxAddresses: { a: 'fd00::9' } }] },
    });
  });

  it('create: a body that is not an object is refused', () => {
    expect(() => networkCreateSpec(undefined)).toThrow('invalid JSON: the request body must be a network configuration object');
  });

  it('connect: aliases always, addresses, links and link-local IPs only when given', () => {
    expect(networkConnectParams({ Container: 'web' })).toEqual({ container: 'web', endpoint: { aliases: [] } });
    expect(
      networkConnectParams({ Container: 'web', EndpointConfig: { Aliases: ['w'], Links: ['db:d', ''], IPAMConfig: { IPv4Address: '172.18.0.9', IPv6Address: '', LinkLocalIPs: ['169.254.0.9'] } } }),
    ).toEqual({ container: 'web', endpoint: { aliases: ['w'], ipv4: '172.18.0.9', links: ['db:d'], linkLocalIps: ['169.254.0.9'] } });
  });

  it('connect/disconnect without a container name it as ""', () => {
    expect(networkRequestContainer(undefined)).toBe('');
    expect(networkRequestContainer({ Container: 'x', Force: true })).toBe('x');
    expect(networkConnectParams(null).container).toBe('');
  });
});
