/** The network API's service: applies filters, finds containers, delegates to NetworkManager. */
import { invalidParameter, notFound } from '../translate/errors.js';
import { labelMatches, parseFilters } from '../translate/filters.js';
import type { ContainerLookup, NetworkConnectParams, NetworkService, NetworkView } from './interface.js';
import type { CreateNetworkSpec, NetworkManager } from './manager.js';
import type { NetworkRecord } from './types.js';

export class EngineNetworkService implements NetworkService {
  private containers: ContainerLookup | undefined;

  constructor(readonly manager: NetworkManager) {}

  /** The container code registers how to find containers by id or name (connect/disconnect). */
  setContainerLookup(lookup: ContainerLookup): void {
    this.containers = lookup;
  }

  async list(filters?: string): Promise<NetworkRecord[]> {
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
      });
  }

  async inspect(ref: string): Promise<NetworkView> {
    const network = this.manager.get(ref);
    return { network, endpoints: this.manager.endpointsOf(network.id) };
  }

  create(spec: CreateNetworkSpec): Promise<NetworkRecord> {
    return this.manager.createNetwork(spec);
  }

  async remove(ref: string): Promise<void> {
    await this.manager.removeNetwork(ref);
  }

  private async container(ref: string): Promise<{ id: string; name: string; running: boolean }> {
    if (!ref) throw invalidParameter('container is required');
    const found = await this.containers?.lookup(ref);
    if (!found) throw notFound(`No such container: ${ref}`);
    return found;
  }

  async connect(ref: string, params: NetworkConnectParams): Promise<void> {
    const net = this.manager.get(ref);
    const c = await this.container(params.container);
    const req = { name: net.name, ...params.endpoint };
    if (c.running && this.manager.netnsPathOf(c.id)) await this.manager.connect(c.id, req);
    await this.containers?.connected?.(c.id, net, req);
  }

  async disconnect(ref: string, container: string): Promise<void> {
    const net = this.manager.get(ref);
    const c = await this.container(container);
    const live = this.manager.endpointsOf(net.id).some((e) => e.containerId === c.id);
    if (live) await this.manager.disconnect(c.id, net.id);
    await this.containers?.disconnected?.(c.id, net);
  }

  async prune(filters?: string): Promise<string[]> {
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
    return deleted;
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
