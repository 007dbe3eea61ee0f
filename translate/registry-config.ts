/**
 * Burrow's config file (~/.config/burrow/config.json), the registry part: `insecure-registries` and
 * `registry-mirrors` with daemon.json's names and meaning. Pure: parsing, validation, host matching.
 */
import { isIP } from 'node:net';

export interface RegistrySettings {
  /** "host:port", "host" or a CIDR like "10.0.0.0/8": HTTPS without certificate checks, plain HTTP when TLS is not spoken. */
  insecureRegistries: string[];
  /** Base URLs tried before Docker Hub for docker.io pulls, e.g. "https://mirror.example". */
  registryMirrors: string[];
}

export const EMPTY_REGISTRY_SETTINGS: RegistrySettings = { insecureRegistries: [], registryMirrors: [] };

const stringList = (v: unknown, key: string): string[] => {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x.trim() === '')) throw new Error(`"${key}" must be a list of non-empty strings`);
  return (v as string[]).map((x) => x.trim());
};

/** Unknown keys are left for other parts of the config; a wrong type in ours is an error, as dockerd refuses a bad daemon.json. */
export function parseRegistrySettings(text: string): RegistrySettings {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`invalid JSON: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('the config must be a JSON object');
  const o = parsed as Record<string, unknown>;
  const insecureRegistries = stringList(o['insecure-registries'], 'insecure-registries').map((e) => e.replace(/^https?:\/\//, '').replace(/\/+$/, ''));
  const registryMirrors = stringList(o['registry-mirrors'], 'registry-mirrors').map((m) => {
    let url: URL;
    try {
      url = new URL(m);
    } catch {
      throw new Error(`invalid mirror "${m}": not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`invalid mirror "${m}": must be http:// or https://`);
    if (url.pathname !== '/' && url.pathname !== '') throw new Error(`invalid mirror "${m}": a path is not supported`);
    return `${url.protocol}//${url.host}`;
  });
  return { insecureRegistries, registryMirrors };
}

const isCidr = (e: string): boolean => /^[0-9a-fA-F:.]+\/\d{1,3}$/.test(e);

/** CIDR entries (reported as InsecureRegistryCIDRs) and host entries (IndexConfigs) as /info splits them. */
export function splitInsecure(entries: readonly string[]): { cidrs: string[]; hosts: string[] } {
  return { cidrs: entries.filter(isCidr), hosts: entries.filter((e) => !isCidr(e)) };
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((n, p) => (n << 8) + Number(p), 0) >>> 0;
}

function ipv6ToBigInt(ip: string): bigint {
  const [head, tail] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((n, g) => (n << 16n) + BigInt(parseInt(g || '0', 16)), 0n);
}

export function cidrContains(cidr: string, ip: string): boolean {
  const [net, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  const family = isIP(net);
  if (family === 0 || family !== isIP(ip)) return false;
  if (family === 4) {
    if (bits > 32) return false;
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
    return (ipv4ToInt(net) & mask) === (ipv4ToInt(ip) & mask);
  }
  if (bits > 128) return false;
  const shift = BigInt(128 - bits);
  return ipv6ToBigInt(net) >> shift === ipv6ToBigInt(ip) >> shift;
}

/** Is a registry domain ("host", "host:port", "[::1]:5000") listed as insecure, by name or by address range? */
export function isListedInsecure(domain: string, entries: readonly string[]): boolean {
  const host = domain.startsWith('[') ? domain.slice(1, domain.indexOf(']')) : domain.replace(/:\d+$/, '');
  for (const e of entries) {
    if (isCidr(e)) {
      if (cidrContains(e, host)) return true;
    } else if (e === domain || e === host) return true;
  }
  return false;
}

/** /info's RegistryConfig as dockerd builds it from the same settings (mirrors shown with a trailing slash). */
export function registryConfigInfo(settings: RegistrySettings): Record<string, unknown> {
  const { cidrs, hosts } = splitInsecure(settings.insecureRegistries);
  const mirrors = settings.registryMirrors.map((m) => `${m}/`);
  const indexConfigs: Record<string, unknown> = {};
  for (const h of hosts) indexConfigs[h] = { Name: h, Mirrors: [], Secure: false, Official: false };
  indexConfigs['docker.io'] = { Name: 'docker.io', Mirrors: mirrors, Secure: true, Official: true };
  return { InsecureRegistryCIDRs: ['::1/128', '127.0.0.0/8', ...cidrs], IndexConfigs: indexConfigs, Mirrors: mirrors };
}
