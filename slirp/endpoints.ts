/** A container's endpoints: address allocation (IPv4 and IPv6), DNS names, links, and the `ip -b` batches that plumb them. */
import { isIP } from 'node:net';
import { invalidParameter } from '../translate/errors.js';
import { BRIDGE_MTU } from './hub.js';
import { allocate, checkStatic, formatIp, macFor, parseIp, subnetConfig } from './ipam.js';
import { allocate6, checkStatic6, formatIp6, parseIp6, subnetConfig6, type SubnetConfig6 } from './ipam6.js';
import { hex, randomId } from './network-records.js';
import type { ContainerNetRecord, EndpointRecord, NetworkAttachRequest, NetworkRecord } from './types.js';

/** An endpoint link, "other:alias" or "other" (opts.ParseLink); a leading slash on the name is dropped. */
export function parseEndpointLink(raw: string): { name: string; alias: string } {
  const parts = raw.split(':');
  const name = (parts[0] ?? '').replace(/^\//, '');
  if (!name || parts.length > 2) throw invalidParameter(`bad format for links: ${raw}`);
  return { name, alias: parts[1] ? parts[1].replace(/^.*\//, '') : name };
}

/** Addresses (static or the next free ones), names and links of a container's endpoint on `net`; `peers` are the endpoints already there. */
export function allocateEndpoint(rec: ContainerNetRecord, net: NetworkRecord, req: NetworkAttachRequest, ifName: string, peers: readonly EndpointRecord[]): EndpointRecord {
  // An IPv6-only network (EnableIPv4 false) has no IPv4 subnet: its endpoints get no IPv4 address.
  const cfg = net.subnet ? subnetConfig(net.subnet, net.gateway, net.ipRange, Object.values(net.auxAddresses ?? {})) : undefined;
  let ip: number | undefined;
  if (req.ipv4) {
    if (net.predefined) throw invalidParameter('user specified IP address is supported on user defined networks only');
    if (!cfg) throw invalidParameter(`invalid endpoint settings:\nno configured subnet contains IP address ${req.ipv4}`);
    ip = parseIp(req.ipv4);
    checkStatic(cfg, ip, new Set(peers.filter((e) => e.ip).map((e) => parseIp(e.ip))), net.name);
  } else if (cfg) ip = allocate(cfg, new Set(peers.filter((e) => e.ip).map((e) => parseIp(e.ip))));
  for (const addr of req.linkLocalIps ?? []) if (isIP(addr) === 0) throw invalidParameter(`invalid link-local IP address: ${addr}`);
  let ip6: bigint | undefined;
  let cfg6: SubnetConfig6 | undefined;
  if (net.enableIPv6 && net.subnet6) {
    cfg6 = subnetConfig6(net.subnet6, net.gateway6, net.ipRange6, Object.values(net.auxAddresses6 ?? {}));
    const taken6 = new Set(peers.flatMap((e) => (e.ip6 ? [parseIp6(e.ip6)] : [])));
    if (req.ipv6) {
      if (net.predefined) throw invalidParameter('user specified IP address is supported on user defined networks only');
      ip6 = parseIp6(req.ipv6);
      checkStatic6(cfg6, ip6, taken6, net.name);
    } else ip6 = allocate6(cfg6, taken6);
  } else if (req.ipv6) throw invalidParameter(`invalid endpoint settings:\nuser specified IP address is supported only when connecting to networks with user configured subnets`);
  for (const link of req.links ?? []) parseEndpointLink(link);
  const shortId = rec.containerId.slice(0, 12);
  const aliases = net.predefined ? [] : [...new Set(req.aliases ?? [])];
  const dnsNames = net.predefined ? [] : [...new Set([rec.name, ...aliases, shortId, ...(rec.hostname && rec.hostname !== shortId ? [rec.hostname] : [])])];
  const endpointId = randomId();
  return {
    networkId: net.id,
    networkName: net.name,
    endpointId,
    ifName,
    // Named after the endpoint, new at every start: a released endpoint's hub end lingers until the
    // kernel destroys the container's netns (manager.ts release), and a restart must not collide with it.
    hostIf: `veth${endpointId.slice(0, 11)}`,
    ip: ip === undefined ? '' : formatIp(ip),
    prefixLen: cfg ? cfg.subnet.prefix : 0,
    gateway: net.gateway ?? '',
    mac: ip === undefined ? macFor6(ip6 ?? 0n) : macFor(ip),
    aliases,
    dnsNames,
    ...(req.ipv4 ? { requestedIp: req.ipv4 } : {}),
    ...(ip6 !== undefined && cfg6 ? { ip6: formatIp6(ip6), prefixLen6: cfg6.subnet.prefix, gateway6: formatIp6(cfg6.gateway) } : {}),
    ...(req.ipv6 ? { requestedIp6: req.ipv6 } : {}),
    ...(req.links?.length ? { links: [...req.links] } : {}),
    ...(req.linkLocalIps?.length ? { linkLocalIps: [...req.linkLocalIps] } : {}),
  };
}

/**
 * A locally administered MAC for an endpoint without IPv4: 02:42 and 32 bits hashed from its IPv6
 * address (its last 32 bits alone could repeat on one bridge: --ip6 may take any address of the subnet).
 */
function macFor6(ip6: bigint): string {
  return macFor(parseInt(hex(`mac/${ip6.toString(16)}`).slice(0, 8), 16));
}

/** One `ip -b` inside the container: veths are created here and their peers sent into the hub. */
export function containerBatch(eps: readonly EndpointRecord[], defaultRoutes: { v4: boolean; v6: boolean }, hubNsPath: string, canPublish: (e: EndpointRecord) => boolean): string {
  let out = 'link set lo up\n';
  for (const e of eps) {
    out += `link add ${e.ifName} mtu ${BRIDGE_MTU} address ${e.mac} type veth peer name ${e.hostIf} netns ${hubNsPath}\n`;
    if (e.ip) out += `addr add ${e.ip}/${e.prefixLen} dev ${e.ifName}\n`;
    out += `link set ${e.ifName} up\n`;
    if (e.ip6) out += `addr add ${e.ip6}/${e.prefixLen6} dev ${e.ifName} nodad\n`;
    // libnetwork gives link-local addresses a /16 (IPv4) or /64 (IPv6) on the endpoint's interface.
    for (const ll of e.linkLocalIps ?? []) out += `addr add ${ll}/${isIP(ll) === 6 ? 64 : 16} dev ${e.ifName}\n`;
  }
  const gw = eps.find((e) => canPublish(e) && e.gateway);
  if (defaultRoutes.v4 && gw) out += `route add default via ${gw.gateway}\n`;
  const gw6 = eps.find((e) => canPublish(e) && e.gateway6);
  if (defaultRoutes.v6 && gw6) out += `route add default via ${gw6.gateway6}\n`;
  return out;
}

/** In the hub: each veth peer joins its network's bridge. */
export function hubBatch(eps: readonly EndpointRecord[], bridgeOf: (networkId: string) => string): string {
  return eps.map((e) => `link set ${e.hostIf} mtu ${BRIDGE_MTU} master ${bridgeOf(e.networkId)} up\n`).join('');
}
