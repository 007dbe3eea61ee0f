/**
 * The networking subsystem's one entry point: Docker networks (records, IPAM, bridges) and each
 * container's attachment (netns, veths, published ports, DNS names, /etc/hosts, resolv.conf).
 * The container code calls prepareContainerNetwork/releaseContainerNetwork/connect/disconnect;
 * the network API calls the rest.
 *
 * Containers attach side by side. The locks, always taken in this order:
 * - one per container (its endpoint set: prepare, release, connect, disconnect);
 * - one per network (its removal and its address allocations; NetworkRegistry), held only while
 *   addresses are picked and registered, not while the veths are plumbed;
 * - one for the hub (its creation, its bridges and their iptables rules, its shutdown).
 * The agent's DNS tables are pushed coalesced: the latest state wins (CoalescedPush).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KeyedLocks } from '../rootless/keyed-locks.js';
import { RestartBudget } from '../rootless/restart-budget.js';
import { rootLogger } from '../rootless/log.js';
import { conflict, forbidden } from '../translate/errors.js';
import { CoalescedPush } from './coalesced-push.js';
import { parseResolvConf, upstreamResolvers, type HostResolv } from './container-files.js';
import { containerBatch, hubBatch } from './endpoints.js';
import { V6OnlyBridges, isV6Only } from './bridges-v6only.js';
import { Hub } from './hub.js';
import { createNetns, ipBatch, removeNetns, isNetnsMounted } from './netns.js';
import type { CreateNetworkSpec, DefaultBridgeIPv6 } from './network-records.js';
import { NetworkRegistry, type NetworkEventSink } from './network-registry.js';
import { dnsTables, preparedNetwork } from './network-views.js';
import { PortPublisher } from './port-publisher.js';
import { portRequests } from './ports.js';
import { NetworkStore } from './store.js';
import type { ContainerNetRecord, EndpointRecord, NetworkAttachRequest, NetworkRecord, PrepareOptions, PreparedNetwork } from './types.js';
import type { UplinkTools } from './uplink.js';

export type { CreateNetworkSpec } from './network-records.js';
export type { NetworkEventAction, NetworkEventSink } from './network-registry.js';

export interface NetworkManagerOptions {
  dataRoot: string;
  runtimeDir: string;
  engineId: string;
  /** From the doctor report (report.network); absent: no outbound access, published ports still work. */
  uplink?: UplinkTools;
  /** The daemon's --ipv6 / --fixed-cidr-v6 for the default bridge. */
  defaultBridgeIPv6?: DefaultBridgeIPv6;
}

const HUB_KEY = 'hub';

export class NetworkManager {
  private readonly hub: Hub;
  private readonly v6Only: V6OnlyBridges;
  private readonly ports: PortPublisher;
  private readonly dns: CoalescedPush;
  /** Per container id (its endpoint set), and HUB_KEY for the hub's shared steps. */
  private readonly locks = new KeyedLocks();
  private hostResolv: HostResolv = { nameservers: [], search: [], options: [] };
  /** How often the hub agent may die before it is no longer replaced (replaceAgent). */
  private readonly agentLosses = new RestartBudget();
  /** Containers whose failed prepare is being rolled back: their endpoints never announced a connect. */
  private readonly unannounced = new Set<string>();

  private constructor(
    private readonly registry: NetworkRegistry,
    opts: NetworkManagerOptions,
  ) {
    this.hub = new Hub({
      dir: join(opts.runtimeDir, 'net'),
      ...(opts.uplink ? { uplink: opts.uplink } : {}),
      onAgentLost: (why) => void this.replaceAgent(why),
    });
    this.v6Only = new V6OnlyBridges(this.hub.nsPath);
    this.ports = new PortPublisher(this.hub, (e) => registry.canPublish(e));
    this.dns = new CoalescedPush(() => this.sendDns());
  }

  static async open(opts: NetworkManagerOptions): Promise<NetworkManager> {
    const store = await NetworkStore.open(join(opts.dataRoot, 'networks'));
    const m = new NetworkManager(await NetworkRegistry.open(store, opts.engineId, opts.defaultBridgeIPv6), opts);
    m.hostResolv = parseResolvConf(await readFile('/etc/resolv.conf', 'utf8').catch(() => ''));
    return m;
  }

  /** Events are emitted where endpoints really come and go, so exits, removals and prunes all report them. */
  setEventSink(sink: NetworkEventSink): void {
    this.registry.setEventSink(sink);
  }

  /** The address in the hub that reaches the host's loopback (host.docker.internal), once the hub is up. */
  get uplinkGateway(): string | undefined {
    return this.hub.uplinkInfo?.gateway;
  }

  // ---- networks -------------------------------------------------------------------------------

  list(): NetworkRecord[] {
    return this.registry.list();
  }

  find(ref: string): NetworkRecord | undefined {
    return this.registry.find(ref);
  }

  get(ref: string): NetworkRecord {
    return this.registry.get(ref);
  }

  endpointsOf(networkId: string): { containerId: string; name: string; endpoint: EndpointRecord }[] {
    return this.registry.endpointsOf(networkId);
  }

  createNetwork(spec: CreateNetworkSpec): Promise<NetworkRecord> {
    return this.registry.create(spec);
  }

  removeNetwork(ref: string): Promise<void> {
    return this.registry.remove(ref, async (net) => {
      if (!this.hub.started) return;
      await this.locks.run(HUB_KEY, () => (isV6Only(net) ? this.v6Only.remove(net) : this.hub.removeBridge(net)));
      await this.dns.request();
    });
  }

  // ---- containers ----------------------------------------------------------------------------

  netnsPathOf(containerId: string): string | undefined {
    return this.registry.containers.get(containerId)?.netnsPath;
  }

  settingsOf(containerId: string): PreparedNetwork | undefined {
    const rec = this.registry.containers.get(containerId);
    return rec && this.prepared(rec);
  }

  prepareContainerNetwork(containerId: string, opts: PrepareOptions): Promise<PreparedNetwork> {
    return this.locks.run(containerId, async () => {
      if (this.registry.containers.has(containerId)) await this.release(containerId);
      const nets = opts.networks.filter((a) => a.name !== 'none');
      const claims = nets.map((req, i) => ({ net: this.registry.attachable(req.name), req, ifName: `eth${i}` }));
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
      await this.registry.claim(rec, claims);
      try {
        // Persist first: a crash from here on leaves a record that restore() cleans up.
        await this.registry.store.saveContainer(rec);
        if (claims.length) await this.ensureHub(claims.map((c) => c.net));
        const requests = rec.endpoints.some((e) => this.registry.canPublish(e)) ? portRequests(opts.portBindings, rec.exposed, !!opts.publishAll) : [];
        const bound = await this.ports.bind(rec, requests);
        rec.ports.push(...bound.map((b) => b.port));
        try {
          await createNetns(rec.netnsPath, this.containerBatch(rec.endpoints, { v4: true, v6: true }), '', { nsPath: this.hub.nsPath, batch: this.hubBatch(rec.endpoints) });
          // Each port the agent holds is forwarded, or given up by forward() when nothing can be reached.
          for (let b = bound.shift(); b; b = bound.shift()) await this.ports.forward(rec, b.port, b.sock);
        } catch (err) {
          for (const b of bound) b.sock.handle.close(); // the ports not forwarded yet
          throw err;
        }
        await this.registry.store.saveContainer(rec);
        if (rec.endpoints.length) await this.dns.request();
      } catch (err) {
        // Nothing was announced yet, so the release must not report disconnects either.
        this.unannounced.add(containerId);
        await this.release(containerId).catch(() => undefined);
        throw err;
      }
      for (const e of rec.endpoints) this.registry.emit('connect', e.networkId, containerId);
      return this.prepared(rec);
    });
  }

  releaseContainerNetwork(containerId: string): Promise<void> {
    return this.locks.run(containerId, () => this.release(containerId));
  }

  /** Attaches a running container (one with a prepared netns) to one more network. */
  connect(containerId: string, req: NetworkAttachRequest): Promise<PreparedNetwork> {
    return this.locks.run(containerId, async () => {
      const rec = this.registry.containers.get(containerId);
      if (!rec) throw conflict(`container ${containerId} has no network namespace (is it running?)`);
      const net = this.registry.attachable(req.name);
      if (rec.endpoints.some((e) => e.networkId === net.id)) throw forbidden(`endpoint with name ${rec.name} already exists in network ${net.name}`);
      const used = new Set(rec.endpoints.map((e) => e.ifName));
      let n = 0;
      while (used.has(`eth${n}`)) n++;
      const hadRoute = rec.endpoints.some((e) => this.registry.canPublish(e) && e.gateway);
      const hadRoute6 = rec.endpoints.some((e) => this.registry.canPublish(e) && e.gateway6);
      const [ep] = await this.registry.claim(rec, [{ net, req, ifName: `eth${n}` }]);
      try {
        await this.registry.store.saveContainer(rec);
        await this.ensureHub([net]);
        await ipBatch(rec.netnsPath, this.containerBatch([ep!], { v4: !hadRoute, v6: !hadRoute6 }));
        await ipBatch(this.hub.nsPath, this.hubBatch([ep!]));
      } catch (err) {
        rec.endpoints = rec.endpoints.filter((e) => e !== ep);
        if (this.hub.started) await ipBatch(this.hub.nsPath, `link del ${ep!.hostIf}\n`).catch(() => undefined);
        await this.registry.store.saveContainer(rec);
        throw err;
      }
      await this.dns.request();
      this.registry.emit('connect', net.id, containerId);
      return this.prepared(rec);
    });
  }

  disconnect(containerId: string, networkRef: string): Promise<PreparedNetwork> {
    return this.locks.run(containerId, async () => {
      const rec = this.registry.containers.get(containerId);
      const net = this.registry.get(networkRef);
      const ep = rec?.endpoints.find((e) => e.networkId === net.id);
      if (!rec || !ep) throw forbidden(`container ${containerId} is not connected to network ${net.name}`);
      await ipBatch(this.hub.nsPath, `link del ${ep.hostIf}\n`).catch(() => undefined);
      rec.endpoints = rec.endpoints.filter((e) => e !== ep);
      const next = rec.endpoints.find((e) => this.registry.canPublish(e) && e.gateway);
      if (next) await ipBatch(rec.netnsPath, `route replace default via ${next.gateway}\n`).catch(() => undefined);
      const next6 = rec.endpoints.find((e) => this.registry.canPublish(e) && e.gateway6);
      if (next6) await ipBatch(rec.netnsPath, `route replace default via ${next6.gateway6}\n`).catch(() => undefined);
      await this.registry.store.saveContainer(rec);
      await this.dns.request();
      this.registry.emit('disconnect', net.id, containerId);
      return this.prepared(rec);
    });
  }

  /**
   * After a daemon restart: containers whose netns still exists keep their addresses and get their
   * ports and DNS back; records of vanished namespaces are dropped. Returns the live container ids.
   * Each container is looked at under its lock: containers the adoption restarts attach meanwhile.
   */
  async restore(): Promise<string[]> {
    const alive: ContainerNetRecord[] = [];
    for (const id of [...this.registry.containers.keys()]) {
      await this.locks.run(id, async () => {
        const rec = this.registry.containers.get(id);
        if (!rec) return;
        if (await isNetnsMounted(rec.netnsPath)) alive.push(rec);
        else {
          this.registry.unregister(rec, false);
          await this.registry.store.deleteContainer(id);
        }
      });
    }
    const withNets = alive.filter((r) => r.endpoints.length);
    if (withNets.length) {
      const ids = new Set(withNets.flatMap((r) => r.endpoints.map((e) => e.networkId)));
      await this.ensureHub([...ids].map((id) => this.registry.networks.get(id)).filter((n): n is NetworkRecord => !!n));
      await this.publishAgain(withNets);
    }
    return alive.map((r) => r.containerId);
  }

  /** A new agent holds nothing: each container's ports (under its lock, if still registered), then the DNS. */
  private async publishAgain(recs: readonly ContainerNetRecord[]): Promise<void> {
    for (const rec of recs) await this.locks.run(rec.containerId, () => (this.registry.containers.get(rec.containerId) === rec ? this.ports.republish(rec) : Promise.resolve()));
    await this.dns.request();
  }

  /**
   * The hub agent died (killed, crashed, OOM): a new one, then every running container's published
   * ports and the DNS again, as after a daemon restart. Without it every later start with a network
   * failed until the daemon restarted. Three deaths within a minute stop the replacing (a broken
   * binary would otherwise loop); starts then fail with "the hub agent is not running" as before.
   */
  private async replaceAgent(why: string): Promise<void> {
    const log = rootLogger();
    if (!this.agentLosses.allow()) {
      log.error({ why }, 'the hub agent keeps exiting: not starting another (restart the daemon)');
      return;
    }
    log.warn({ why }, 'the hub agent exited: starting a new one and publishing the ports again');
    try {
      await this.locks.run(HUB_KEY, async () => {
        this.ports.forgetAll();
        await this.hub.restartAgent();
      });
      await this.publishAgain([...this.registry.containers.values()].filter((r) => r.endpoints.length));
    } catch (err) {
      log.error({ err }, 'could not replace the hub agent');
    }
  }

  /** Daemon shutdown: the agent goes; with nothing attached, the hub and its uplink go too. */
  shutdown(): Promise<void> {
    return this.locks.run(HUB_KEY, async () => {
      const idle = ![...this.registry.containers.values()].some((c) => c.endpoints.length);
      await this.hub.stop(idle);
      this.v6Only.forget();
    });
  }

  // ---- internals -----------------------------------------------------------------------------

  /** The hub's first start and its bridges (with their iptables rules) are shared: one caller at a time. */
  private ensureHub(nets: readonly NetworkRecord[]): Promise<void> {
    return this.locks.run(HUB_KEY, async () => {
      const replaced = this.registry.replacedBridge;
      if (replaced) {
        // A hub that outlived the last daemon has the default bridge with its old addresses and rules.
        await this.hub.ensure([]);
        await this.hub.removeBridge(replaced);
        this.registry.replacedBridge = undefined;
      }
      await this.hub.ensure(nets.filter((n) => !isV6Only(n)));
      await this.v6Only.ensure(nets);
    });
  }

  /** Under the container's lock. */
  private async release(containerId: string): Promise<void> {
    const rec = this.registry.containers.get(containerId);
    if (!rec) {
      await removeNetns(this.hub.containerNsPath(containerId));
      return;
    }
    await this.ports.unpublish(containerId);
    // The hub's veth ends leave their bridges in the same exec (forced: they may have vanished with a
    // dead netns), so the address can go to the next container at once; the kernel deletes each pair
    // with the container's netns, off this path. Deleting them here waited 20 ms for the network
    // stack's RCU barrier on every removal.
    const hubEnds = rec.endpoints.length && (await isNetnsMounted(this.hub.nsPath)) ? { nsPath: this.hub.nsPath, batch: rec.endpoints.map((e) => `link set ${e.hostIf} nomaster down\n`).join('') } : undefined;
    await removeNetns(rec.netnsPath, hubEnds);
    this.registry.unregister(rec, !this.unannounced.delete(containerId));
    await this.registry.store.deleteContainer(containerId);
    if (rec.endpoints.length) await this.dns.request();
  }

  private prepared(rec: ContainerNetRecord): PreparedNetwork {
    return preparedNetwork(rec, this.registry.networks, this.hostResolv, this.hub.uplinkInfo?.gateway);
  }

  /** Takes its snapshot synchronously, as CoalescedPush needs. */
  private sendDns(): Promise<void> {
    if (!this.hub.started) return Promise.resolve();
    const tables = dnsTables(this.registry.networks, this.registry.containers);
    return this.hub.requireAgent().dns(tables, upstreamResolvers(this.hostResolv, this.hub.uplinkInfo?.gateway));
  }

  /** `routes`: which default routes the batch may add (a connect keeps the ones the container has). */
  private containerBatch(eps: readonly EndpointRecord[], routes: { v4: boolean; v6: boolean }): string {
    return containerBatch(eps, routes, this.hub.nsPath, (e) => this.registry.canPublish(e));
  }

  private hubBatch(eps: readonly EndpointRecord[]): string {
    return hubBatch(eps, (id) => this.registry.networks.get(id)!.bridge!);
  }
}
