/** Network records → the JSON dockerd serves for GET /networks and /networks/{id}. */
import type { EndpointRecord, NetworkRecord } from '../slirp/types.js';

export interface NetworkEndpointView {
  containerId: string;
  name: string;
  endpoint: EndpointRecord;
}

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
