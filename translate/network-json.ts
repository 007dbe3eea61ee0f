/** Network records → the JSON dockerd serves for GET /networks, /networks/{id}, create and prune. */
import type { NetworkEndpointView, NetworkView } from '../slirp/interface.js';
import type { NetworkRecord } from '../slirp/types.js';

export type { NetworkEndpointView };

export function networkJson(net: NetworkRecord, endpoints: readonly NetworkEndpointView[]): Record<string, unknown> {
  // A user's subnet is shown as asked (no Gateway unless one was given); an allocated one with its gateway.
  const showGateway = !net.userIpam || net.userGateway !== false;
  const aux = (m: Record<string, string> | undefined): Record<string, unknown> => (m && Object.keys(m).length ? { AuxiliaryAddresses: m } : {});
  type ConfigEntry = { Subnet: string; IPRange?: string; Gateway?: string; AuxiliaryAddresses?: Record<string, string> };
  // host and none have no IPAM data: dockerd's Config is nil there. An IPv6-only network lists its IPv6 entry alone.
  const config: ConfigEntry[] | null = net.driver === 'bridge' ? [] : null;
  if (config && net.subnet) {
    config.push({ Subnet: net.subnet, ...(net.ipRange ? { IPRange: net.ipRange } : {}), ...(showGateway ? { Gateway: net.gateway } : {}), ...aux(net.auxAddresses) });
  }
  if (config && net.subnet6) {
    const showGateway6 = !net.userIpam6 || net.userGateway6 !== false;
    config.push({ Subnet: net.subnet6, ...(net.ipRange6 ? { IPRange: net.ipRange6 } : {}), ...(showGateway6 ? { Gateway: net.gateway6 } : {}), ...aux(net.auxAddresses6) });
  }
  const containers: Record<string, unknown> = {};
  for (const e of endpoints) {
    containers[e.containerId] = {
      Name: e.name,
      EndpointID: e.endpoint.endpointId,
      MacAddress: e.endpoint.mac,
      IPv4Address: e.endpoint.ip ? `${e.endpoint.ip}/${e.endpoint.prefixLen}` : '',
      IPv6Address: e.endpoint.ip6 ? `${e.endpoint.ip6}/${e.endpoint.prefixLen6}` : '',
    };
  }
  return {
    Name: net.name,
    Id: net.id,
    Created: net.created,
    Scope: 'local',
    Driver: net.driver,
    // host and none have no IPAM, so false there (as dockerd's swagger example shows); bridges unless IPv6-only.
    EnableIPv4: net.driver === 'bridge' && net.enableIPv4 !== false,
    EnableIPv6: !!net.enableIPv6,
    IPAM: { Driver: 'default', Options: net.ipamOptions, Config: config },
    Internal: net.internal,
    Attachable: net.attachable,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: containers,
    Options: net.options,
    Labels: net.labels,
  };
}

/** GET /networks/{id}: the network with the containers attached to it. */
export function networkInspectJson(view: NetworkView): Record<string, unknown> {
  return networkJson(view.network, view.endpoints);
}

/** GET /networks: since API 1.28 the list carries no attached containers (dockerd leaves the map empty). */
export function networkListJson(networks: readonly NetworkRecord[]): Record<string, unknown>[] {
  return networks.map((n) => networkJson(n, []));
}

/** POST /networks/create: Burrow's drivers never warn. */
export function networkCreateJson(net: NetworkRecord): { Id: string; Warning: string } {
  return { Id: net.id, Warning: '' };
}

/** POST /networks/prune: the removed networks' names; none is `[]`. */
export function networkPruneJson(deleted: readonly string[]): { NetworksDeleted: string[] } {
  return { NetworksDeleted: [...deleted] };
}
