/**
 * Network records: the pre-defined ones, and a new user network from a create request (dockerd's
 * name rules, one IPv4 and optionally one IPv6 subnet, allocated from the default pools unless given).
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { conflict, forbidden, invalidParameter } from '../translate/errors.js';
import { BRIDGE_MTU } from './hub.js';
import { formatCidr, formatIp, parseCidr, pickPool, subnetConfig, type Cidr, type SubnetConfig } from './ipam.js';
import { formatCidr6, formatIp6, overlaps6, parseCidr6, pickPool6, subnetConfig6, type SubnetConfig6 } from './ipam6.js';
import { validateIpam, type IpamConfigEntry } from './ipam-validate.js';
import type { NetworkRecord } from './types.js';

export interface CreateNetworkSpec {
  name: string;
  driver?: string;
  internal?: boolean;
  attachable?: boolean;
  enableIPv6?: boolean;
  /** API 1.48's EnableIPv4 (or the com.docker.network.enable_ipv4 option); absent means true. */
  enableIPv4?: boolean;
  labels?: Record<string, string>;
  options?: Record<string, string>;
  ipam?: { driver?: string; options?: Record<string, string>; config?: IpamConfigEntry[] };
}

/** dockerd's runconfig.IsPreDefinedNetwork: names a create is refused with 403. */
const PREDEFINED_NAMES: ReadonlySet<string> = new Set(['bridge', 'host', 'none', 'default', 'ingress']);

export const hex = (s: string): string => createHash('sha256').update(s).digest('hex');
export const randomId = (): string => randomBytes(32).toString('hex');
export const nowRfc3339 = (): string => new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');

const DEFAULT_BRIDGE_OPTIONS: Record<string, string> = {
  'com.docker.network.bridge.default_bridge': 'true',
  'com.docker.network.bridge.enable_icc': 'true',
  'com.docker.network.bridge.enable_ip_masquerade': 'true',
  'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
  'com.docker.network.bridge.name': 'docker0',
  'com.docker.network.driver.mtu': String(BRIDGE_MTU),
};

/** Host routes (other than the default) that a new pool must not shadow: pasta copies them into the hub. */
async function hostRoutes(): Promise<Cidr[]> {
  const text = await readFile('/proc/net/route', 'utf8').catch(() => '');
  const out: Cidr[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || f[1] === '00000000') continue;
    const le = (h: string): number => Buffer.from(h, 'hex').readUInt32LE(0);
    const dest = le(f[1]!);
    const maskBits = le(f[7]!).toString(2).replace(/0/g, '').length;
    out.push({ base: dest >>> 0, prefix: maskBits });
  }
  return out;
}

/** bridge, host or none, with the id the engine derives for it. */
export function predefinedRecord(id: string, name: 'bridge' | 'host' | 'none'): NetworkRecord {
  return {
    id,
    name,
    created: nowRfc3339(),
    driver: name === 'bridge' ? 'bridge' : name === 'host' ? 'host' : 'null',
    internal: false,
    attachable: false,
    labels: {},
    options: name === 'bridge' ? { ...DEFAULT_BRIDGE_OPTIONS } : {},
    ipamOptions: null,
    predefined: true,
    userIpam: false,
    ...(name === 'bridge' ? { subnet: '172.17.0.0/16', gateway: '172.17.0.1', bridge: `br-${id.slice(0, 12)}` } : {}),
  };
}

/** EnableIPv4 wins over the driver option; dockerd parses the option as a Go bool. */
function enableIPv4Of(spec: CreateNetworkSpec): boolean {
  if (spec.enableIPv4 !== undefined) return spec.enableIPv4;
  const opt = spec.options?.['com.docker.network.enable_ipv4'];
  if (opt === undefined) return true;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(opt)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(opt)) return false;
  throw invalidParameter(`invalid value for com.docker.network.enable_ipv4: ${opt}`);
}

/** The daemon's --ipv6 and --fixed-cidr-v6: IPv6 on the default bridge. */
export interface DefaultBridgeIPv6 {
  enabled: boolean;
  /** The bridge's IPv6 subnet; without it a ULA /64 of the engine's prefix. */
  fixedCidr6?: string;
}

/**
 * The default bridge record with the IPv6 the options ask for; `bridge` itself when it already has
 * exactly that (an allocated ULA subnet is kept across restarts, as long as --ipv6 stays).
 */
export function defaultBridgeIPv6(bridge: NetworkRecord, opts: DefaultBridgeIPv6, others: readonly NetworkRecord[], engineId: string): NetworkRecord {
  const { enableIPv6: _e, subnet6: _s, gateway6: _g, userIpam6: _u, userGateway6: _ug, ...base } = bridge;
  if (!opts.enabled) return bridge.enableIPv6 ? base : bridge;
  const used6 = others.filter((n) => n.subnet6).map((n) => parseCidr6(n.subnet6!));
  let cfg6: SubnetConfig6;
  if (opts.fixedCidr6) {
    cfg6 = subnetConfig6(opts.fixedCidr6);
    if (used6.some((u) => overlaps6(u, cfg6.subnet))) throw forbidden(`Error creating default "bridge" network: invalid pool request: Pool overlaps with other one on this address space`);
  } else if (bridge.enableIPv6 && bridge.subnet6 && !bridge.userIpam6) {
    return bridge;
  } else cfg6 = subnetConfig6(formatCidr6(pickPool6(engineId, used6)));
  const subnet6 = formatCidr6(cfg6.subnet);
  const userIpam6 = !!opts.fixedCidr6;
  if (bridge.enableIPv6 && bridge.subnet6 === subnet6 && !!bridge.userIpam6 === userIpam6) return bridge;
  return { ...base, enableIPv6: true, subnet6, gateway6: formatIp6(cfg6.gateway), userIpam6 };
}

/** Validates a create request against the networks that exist and builds the new network's record. */
export async function newNetworkRecord(spec: CreateNetworkSpec, existing: readonly NetworkRecord[], engineId: string): Promise<NetworkRecord> {
    // dockerd takes any name that is not blank, as given (spaces included, none trimmed); bridges are
    // named after the id, so the name never reaches a kernel interface or a path.
    const name = spec.name ?? '';
    if (!name.trim()) throw invalidParameter('network name must not be empty');
    if (PREDEFINED_NAMES.has(name)) throw forbidden(`${name} is a pre-defined network and cannot be created`);
    // Since API 1.44 (Engine 25) names are unique for every API version: CheckDuplicate no longer matters.
    if (existing.some((n) => n.name === name)) throw conflict(`network with name ${name} already exists`);
    const driver = spec.driver || 'bridge';
    if (driver !== 'bridge') throw invalidParameter(`network driver "${driver}" is not supported by this rootless engine (only "bridge")`);
    if (spec.ipam?.driver && spec.ipam.driver !== 'default') throw invalidParameter(`IPAM driver "${spec.ipam.driver}" is not supported (only "default")`);
    const enableIPv4 = enableIPv4Of(spec);
    if (!enableIPv4 && !spec.enableIPv6) throw invalidParameter('IPv4 or IPv6 must be enabled');
    const all = (spec.ipam?.config ?? []).filter((c) => c.subnet || c.gateway || c.ipRange || Object.keys(c.auxAddresses ?? {}).length);
    validateIpam(all, !!spec.enableIPv6);
    const isV6 = (c: IpamConfigEntry): boolean => (c.subnet ?? c.gateway ?? c.ipRange ?? Object.values(c.auxAddresses ?? {})[0] ?? '').includes(':');
    // dockerd drops the config of a disabled family (libnetwork only asks IPAM for enabled ones).
    const configs = enableIPv4 ? all.filter((c) => !isV6(c)) : [];
    const configs6 = all.filter(isV6);
    if (configs6.length && !spec.enableIPv6) throw invalidParameter('an IPv6 subnet needs an IPv6 network: create it with --ipv6 (EnableIPv6)');
    if (configs.length > 1 || configs6.length > 1) throw invalidParameter('only one IPv4 and one IPv6 subnet per network are supported');
    const c6 = configs6[0];
    const aux6 = Object.values(c6?.auxAddresses ?? {});
    let cfg6: SubnetConfig6 | undefined;
    if (spec.enableIPv6) {
      const used6 = existing.filter((n) => n.subnet6).map((n) => parseCidr6(n.subnet6!));
      if (c6?.subnet) {
        cfg6 = subnetConfig6(c6.subnet, c6.gateway, c6.ipRange, aux6);
        if (used6.some((u) => overlaps6(u, cfg6!.subnet))) throw forbidden('invalid pool request: Pool overlaps with other one on this address space');
      } else {
        if (c6?.gateway || c6?.ipRange || aux6.length) throw invalidParameter('a gateway or ip-range needs a subnet');
        cfg6 = subnetConfig6(formatCidr6(pickPool6(engineId, used6)));
      }
    }
    const c = configs[0];
    const aux = Object.values(c?.auxAddresses ?? {});
    let cfg: SubnetConfig | undefined;
    if (enableIPv4) {
      const used = existing.filter((n) => n.subnet).map((n) => parseCidr(n.subnet!));
      if (c?.subnet) {
        cfg = subnetConfig(c.subnet, c.gateway, c.ipRange, aux);
        const s = cfg.subnet;
        if (used.some((u) => u.base <= s.base + 2 ** (32 - s.prefix) - 1 && s.base <= u.base + 2 ** (32 - u.prefix) - 1)) {
          throw forbidden('invalid pool request: Pool overlaps with other one on this address space');
        }
      } else {
        if (c?.gateway || c?.ipRange || aux.length) throw invalidParameter('a gateway or ip-range needs a subnet');
        cfg = subnetConfig(formatCidr(pickPool(used, await hostRoutes())));
      }
    }
    const id = randomId();
    const rec: NetworkRecord = {
      id,
      name,
      created: nowRfc3339(),
      driver: 'bridge',
      internal: !!spec.internal,
      attachable: !!spec.attachable,
      labels: { ...(spec.labels ?? {}) },
      options: { ...(spec.options ?? {}) },
      ipamOptions: spec.ipam?.options ?? null,
      ...(cfg
        ? { subnet: formatCidr(cfg.subnet), gateway: formatIp(cfg.gateway), ...(c?.ipRange ? { ipRange: formatCidr(cfg.range) } : {}) }
        : { enableIPv4: false }),
      ...(aux.length ? { auxAddresses: { ...c!.auxAddresses } } : {}),
      bridge: `br-${id.slice(0, 12)}`,
      predefined: false,
      userIpam: !!c?.subnet,
      userGateway: !!c?.gateway,
      ...(cfg6
        ? {
            enableIPv6: true,
            subnet6: formatCidr6(cfg6.subnet),
            gateway6: formatIp6(cfg6.gateway),
            userIpam6: !!c6?.subnet,
            userGateway6: !!c6?.gateway,
            ...(c6?.ipRange ? { ipRange6: formatCidr6(cfg6.range) } : {}),
            ...(aux6.length ? { auxAddresses6: { ...c6!.auxAddresses } } : {}),
          }
        : {}),
    };
  return rec;
}
