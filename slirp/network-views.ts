/** Views of the network state for others: the DNS tables the hub agent serves, and a container's NetworkSettings and resolver files. */
import type { DnsNetwork } from './agent-protocol.js';
import { hostsFile, parseExtraHost, resolvConf, upstreamResolvers, type HostResolv } from './container-files.js';
import { parseEndpointLink } from './endpoints.js';
import type { ContainerNetRecord, ContainerNetworkSettings, EndpointSettings, NetworkRecord, PortMap, PreparedNetwork } from './types.js';

/** The hub agent's DNS tables: one per user network with containers on it (their bridges exist in the hub). */
export function dnsTables(networks: ReadonlyMap<string, NetworkRecord>, containers: ReadonlyMap<string, ContainerNetRecord>): DnsNetwork[] {
  const tables = new Map<string, DnsNetwork>();
  for (const net of networks.values()) {
    if (net.predefined || net.driver !== 'bridge') continue;
    // An IPv6-only network's resolver listens on its IPv6 gateway.
    tables.set(net.id, { address: net.gateway ?? net.gateway6!, records: {}, forward: !net.internal });
  }
  for (const c of containers.values()) {
    for (const e of c.endpoints) {
      const t = tables.get(e.networkId);
      if (!t) continue;
      // A name with an empty A list is still known, so its AAAA question is answered from records6.
      for (const name of e.dnsNames) (t.records[name.toLowerCase()] ??= []).push(...(e.ip ? [e.ip] : []));
      if (e.ip6) for (const name of e.dnsNames) ((t.records6 ??= {})[name.toLowerCase()] ??= []).push(e.ip6);
      for (const raw of e.links ?? []) {
        const link = parseEndpointLink(raw);
        const target = linkTarget(containers, link.name, e.networkId);
        if (target) ((t.links ??= {})[e.ip] ??= {})[link.alias.toLowerCase()] = [target];
      }
    }
  }
  const used = new Set([...containers.values()].flatMap((c) => c.endpoints.map((e) => e.networkId)));
  return [...tables.entries()].filter(([id]) => used.has(id)).map(([, t]) => t);
}

/** The address on `networkId` of the running container a link names (by name or id), if any. */
function linkTarget(containers: ReadonlyMap<string, ContainerNetRecord>, ref: string, networkId: string): string | undefined {
  for (const c of containers.values()) {
    if (c.name !== ref && c.containerId !== ref) continue;
    return c.endpoints.find((e) => e.networkId === networkId)?.ip || undefined;
  }
  return undefined;
}

/** What the container code gets: NetworkSettings in dockerd's shape, and /etc/hosts and resolv.conf contents. */
export function preparedNetwork(rec: ContainerNetRecord, nets: ReadonlyMap<string, NetworkRecord>, hostResolv: HostResolv, uplinkGateway: string | undefined): PreparedNetwork {
  const networks: Record<string, EndpointSettings> = {};
  for (const e of rec.endpoints) {
    const net = nets.get(e.networkId);
    networks[net?.name ?? e.networkName] = {
      IPAMConfig:
        e.requestedIp || e.requestedIp6 || e.linkLocalIps?.length
          ? {
              ...(e.requestedIp ? { IPv4Address: e.requestedIp } : {}),
              ...(e.requestedIp6 ? { IPv6Address: e.requestedIp6 } : {}),
              ...(e.linkLocalIps?.length ? { LinkLocalIPs: e.linkLocalIps } : {}),
            }
          : null,
      Links: e.links?.length ? e.links : null,
      Aliases: net?.predefined ? null : e.aliases,
      MacAddress: e.mac,
      DriverOpts: null,
      GwPriority: 0,
      NetworkID: e.networkId,
      EndpointID: e.endpointId,
      Gateway: net?.internal ? '' : e.gateway,
      IPAddress: e.ip,
      IPPrefixLen: e.prefixLen,
      IPv6Gateway: e.gateway6 && !net?.internal ? e.gateway6 : '',
      GlobalIPv6Address: e.ip6 ?? '',
      GlobalIPv6PrefixLen: e.prefixLen6 ?? 0,
      DNSNames: net?.predefined ? null : e.dnsNames,
    };
  }
  const ports: PortMap = {};
  for (const key of rec.exposed) ports[key.includes('/') ? key : `${key}/tcp`] = null;
  for (const p of rec.ports) {
    const key = `${p.containerPort}/${p.proto}`;
    (ports[key] ??= []).push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
  }
  const settings: ContainerNetworkSettings = { Networks: networks, Ports: ports };
  const gateway = uplinkGateway;
  const extra = rec.extraHosts.map((h) => parseExtraHost(h, gateway));
  const first = rec.endpoints[0];
  const userNet = rec.endpoints.find((e) => !nets.get(e.networkId)?.predefined);
  // An IPv6-only endpoint asks the network's IPv6 gateway (where its resolver will listen).
  const dnsServer = userNet ? userNet.gateway || userNet.gateway6 : undefined;
  return {
    netnsPath: rec.netnsPath,
    settings,
    hostsFile: hostsFile({ hostname: rec.hostname, ...(first?.ip ? { ip: first.ip } : {}), ...(first?.ip6 ? { ip6: first.ip6 } : {}), extraHosts: extra }),
    resolvConf: resolvConf(hostResolv, { ...(dnsServer ? { dnsServer } : {}), upstreams: upstreamResolvers(hostResolv, gateway) }),
  };
}
