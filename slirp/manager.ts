/**
 * The networking subsystem's one entry point: Docker networks (records, IPAM, bridges) and each
 * container's attachment (netns, veths, published ports, DNS names, /etc/hosts, resolv.conf).
 * The container code calls prepareContainerNetwork/releaseContainerNetwork/connect/disconnect;
 * the network API calls the rest.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { rootLogger } from '../rootless/log.js';
import { conflict, forbidden, invalidParameter, notFound } from '../translate/errors.js';
import { parseResolvConf, upstreamResolvers, type HostResolv } from './container-files.js';
import { allocateEndpoint, containerBatch, hubBatch } from './endpoints.js';
import { Hub } from './hub.js';
import { createNetns, ipBatch, removeNetns, isNetnsMounted } from './netns.js';
import { hex, newNetworkRecord, predefinedRecord, type CreateNetworkSpec } from './network-records.js';
import { dnsTables, preparedNetwork } from './network-views.js';
import { bindHostPort, portRequests, type BoundSocket } from './ports.js';
import { NetworkStore } from './store.js';
import type { ContainerNetRecord, EndpointRecord, NetworkAttachRequest, NetworkRecord, PrepareOptions, PreparedNetwork, PublishedPort } from './types.js';
import type { UplinkKind } from './uplink.js';

export type { CreateNetworkSpec } from './network-records.js';

export interface NetworkManagerOptions {
  dataRoot: string;
  runtimeDir: string;
  engineId: string;
  /** From the doctor report (report.network); absent: no outbound access, published ports still work. */
  uplink?: { kind: UplinkKind; path: string };
}

/** dockerd's network events; `containerId` for connect/disconnect. */
export type NetworkEventAction = 'create' | 'connect' | 'disconnect' | 'destroy';
export type NetworkEventSink = (action: NetworkEventAction, net: NetworkRecord, containerId?: string) => void;

export class NetworkManager {
  private readonly networks = new Map<string, NetworkRecord>();
  private readonly containers = new Map<string, ContainerNetRecord>();
  /** Forward keys the agent holds, per container. */
  private readonly forwardKeys = new Map<string, string[]>();
  private readonly hub: Hub;
  private queue: Promise<unknown> = Promise.resolve();
  private hostResolv: HostResolv = { nameservers: [], search: [], options: [] };
  private eventSink: NetworkEventSink | undefined;
  /** Containers whose failed prepare is being rolled back: their endpoints never announced a connect. */
  private readonly unannounced = new Set<string>();

  private constructor(
    private readonly store: NetworkStore,
    private readonly opts: NetworkManagerOptions,
  ) {
    this.hub = new Hub({ dir: join(opts.runtimeDir, 'net'), ...(opts.uplink ? { uplink: opts.uplink } : {}) });
  }

  static async open(opts: NetworkManagerOptions): Promise<NetworkManager> {
    const m = new NetworkManager(await NetworkStore.open(join(opts.dataRoot, 'networks')), opts);
    for (const rec of await m.store.loadNetworks()) m.networks.set(rec.id, rec);
    for (const rec of await m.store.loadContainers()) m.containers.set(rec.containerId, rec);
    await m.ensurePredefined();
    m.hostResolv = parseResolvConf(await readFile('/etc/resolv.conf', 'utf8').catch(() => ''));
    return m;
  }

  /** Networking operations share IP allocations and the hub: one at a time. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private predefinedId(name: string): string {
    return hex(`burrow-network/${this.opts.engineId}/${name}`);
  }

  private async ensurePredefined(): Promise<void> {
    for (const name of ['bridge', 'host', 'none'] as const) {
      const id = this.predefinedId(name);
      if (this.networks.has(id)) continue;
      const rec = predefinedRecord(id, name);
      await this.store.saveNetwork(rec);
      this.networks.set(id, rec);
    }
  }

  /** Events are emitted where endpoints really come and go, so exits, removals and prunes all report them. */
  setEventSink(sink: NetworkEventSink): void {
    this.eventSink = sink;
  }

  private emit(action: NetworkEventAction, networkId: string, containerId?: string): void {
    const net = this.networks.get(networkId);
    if (net) this.eventSink?.(action, net, containerId);
  }

  /** pasta or slirp4netns, once the hub is up; the configured choice before. */
  get uplinkKind(): UplinkKind | undefined {
    return this.hub.uplinkInfo?.kind ?? this.opts.uplink?.kind;
  }

  // ---- networks -------------------------------------------------------------------------------

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

  /** Containers attached to a network, for inspect's Containers map. */
  endpointsOf(networkId: string): { containerId: string; name: string; endpoint: EndpointRecord }[] {
    const out: { containerId: string; name: string; endpoint: EndpointRecord }[] = [];
    for (const c of this.containers.values()) {
      for (const e of c.endpoints) if (e.networkId === networkId) out.push({ containerId: c.containerId, name: c.name, endpoint: e });
    }
    return out;
  }

  createNetwork(spec: CreateNetworkSpec): Promise<NetworkRecord> {
    return this.serial(async () => {
      const rec = await newNetworkRecord(spec, this.list(), this.opts.engineId);
      const id = rec.id;
      await this.store.saveNetwork(rec);
      this.networks.set(id, rec);
      this.emit('create', id);
      return rec;
    });
  }

  removeNetwork(ref: string): Promise<void> {
    return this.serial(async () => {
      const net = this.get(ref);
      if (net.predefined) throw forbidden(`${net.name} is a pre-defined network and cannot be removed`);
      if (this.endpointsOf(net.id).length) {
        throw forbidden(`error while removing network: network ${net.name} id ${net.id} has active endpoints`);
      }
      if (this.hub.started) {
        await this.hub.removeBridge(net);
        await this.pushDns();
      }
      await this.store.deleteNetwork(net.id);
      this.eventSink?.('destroy', net);
      this.networks.delete(net.id);
    });
  }

  // ---- containers ----------------------------------------------------------------------------

  netnsPathOf(containerId: string): string | undefined {
    return this.containers.get(containerId)?.netnsPath;
  }

  settingsOf(containerId: string): PreparedNetwork | undefined {
    const rec = this.containers.get(containerId);
    return rec && this.prepared(rec);
  }

  prepareContainerNetwork(containerId: string, opts: PrepareOptions): Promise<PreparedNetwork> {
    return this.serial(async () => {
      if (this.containers.has(containerId)) await this.release(containerId);
      const nets = opts.networks.filter((a) => a.name !== 'none');
      const records = nets.map((a) => this.attachable(a.name));
      const rec: ContainerNetRecord = {
        containerId,
        name: opts.containerName.replace(/^\//, ''),
        hostname: opts.hostname,
        netnsPath: this.hub.containerNsPath(containerId),
        endpoints: [],
        ports: [],
        exposed: [...(opts.exposedPorts ?? [])],
        extraHosts: [...(opts.extraHosts ?? [])],
      };
      if (records.length) await this.hub.ensure(records);
      for (const [i, a] of nets.entries()) rec.endpoints.push(this.allocateEndpoint(rec, records[i]!, a, `eth${i}`));
      const requests = rec.endpoints.some((e) => this.canPublish(e)) ? portRequests(opts.portBindings, rec.exposed, !!opts.publishAll) : [];
      const bound: { req: PublishedPort; sock: BoundSocket }[] = [];
      // Persist first: a crash from here on leaves a record that restore() cleans up.
      await this.store.saveContainer(rec);
      this.containers.set(containerId, rec);
      try {
        for (const req of requests) {
          const sock = await bindHostPort(this.hub.requireAgent(), req, { name: rec.name, id: rec.endpoints[0]?.endpointId ?? containerId });
          const pub: PublishedPort = { proto: req.proto, containerPort: req.containerPort, hostIp: req.hostIp, hostPort: sock.port };
          bound.push({ req: pub, sock });
          rec.ports.push(pub);
        }
        await createNetns(rec.netnsPath, this.containerBatch(rec.endpoints, { v4: true, v6: true }));
        await ipBatch(this.hub.nsPath, this.hubBatch(rec.endpoints));
        for (const b of bound) await this.forward(rec, b.req, b.sock);
        bound.length = 0;
        await this.store.saveContainer(rec);
        if (rec.endpoints.length) await this.pushDns();
      } catch (err) {
        for (const b of bound) b.sock.handle.close();
        // Nothing was announced yet, so the release must not report disconnects either.
        this.unannounced.add(containerId);
        await this.release(containerId).catch(() => undefined);
        throw err;
      }
      for (const e of rec.endpoints) this.emit('connect', e.networkId, containerId);
      return this.prepared(rec);
    });
  }

  releaseContainerNetwork(containerId: string): Promise<void> {
    return this.serial(() => this.release(containerId));
  }

  /** Attaches a running container (one with a prepared netns) to one more network. */
  connect(containerId: string, req: NetworkAttachRequest): Promise<PreparedNetwork> {
    return this.serial(async () => {
      const rec = this.containers.get(containerId);
      if (!rec) throw conflict(`container ${containerId} has no network namespace (is it running?)`);
      const net = this.attachable(req.name);
      if (rec.endpoints.some((e) => e.networkId === net.id)) throw forbidden(`endpoint with name ${rec.name} already exists in network ${net.name}`);
      await this.hub.ensure([net]);
      const used = new Set(rec.endpoints.map((e) => e.ifName));
      let n = 0;
      while (used.has(`eth${n}`)) n++;
      const ep = this.allocateEndpoint(rec, net, req, `eth${n}`);
      const hadRoute = rec.endpoints.some((e) => this.canPublish(e));
      const hadRoute6 = rec.endpoints.some((e) => this.canPublish(e) && e.gateway6);
      rec.endpoints.push(ep);
      await this.store.saveContainer(rec);
      try {
        await ipBatch(rec.netnsPath, this.containerBatch([ep], { v4: !hadRoute, v6: !hadRoute6 }));
        await ipBatch(this.hub.nsPath, this.hubBatch([ep]));
      } catch (err) {
        rec.endpoints = rec.endpoints.filter((e) => e !== ep);
        await ipBatch(this.hub.nsPath, `link del ${ep.hostIf}\n`).catch(() => undefined);
        await this.store.saveContainer(rec);
        throw err;
      }
      await this.pushDns();
      this.emit('connect', net.id, containerId);
      return this.prepared(rec);
    });
  }

  disconnect(containerId: string, networkRef: string): Promise<PreparedNetwork> {
    return this.serial(async () => {
      const rec = this.containers.get(containerId);
      const net = this.get(networkRef);
      const ep = rec?.endpoints.find((e) => e.networkId === net.id);
      if (!rec || !ep) throw forbidden(`container ${containerId} is not connected to network ${net.name}`);
      await ipBatch(this.hub.nsPath, `link del ${ep.hostIf}\n`).catch(() => undefined);
      rec.endpoints = rec.endpoints.filter((e) => e !== ep);
      const next = rec.endpoints.find((e) => this.canPublish(e));
      if (next) await ipBatch(rec.netnsPath, `route replace default via ${next.gateway}\n`).catch(() => undefined);
      const next6 = rec.endpoints.find((e) => this.canPublish(e) && e.gateway6);
      if (next6) await ipBatch(rec.netnsPath, `route replace default via ${next6.gateway6}\n`).catch(() => undefined);
      await this.store.saveContainer(rec);
      await this.pushDns();
      this.emit('disconnect', net.id, containerId);
      return this.prepared(rec);
    });
  }

  /**
   * After a daemon restart: containers whose netns still exists keep their addresses and get their
   * ports and DNS back; records of vanished namespaces are dropped. Returns the live container ids.
   */
  restore(): Promise<string[]> {
    return this.serial(async () => {
      const alive: string[] = [];
      for (const rec of [...this.containers.values()]) {
        if (await isNetnsMounted(rec.netnsPath)) alive.push(rec.containerId);
        else {
          this.containers.delete(rec.containerId);
          await this.store.deleteContainer(rec.containerId);
        }
      }
      const withNets = alive.map((id) => this.containers.get(id)!).filter((r) => r.endpoints.length);
      if (!withNets.length) return alive;
      const nets = [...new Set(withNets.flatMap((r) => r.endpoints.map((e) => e.networkId)))].map((id) => this.networks.get(id)).filter((n): n is NetworkRecord => !!n);
      await this.hub.ensure(nets);
      for (const rec of withNets) {
        const ports = rec.ports;
        for (const p of ports) {
          try {
            const sock = await bindHostPort(this.hub.requireAgent(), { proto: p.proto, containerPort: p.containerPort, hostIp: p.hostIp, hostPorts: [p.hostPort] }, { name: rec.name, id: rec.endpoints[0]!.endpointId });
            await this.forward(rec, p, sock);
          } catch (err) {
            rootLogger().warn({ err, container: rec.containerId }, 'could not re-publish port %d', p.hostPort);
          }
        }
      }
      await this.pushDns();
      return alive;
    });
  }

  /** Daemon shutdown: the agent goes; with nothing attached, the hub and its uplink go too. */
  shutdown(): Promise<void> {
    return this.serial(async () => {
      const idle = ![...this.containers.values()].some((c) => c.endpoints.length);
      await this.hub.stop(idle);
    });
  }

  // ---- internals -----------------------------------------------------------------------------

  private attachable(ref: string): NetworkRecord {
    const net = this.get(ref);
    if (net.driver === 'host') throw invalidParameter('container cannot be disconnected from host network or connected to host network');
    if (net.driver !== 'bridge') throw invalidParameter(`container cannot be connected to network ${net.name}`);
    return net;
  }

  /** Internal networks have no way out, so they neither route by default nor publish. */
  private canPublish(e: EndpointRecord): boolean {
    return !this.networks.get(e.networkId)?.internal;
  }

  private async forward(rec: ContainerNetRecord, p: PublishedPort, sock: BoundSocket): Promise<void> {
    const target = rec.endpoints.find((e) => this.canPublish(e));
    if (!target) {
      sock.handle.close();
      return;
    }
    const key = `${rec.containerId}/${p.proto}/${p.hostIp}/${p.hostPort}`;
    await this.hub.requireAgent().forward(key, sock.proto, sock.handle, { ip: target.ip, port: p.containerPort });
    this.forwardKeys.set(rec.containerId, [...(this.forwardKeys.get(rec.containerId) ?? []), key]);
  }

  private async release(containerId: string): Promise<void> {
    const rec = this.containers.get(containerId);
    if (!rec) {
      await removeNetns(this.hub.containerNsPath(containerId));
      return;
    }
    if (this.hub.started) {
      for (const key of this.forwardKeys.get(containerId) ?? []) await this.hub.requireAgent().close(key).catch(() => undefined);
    }
    this.forwardKeys.delete(containerId);
    if (rec.endpoints.length && (await isNetnsMounted(this.hub.nsPath))) {
      // -force: keep going past veths that vanished with a dead netns.
      await ipBatch(this.hub.nsPath, rec.endpoints.map((e) => `link del ${e.hostIf}\n`).join(''), true);
    }
    await removeNetns(rec.netnsPath);
    this.containers.delete(containerId);
    await this.store.deleteContainer(containerId);
    if (!this.unannounced.delete(containerId)) for (const e of rec.endpoints) this.emit('disconnect', e.networkId, containerId);
    if (rec.endpoints.length && this.hub.started) await this.pushDns();
  }

  private prepared(rec: ContainerNetRecord): PreparedNetwork {
    return preparedNetwork(rec, this.networks, this.hostResolv, this.hub.uplinkInfo?.gateway);
  }

  private async pushDns(): Promise<void> {
    if (!this.hub.started) return;
    await this.hub.requireAgent().dns(dnsTables(this.networks, this.containers), upstreamResolvers(this.hostResolv, this.hub.uplinkInfo?.gateway));
  }

  /** `routes`: which default routes the batch may add (a connect keeps the ones the container has). */
  private containerBatch(eps: readonly EndpointRecord[], routes: { v4: boolean; v6: boolean }): string {
    return containerBatch(eps, routes, this.hub.nsPath, (e) => this.canPublish(e));
  }

  private hubBatch(eps: readonly EndpointRecord[]): string {
    return hubBatch(eps, (id) => this.networks.get(id)!.bridge!);
  }

  private allocateEndpoint(rec: ContainerNetRecord, net: NetworkRecord, req: NetworkAttachRequest, ifName: string): EndpointRecord {
    return allocateEndpoint(rec, net, req, ifName, this.endpointsOf(net.id).map((e) => e.endpoint));
  }
}
