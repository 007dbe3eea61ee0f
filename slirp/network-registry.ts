/**
 * What networks exist and which container endpoints sit on them, in memory and on disk, with the
 * locks that keep them consistent while containers attach side by side: one lock per network for
 * its removal and its address allocations, and one for creations (they check names and subnets
 * against every network). Nothing here touches the kernel; the manager plumbs what is claimed here.
 */
import { KeyedLocks } from '../rootless/keyed-locks.js';
import { forbidden, invalidParameter, notFound } from '../translate/errors.js';
import { allocateEndpoint } from './endpoints.js';
import { defaultBridgeIPv6, hex, newNetworkRecord, predefinedRecord, type CreateNetworkSpec, type DefaultBridgeIPv6 } from './network-records.js';
import type { NetworkStore } from './store.js';
import type { ContainerNetRecord, EndpointRecord, NetworkAttachRequest, NetworkRecord } from './types.js';

/** dockerd's network events; `containerId` for connect/disconnect. */
export type NetworkEventAction = 'create' | 'connect' | 'disconnect' | 'destroy';
export type NetworkEventSink = (action: NetworkEventAction, net: NetworkRecord, containerId?: string) => void;

/** One endpoint a container asks for: the network, the request, and the interface name it gets inside. */
export interface EndpointClaim {
  net: NetworkRecord;
  req: NetworkAttachRequest;
  ifName: string;
}

/** Network ids are 64 hex digits, so this key never names a network. */
const CREATION_KEY = 'network-creation';

export class NetworkRegistry {
  readonly networks = new Map<string, NetworkRecord>();
  /** Attached containers by id; a record is here from its claim until its release. */
  readonly containers = new Map<string, ContainerNetRecord>();
  private readonly locks = new KeyedLocks();
  private eventSink: NetworkEventSink | undefined;

  private constructor(
    readonly store: NetworkStore,
    private readonly engineId: string,
  ) {}

  /** The default bridge as an earlier daemon left it, when this one's options changed its IPv6 (the hub may still have that bridge). */
  replacedBridge: NetworkRecord | undefined;

  static async open(store: NetworkStore, engineId: string, bridge6: DefaultBridgeIPv6 = { enabled: false }): Promise<NetworkRegistry> {
    const r = new NetworkRegistry(store, engineId);
    for (const rec of await store.loadNetworks()) r.networks.set(rec.id, rec);
    for (const rec of await store.loadContainers()) r.containers.set(rec.containerId, rec);
    for (const name of ['bridge', 'host', 'none'] as const) {
      const id = hex(`burrow-network/${engineId}/${name}`);
      if (r.networks.has(id)) continue;
      const rec = predefinedRecord(id, name);
      await store.saveNetwork(rec);
      r.networks.set(id, rec);
    }
    await r.applyDefaultBridgeIPv6(hex(`burrow-network/${engineId}/bridge`), bridge6);
    return r;
  }

  /**
   * dockerd configures the default bridge from its options at every start (--ipv6, --fixed-cidr-v6),
   * so a start without --ipv6 after one with it has an IPv4-only bridge again. Containers still
   * attached (they outlive a daemon restart here, as with live-restore) keep the bridge as it was
   * until they are gone and the daemon restarts.
   */
  private async applyDefaultBridgeIPv6(id: string, bridge6: DefaultBridgeIPv6): Promise<void> {
    const current = this.networks.get(id)!;
    const others = this.list().filter((n) => n.id !== id && n.subnet6);
    const wanted = defaultBridgeIPv6(current, bridge6, others, this.engineId);
    if (wanted === current) return;
    if (this.endpointsOf(id).length) return;
    await this.store.saveNetwork(wanted);
    this.networks.set(id, wanted);
    this.replacedBridge = current;
  }

  setEventSink(sink: NetworkEventSink): void {
    this.eventSink = sink;
  }

  emit(action: NetworkEventAction, networkId: string, containerId?: string): void {
    const net = this.networks.get(networkId);
    if (net) this.eventSink?.(action, net, containerId);
  }

  list(): NetworkRecord[] {
    return [...this.networks.values()];
  }

  /** dockerd's lookup order: full id, exact name, then a unique id prefix. */
  find(ref: string): NetworkRecord | undefined {
    const byId = this.networks.get(ref);
    if (byId) return byId;
    const all = this.list();
    const byName = all.find((n) => n.name === ref);
    if (byName) return byName;
    const prefixed = ref ? all.filter((n) => n.id.startsWith(ref)) : [];
    return prefixed.length === 1 ? prefixed[0] : undefined;
  }

  get(ref: string): NetworkRecord {
    const n = this.find(ref);
    if (!n) throw notFound(`network ${ref} not found`);
    return n;
  }

  /** A network a container may join, with dockerd's refusals for host and null networks. */
  attachable(ref: string): NetworkRecord {
    const net = this.get(ref);
    if (net.driver === 'host') throw invalidParameter('container cannot be disconnected from host network or connected to host network');
    if (net.driver !== 'bridge') throw invalidParameter(`container cannot be connected to network ${net.name}`);
    return net;
  }

  /** Internal networks have no way out, so they neither route by default nor publish. */
  canPublish(e: EndpointRecord): boolean {
    return !this.networks.get(e.networkId)?.internal;
  }

  /** Containers attached to a network, for inspect's Containers map. */
  endpointsOf(networkId: string): { containerId: string; name: string; endpoint: EndpointRecord }[] {
    const out: { containerId: string; name: string; endpoint: EndpointRecord }[] = [];
    for (const c of this.containers.values()) {
      for (const e of c.endpoints) if (e.networkId === networkId) out.push({ containerId: c.containerId, name: c.name, endpoint: e });
    }
    return out;
  }

  create(spec: CreateNetworkSpec): Promise<NetworkRecord> {
    return this.locks.run(CREATION_KEY, async () => {
      const rec = await newNetworkRecord(spec, this.list(), this.engineId);
      await this.store.saveNetwork(rec);
      this.networks.set(rec.id, rec);
      this.emit('create', rec.id);
      return rec;
    });
  }

  /**
   * Removes a network nobody is attached to. Under the network's lock, so an attach that claimed an
   * address first makes this dockerd's 403, and one that comes after finds the network gone (404).
   * `teardown` removes what the hub has of it before the record goes.
   */
  remove(ref: string, teardown: (net: NetworkRecord) => Promise<void>): Promise<void> {
    const found = this.get(ref);
    return this.locks.run(found.id, async () => {
      const net = this.networks.get(found.id);
      if (!net) throw notFound(`network ${ref} not found`);
      if (net.predefined) throw forbidden(`${net.name} is a pre-defined network and cannot be removed`);
      if (this.endpointsOf(net.id).length) throw forbidden(`error while removing network: network ${net.name} id ${net.id} has active endpoints`);
      await teardown(net);
      await this.store.deleteNetwork(net.id);
      this.eventSink?.('destroy', net);
      this.networks.delete(net.id);
    });
  }

  /**
   * Allocates `rec`'s endpoints on the claimed networks under those networks' locks and registers
   * them before the locks go, so the next claim on a network sees the addresses taken and a removal
   * sees the network in use. All or nothing: a refused address leaves `rec` as it was.
   */
  claim(rec: ContainerNetRecord, claims: readonly EndpointClaim[]): Promise<EndpointRecord[]> {
    return this.locks.runAll(
      claims.map((c) => c.net.id),
      async () => {
        const eps: EndpointRecord[] = [];
        for (const { net, req, ifName } of claims) {
          if (this.networks.get(net.id) !== net) throw notFound(`network ${req.name} not found`);
          const peers = [...this.endpointsOf(net.id).map((e) => e.endpoint), ...eps.filter((e) => e.networkId === net.id)];
          eps.push(allocateEndpoint(rec, net, req, ifName, peers));
        }
        rec.endpoints.push(...eps);
        this.containers.set(rec.containerId, rec);
        return eps;
      },
    );
  }

  /** Forgets a released container; `announce`: report its endpoints' disconnects. */
  unregister(rec: ContainerNetRecord, announce: boolean): void {
    this.containers.delete(rec.containerId);
    if (announce) for (const e of rec.endpoints) this.emit('disconnect', e.networkId, rec.containerId);
  }
}
