/** IPv4 address arithmetic and dockerd-style address management; pure, so the API and the data path agree. */
import { invalidParameter } from '../translate/errors.js';

export interface Cidr {
  /** Network address as an unsigned 32-bit number. */
  base: number;
  prefix: number;
}

export function parseIp(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) throw invalidParameter(`invalid IP address: ${text}`);
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function formatIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

const mask = (prefix: number): number => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);

export function parseCidr(text: string): Cidr {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(text.trim());
  if (!m || Number(m[2]) > 32) throw invalidParameter(`invalid CIDR address: ${text}`);
  const prefix = Number(m[2]);
  const ip = parseIp(m[1]!);
  return { base: (ip & mask(prefix)) >>> 0, prefix };
}

export const formatCidr = (c: Cidr): string => `${formatIp(c.base)}/${c.prefix}`;
export const cidrSize = (c: Cidr): number => 2 ** (32 - c.prefix);
export const contains = (c: Cidr, ip: number): boolean => ((ip & mask(c.prefix)) >>> 0) === c.base;
export const overlaps = (a: Cidr, b: Cidr): boolean => contains(a, b.base) || contains(b, a.base);

/** dockerd's local default pools: 172.17-31.0.0/16, then 192.168.0-240.0/20; the first free one wins. */
export function* defaultPools(): Generator<Cidr> {
  for (let i = 17; i <= 31; i++) yield { base: parseIp(`172.${i}.0.0`), prefix: 16 };
  for (let i = 0; i <= 240; i += 16) yield { base: parseIp(`192.168.${i}.0`), prefix: 20 };
}

export function pickPool(used: readonly Cidr[], avoid: readonly Cidr[] = []): Cidr {
  for (const pool of defaultPools()) {
    if (!used.some((u) => overlaps(u, pool)) && !avoid.some((a) => overlaps(a, pool))) return pool;
  }
  throw invalidParameter('could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
}

export interface SubnetConfig {
  subnet: Cidr;
  gateway: number;
  /** Dynamic allocations come from here; static addresses may be anywhere in the subnet. */
  range: Cidr;
  /** --aux-address values: never handed out. */
  reserved: ReadonlySet<number>;
}

export function subnetConfig(subnet: string, gateway?: string, ipRange?: string, aux: readonly string[] = []): SubnetConfig {
  const s = parseCidr(subnet);
  if (s.prefix > 30) throw invalidParameter(`subnet ${subnet} is too small for containers`);
  const gw = gateway ? parseIp(gateway) : s.base + 1;
  if (!contains(s, gw)) throw invalidParameter(`no matching subnet for gateway ${gateway}`);
  const range = ipRange ? parseCidr(ipRange) : s;
  if (ipRange && (!contains(s, range.base) || range.prefix < s.prefix)) throw invalidParameter(`no matching subnet for range ${ipRange}`);
  return { subnet: s, gateway: gw, range, reserved: new Set(aux.map(parseIp)) };
}

/** The lowest free host address in the range: neither network, broadcast, gateway nor taken. */
export function allocate(cfg: SubnetConfig, taken: ReadonlySet<number>): number {
  const last = cfg.subnet.base + cidrSize(cfg.subnet) - 1;
  const end = cfg.range.base + cidrSize(cfg.range);
  for (let ip = cfg.range.base; ip < end; ip++) {
    if (ip === cfg.subnet.base || ip === last || ip === cfg.gateway || cfg.reserved.has(ip) || taken.has(ip)) continue;
    return ip;
  }
  throw invalidParameter(`no available IPv4 addresses on this network's address pools: ${formatCidr(cfg.subnet)}`);
}

export function checkStatic(cfg: SubnetConfig, ip: number, taken: ReadonlySet<number>, networkName: string): void {
  const last = cfg.subnet.base + cidrSize(cfg.subnet) - 1;
  if (!contains(cfg.subnet, ip)) throw invalidParameter(`invalid endpoint settings:\nno configured subnet or ip-range contain the IP address ${formatIp(ip)}`);
  if (ip === cfg.subnet.base || ip === last || ip === cfg.gateway || cfg.reserved.has(ip) || taken.has(ip)) {
    throw invalidParameter(`Address already in use: ${formatIp(ip)} on network ${networkName}`);
  }
}

/** dockerd's classic MAC: 02:42 followed by the IPv4 address, stable across restarts. */
export function macFor(ip: number): string {
  return ['02', '42', ...[24, 16, 8, 0].map((s) => (Math.floor(ip / 2 ** s) % 256).toString(16).padStart(2, '0'))].join(':');
}
