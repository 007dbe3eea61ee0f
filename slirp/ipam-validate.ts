/**
 * dockerd's checks of a create request's IPAM config (api/types/network ValidateIPAM): every problem
 * of every entry, joined under "invalid network config:". IPv6 entries are only checked on an
 * EnableIPv6 network, as there. Pure, so unit tests pin the wording.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { invalidParameter } from '../translate/errors.js';
import { contains, formatIp, parseCidr, parseIp } from './ipam.js';
import { contains6, formatIp6, parseCidr6, parseIp6 } from './ipam6.js';

export interface IpamConfigEntry {
  subnet?: string;
  gateway?: string;
  ipRange?: string;
  auxAddresses?: Record<string, string>;
}

type Family = 'IPv4' | 'IPv6';

interface Prefix {
  family: Family;
  /** The address as written and its bits. */
  addr: string;
  bits: number;
  /** Canonical masked form, as Go's netip.Prefix.Masked() prints it. */
  masked: string;
  within: (ip: string) => boolean;
}

function parsePrefix(text: string): Prefix | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const [addr, bits] = [m[1]!, Number(m[2])];
  if (isIPv4(addr) && bits <= 32) {
    const c = parseCidr(text);
    return { family: 'IPv4', addr, bits, masked: `${formatIp(c.base)}/${bits}`, within: (ip) => isIPv4(ip) && contains(c, parseIp(ip)) };
  }
  if (isIPv6(addr) && !addr.includes('.') && bits <= 128) {
    const c = parseCidr6(text);
    return { family: 'IPv6', addr, bits, masked: `${formatIp6(c.base)}/${bits}`, within: (ip) => isIPv6(ip) && !ip.includes('.') && contains6(c, parseIp6(ip)) };
  }
  return undefined;
}

/** Go prints a prefix with the address as given (lower-cased, compressed) and its bits. */
const shown = (p: Prefix): string => `${p.family === 'IPv6' ? formatIp6(parseIp6(p.addr)) : p.addr}/${p.bits}`;

function addressError(address: string | undefined, subnet: Prefix): string | undefined {
  if (!address) return undefined;
  const family: Family | undefined = isIPv4(address) ? 'IPv4' : isIPv6(address) && !address.includes('%') ? 'IPv6' : undefined;
  if (!family) return 'invalid address';
  if (family !== subnet.family) return `parent subnet is an ${subnet.family} block`;
  if (!subnet.within(address)) return `parent subnet ${shown(subnet)} doesn't contain this address`;
  return undefined;
}

function rangeErrors(ipRange: string | undefined, subnet: Prefix): string[] {
  if (!ipRange) return [];
  const r = parsePrefix(ipRange);
  if (!r) return [`invalid ip-range ${ipRange}: invalid CIDR block notation`];
  if (r.family !== subnet.family) return [`invalid ip-range ${ipRange}: parent subnet is an ${subnet.family} block`];
  const errs: string[] = [];
  if (r.bits < subnet.bits) errs.push(`invalid ip-range ${ipRange}: CIDR block is bigger than its parent subnet ${shown(subnet)}`);
  if (shown(r) !== r.masked) errs.push(`invalid ip-range ${shown(r)}: it should be ${r.masked}`);
  // Overlap of two prefixes: the shorter one contains the other's base.
  const overlaps = r.bits >= subnet.bits ? subnet.within(r.masked.split('/')[0]!) : r.within(subnet.masked.split('/')[0]!);
  if (!overlaps) errs.push(`invalid ip-range ${ipRange}: parent subnet ${shown(subnet)} doesn't contain ip-range`);
  return errs;
}

/** Throws dockerd's 400 listing every problem; entries without a subnet are left to the allocator. */
export function validateIpam(configs: readonly IpamConfigEntry[], enableIPv6: boolean): void {
  const errs: string[] = [];
  for (const cfg of configs) {
    if (!cfg.subnet) continue;
    const subnet = parsePrefix(cfg.subnet);
    if (!subnet) {
      errs.push(`invalid subnet ${cfg.subnet}: invalid CIDR block notation`);
      continue;
    }
    if (!enableIPv6 && subnet.family === 'IPv6') continue;
    if (shown(subnet) !== subnet.masked) errs.push(`invalid subnet ${shown(subnet)}: it should be ${subnet.masked}`);
    errs.push(...rangeErrors(cfg.ipRange, subnet));
    const gw = addressError(cfg.gateway, subnet);
    if (gw) errs.push(`invalid gateway ${cfg.gateway}: ${gw}`);
    for (const [name, aux] of Object.entries(cfg.auxAddresses ?? {})) {
      const e = addressError(aux, subnet);
      if (e) errs.push(`invalid auxiliary address ${name}: ${e}`);
    }
  }
  if (errs.length) throw invalidParameter(`invalid network config:\n${errs.join('\n')}`);
}
