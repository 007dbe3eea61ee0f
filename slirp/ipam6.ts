/** IPv6 address arithmetic and address management for EnableIPv6 networks; pure, like ipam.ts. */
import { createHash } from 'node:crypto';
import { isIPv6 } from 'node:net';
import { invalidParameter } from '../translate/errors.js';

export interface Cidr6 {
  base: bigint;
  prefix: number;
}

const BITS = 128n;
const hostMask = (prefix: number): bigint => (1n << (BITS - BigInt(prefix))) - 1n;

export function parseIp6(text: string): bigint {
  if (!isIPv6(text) || text.includes('.') || text.includes('%')) throw invalidParameter(`invalid IPv6 address: ${text}`);
  const [head = '', tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** RFC 5952: lower case, the longest run of two or more zero groups shortened to "::". */
export function formatIp6(n: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((n >> BigInt((7 - i) * 16)) & 0xffffn));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

export function parseCidr6(text: string): Cidr6 {
  const m = /^([0-9a-fA-F:]+)\/(\d{1,3})$/.exec(text.trim());
  if (!m || Number(m[2]) > 128) throw invalidParameter(`invalid CIDR address: ${text}`);
  const prefix = Number(m[2]);
  return { base: parseIp6(m[1]!) & ~hostMask(prefix) & ((1n << BITS) - 1n), prefix };
}

export const formatCidr6 = (c: Cidr6): string => `${formatIp6(c.base)}/${c.prefix}`;
export const contains6 = (c: Cidr6, ip: bigint): boolean => (ip & ~hostMask(c.prefix) & ((1n << BITS) - 1n)) === c.base;
export const overlaps6 = (a: Cidr6, b: Cidr6): boolean => contains6(a, b.base) || contains6(b, a.base);

/**
 * Subnets for IPv6 networks created without one: /64s of a unique local /48 (fdXX:XXXX:XXXX::/48)
 * derived from the engine id, so they are stable for an engine and unlikely to clash with another's.
 */
export function* ulaPools(engineId: string): Generator<Cidr6> {
  const h = createHash('sha256').update(`burrow-ula/${engineId}`).digest();
  const global = (BigInt(h.readUIntBE(0, 5)) << 80n) | (0xfdn << 120n);
  for (let subnet = 0n; subnet < 0x10000n; subnet++) yield { base: global | (subnet << 64n), prefix: 64 };
}

export function pickPool6(engineId: string, used: readonly Cidr6[]): Cidr6 {
  for (const pool of ulaPools(engineId)) if (!used.some((u) => overlaps6(u, pool))) return pool;
  throw invalidParameter('could not find an available, non-overlapping IPv6 address pool to assign to the network');
}

export interface SubnetConfig6 {
  subnet: Cidr6;
  gateway: bigint;
  /** --ip-range: dynamic addresses come from here; static ones may be anywhere in the subnet. */
  range: Cidr6;
  /** --aux-address values: never handed out. */
  reserved: ReadonlySet<bigint>;
}

export function subnetConfig6(subnet: string, gateway?: string, ipRange?: string, aux: readonly string[] = []): SubnetConfig6 {
  const s = parseCidr6(subnet);
  if (s.prefix > 126) throw invalidParameter(`subnet ${subnet} is too small for containers`);
  const gw = gateway ? parseIp6(gateway) : s.base + 1n;
  if (!contains6(s, gw)) throw invalidParameter(`no matching subnet for gateway ${gateway}`);
  const range = ipRange ? parseCidr6(ipRange) : s;
  if (ipRange && (!contains6(s, range.base) || range.prefix < s.prefix)) throw invalidParameter(`no matching subnet for range ${ipRange}`);
  return { subnet: s, gateway: gw, range, reserved: new Set(aux.map(parseIp6)) };
}

/**
 * The lowest free address of the range that is neither the subnet's own (the subnet-router anycast),
 * the gateway, reserved nor taken. Only the range's first 2^24 addresses are tried: a bigger range
 * never has that many containers.
 */
export function allocate6(cfg: SubnetConfig6, taken: ReadonlySet<bigint>): bigint {
  const end = cfg.range.base + hostMask(cfg.range.prefix);
  for (let ip = cfg.range.base; ip <= end && ip < cfg.range.base + 0x1000000n; ip++) {
    if (ip === cfg.subnet.base || ip === cfg.gateway || cfg.reserved.has(ip) || taken.has(ip)) continue;
    return ip;
  }
  throw invalidParameter(`no available IPv6 addresses on this network's address pools: ${formatCidr6(cfg.subnet)}`);
}

export function checkStatic6(cfg: SubnetConfig6, ip: bigint, taken: ReadonlySet<bigint>, networkName: string): void {
  if (!contains6(cfg.subnet, ip)) throw invalidParameter(`invalid endpoint settings:\nno configured subnet or ip-range contain the IP address ${formatIp6(ip)}`);
  if (ip === cfg.subnet.base || ip === cfg.gateway || cfg.reserved.has(ip) || taken.has(ip)) throw invalidParameter(`Address already in use: ${formatIp6(ip)} on network ${networkName}`);
}
