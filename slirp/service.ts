/** The network API's service: parses request bodies and filters, delegates to NetworkManager. */
import type { NetworkService, ContainerLookup } from '../api/services.js';
import { invalidParameter, notFound } from '../translate/errors.js';
import { labelMatches, parseFilters } from '../translate/filters.js';
import { networkJson } from '../translate/network-json.js';
import type { CreateNetworkSpec, NetworkManager } from './manager.js';
import type { NetworkRecord } from './types.js';

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const strMap = (v: unknown): Record<string, string> =>
  isObject(v) ? Object.fromEntries(Object.entries(v).filter(([, x]) => typeof x === 'string') as [string, string][]) : {};

function createSpec(body: unknown): CreateNetworkSpec {
  if (!isObject(body)) throw invalidParameter('invalid JSON: the request body must be a network configuration object');
  const ipam = isObject(body.IPAM) ? body.IPAM : undefined;
  const configs = Array.isArray(ipam?.Config) ? ipam.Config.filter(isObject) : [];
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  return {
    name: typeof body.Name === 'string' ? body.Name : '',
    ...(str(body.Driver) ? { driver: str(body.Driver)! } : {}),
    internal: body.Internal === true,
    attachable: body.Attachable === true,
    enableIPv6: body.EnableIPv6 === true,
    ...(typeof body.EnableIPv4 === 'boolean' ? { enableIPv4: body.EnableIPv4 } : {}),
    labels: strMap(body.Labels),
    options: strMap(body.Options),
    ...(ipam
      ? {
          ipam: {
            ...(str(ipam.Driver) ? { driver: str(ipam.Driver)! } : {}),
            // Absent stays absent: inspect shows IPAM.Options null then, as dockerd stores nil.
            ...(isObject(ipam.Options) ? { options: strMap(ipam.Options) } : {}),
            config: configs.map((c) => ({
              ...(str(c.Subnet) ? { subnet: str(c.Subnet)! } : {}),
              ...(str(c.Gateway) ? { gateway: str(c.Gateway)! } : {}),
              ...(str(c.IPRange) ? { ipRange: str(c.IPRange)! } : {}),
              ...(isObject(c.AuxiliaryAddresses) && Object.keys(c.AuxiliaryAddresses).length ? { auxAddresses: strMap(c.AuxiliaryAddresses) } : {}),
            })),
          },
        }
      : {}),
  };
}

export class EngineNetworkService implements NetworkService {
  private containers: ContainerLookup | undefined;

  constructor(readonly manager: NetworkManager) {}

  /** The container code registers how to find containers by id or name (connect/disconnect). */
  setContainerLookup(lookup: ContainerLookup): void {
    this.containers = lookup;
  }

  private json(net: NetworkRecord): Record<string, unknown> {
    return networkJson(net, this.manager.endpointsOf(net.id));
  }

  async list(filters?: string): Promise<Record<string, unknown>[]> {
    const f = parseFilters(filters, ['driver', 'id', 'label', 'name', 'scope', 'type', 'dangling']);
    const dangling = f.get('dangling');
    if (dangling && dangling.some((d) => !['true', 'false', '1', '0'].includes(d))) throw invalidParameter(`invalid filter 'dangling=${dangling.join(',')}'`);
    return this.manager
      .list()
      .filter((n) => {
        const any = (key: string, test: (v: string) => boolean): boolean => !f.has(key) || f.get(key)!.some(test);
        const used = this.manager.endpointsOf(n.id).length > 0;
        return (
          any('driver', (v) => v === n.driver) &&
          any('id', (v) => n.id.includes(v)) &&
          any('name', (v) => n.name.includes(v)) &&
          any('scope', (v) => v === 'local') &&
          any('type', (v) => (v === 'builtin' ? n.predefined : v === 'custom' ? !n.predefined : false)) &&
          (f.get('label') ?? []).every((l) => labelMatches(n.labels, l)) &&
          // dangling: not predefined and no containers, as dockerd defines it.
          any('dangling', (v) => (['true', '1'].includes(v) ? !n.predefined && !used : n.predefined || used))
        );
      })
      // Since API 1.28 the list carries no attached containers (dockerd leaves the map empty).
      .map((n) => networkJson(n, []));
  }

  async inspect(ref: string): Promise<Record<string, unknown>> {
    return this.json(this.manager.get(ref));
  }

  async create(body: unknown): Promise<{ Id: string; Warning: string }> {
    const net = await this.manager.createNetwork(createSpec(body));
    return { Id: net.id, Warning: '' };
  }

  async remove(ref: string): Promise<void> {
    await this.manager.removeNetwork(ref);
  }

  private async container(ref: unknown): Promise<{ id: string; name: string; running: boolean }> {
    if (typeof ref !== 'string' || !ref) throw invalidParameter('container is required');
    const found = await this.containers?.lookup(ref);
    if (!found) throw notFound(`No such container: ${ref}`);
    return found;
  }

  async connect(ref: string, body: unknown): Promise<void> {
    const net = this.manager.get(ref);
    const b = isObject(body) ? body : {};
    const c = await this.container(b.Container);
    const cfg = isObject(b.EndpointConfig) ? b.EndpointConfig : {};
    const ipam = isObject(cfg.IPAMConfig) ? cfg.IPAMConfig : {};
    const aliases = Array.isArray(cfg.Aliases) ? cfg.Aliases.filter((a): a is string => typeof a === 'string') : [];
    const ipv4 = typeof ipam.IPv4Address === 'string' && ipam.IPv4Address ? ipam.IPv4Address : undefined;
    const ipv6 = typeof ipam.IPv6Address === 'string' && ipam.IPv6Address ? ipam.IPv6Address : undefined;
    const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x !== '') : []);
    const links = strings(cfg.Links);
    const linkLocalIps = strings(ipam.LinkLocalIPs);
    const req = { name: net.name, aliases, ...(ipv4 ? { ipv4 } : {}), ...(ipv6 ? { ipv6 } : {}), ...(links.length ? { links } : {}), ...(linkLocalIps.length ? { linkLocalIps } : {}) };
    if (c.running && this.manager.netnsPathOf(c.id)) await this.manager.connect(c.id, req);
    await this.containers?.connected?.(c.id, net, req);
  }

  async disconnect(ref: string, body: unknown): Promise<void> {
    const net = this.manager.get(ref);
    const b = isObject(body) ? body : {};
    const c = await this.container(b.Container);
    const live = this.manager.endpointsOf(net.id).some((e) => e.containerId === c.id);
    if (live) await this.manager.disconnect(c.id, net.id);
    await this.containers?.disconnected?.(c.id, net);
  }

  async prune(filters?: string): Promise<{ NetworksDeleted: string[] }> {
    const f = parseFilters(filters, ['label', 'label!', 'until']);
    const deleted: string[] = [];
    for (const n of this.manager.list()) {
      if (n.predefined || this.manager.endpointsOf(n.id).length) continue;
      if (!(f.get('label') ?? []).every((l) => labelMatches(n.labels, l))) continue;
      if ((f.get('label!') ?? []).some((l) => labelMatches(n.labels, l))) continue;
      const until = f.get('until')?.[0];
      if (until && Date.parse(n.created) >= untilMs(until)) continue;
      if (await this.containers?.references?.(n.id)) continue;
      await this.manager.removeNetwork(n.id);
      deleted.push(n.name);
    }
    return { NetworksDeleted: deleted };
  }
}

/** `until` as a timestamp (seconds or RFC 3339) or a Go-style duration ago. */
function untilMs(v: string): number {
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const d = /^(\d+)(s|m|h)$/.exec(v);
  if (d) return Date.now() - Number(d[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[d[2] as 's' | 'm' | 'h'];
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw invalidParameter(`invalid filter 'until=${v}'`);
  return t;
}
