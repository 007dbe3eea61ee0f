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
  const config =
    net.driver === 'bridge'
      ? [{ Subnet: net.subnet, ...(net.ipRange ? { IPRange: net.ipRange } : {}), ...(showGateway ? { Gateway: net.gateway } : {}) }]
      : null; // host and none have no IPAM data: dockerd's Config is nil there
  if (config && net.subnet6) {
    const showGateway6 = !net.userIpam6 || net.userGateway6 !== false;
    config.push({ Subnet: net.subnet6, ...(showGateway6 ? { Gateway: net.gateway6 } : {}) } as (typeof config)[number]);
  }
  const containers: Record<string, unknown> = {};
  for (const e of endpoints) {
    containers[e.containerId] = {
      Name: e.name,
      EndpointID: e.endpoint.endpointId,
      MacAddress: e.endpoint.mac,
      IPv4Address: `${e.endpoint.ip}/${e.endpoint.prefixLen}`,
      IPv6Address: e.endpoint.ip6 ? `${e.endpoint.ip6}/${e.endpoint.prefixLen6}` : '',
    };
  }
  return {
    Name: net.name,
    Id: net.id,
    Created: net.created,
    Scope: 'local',
    Driver: net.driver,
    EnableIPv4: net.driver === 'bridge',
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
