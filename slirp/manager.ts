/**
 * The networking subsystem's one entry point: Docker networks (records, IPAM, bridges) and each
 * container's attachment (netns, veths, published ports, DNS names, /etc/hosts, resolv.conf).
 * The container code calls prepareContainerNetwork/releaseContainerNetwork/connect/disconnect;
 * the network API calls the rest.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { rootLogger } from '../rootless/log.js';
import { conflict, forbidden, invalidParameter, notFound } from '../translate/errors.js';
import type { DnsNetwork } from './agent-protocol.js';
import { hostsFile, parseExtraHost, parseResolvConf, resolvConf, upstreamResolvers, type HostResolv } from './container-files.js';
import { Hub, BRIDGE_MTU } from './hub.js';
import { allocate, checkStatic, formatCidr, formatIp, macFor, parseCidr, parseIp, pickPool, subnetConfig, type Cidr, type SubnetConfig } from './ipam.js';
import { createNetns, ipBatch, removeNetns, isNetnsMounted } from './netns.js';
import { allocate6, checkStatic6, formatCidr6, formatIp6, overlaps6, parseCidr6, parseIp6, pickPool6, subnetConfig6, type SubnetConfig6 } from './ipam6.js';
import { bindHostPort, portRequests, type BoundSocket } from './ports.js';
import { NetworkStore } from './store.js';
import type {
  ContainerNetRecord,
  ContainerNetworkSettings,
  EndpointRecord,
  EndpointSettings,
  NetworkAttachRequest,
  NetworkRecord,
  PortMap,
  PrepareOptions,
  PreparedNetwork,
  PublishedPort,
} from './types.js';
import type { UplinkKind } from './uplink.js';

export interface NetworkManagerOptions {
  dataRoot: string;
  runtimeDir: string;
  engineId: string;
  /** From the doctor report (report.network); absent: no outbound access, published ports still work. */
  uplink?: { kind: UplinkKind; path: string };
}

export interface CreateNetworkSpec {
  name: string;
  driver?: string;
  internal?: boolean;
  attachable?: boolean;
  enableIPv6?: boolean;
  labels?: Record<string, string>;
  options?: Record<string, string>;
  ipam?: { driver?: string; options?: Record<string, string>; config?: { subnet?: string; gateway?: string; ipRange?: string }[] };
}

/** dockerd's network events; `containerId` for connect/disconnect. */
export type NetworkEventAction = 'create' | 'connect' | 'disconnect' | 'destroy';
export type NetworkEventSink = (action: NetworkEventAction, net: NetworkRecord, containerId?: string) => void;

/** dockerd's runconfig.IsPreDefinedNetwork: names a create is refused with 403. */
const PREDEFINED_NAMES: ReadonlySet<string> = new Set(['bridge', 'host', 'none', 'default', 'ingress']);

/** An endpoint link, "other:alias" or "other" (opts.ParseLink); a leading slash on the name is dropped. */
function parseEndpointLink(raw: string): { name: string; alias: string } {
  const parts = raw.split(':');
  const name = (parts[0] ?? '').replace(/^\//, '');
  if (!name || parts.length > 2) throw invalidParameter(`bad format for links: ${raw}`);
  return { name, alias: parts[1] ? parts[1].replace(/^.*\//, '') : name };
}

const hex = (s: string): string => createHash('sha256').update(s).digest('hex');
const randomId = (): string => randomBytes(32).toString('hex');
const nowRfc3339 = (): string => new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');

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
      const rec: NetworkRecord = {
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
      // dockerd takes any name that is not blank, as given (spaces included, none trimmed); bridges are
      // named after the id, so the name never reaches a kernel interface or a path.
      const name = spec.name ?? '';
      if (!name.trim()) throw invalidParameter('network name must not be empty');
      if (PREDEFINED_NAMES.has(name)) throw forbidden(`${name} is a pre-defined network and cannot be created`);
      // Since API 1.44 (Engine 25) names are unique for every API version: CheckDuplicate no longer matters.
      if (this.list().some((n) => n.name === name)) throw conflict(`network with name ${name} already exists`);
      const driver = spec.driver || 'bridge';
      if (driver !== 'bridge') throw invalidParameter(`network driver "${driver}" is not supported by this rootless engine (only "bridge")`);
      if (spec.ipam?.driver && spec.ipam.driver !== 'default') throw invalidParameter(`IPAM driver "${spec.ipam.driver}" is not supported (only "default")`);
      const all = (spec.ipam?.config ?? []).filter((c) => c.subnet || c.gateway || c.ipRange);
      const isV6 = (c: { subnet?: string; gateway?: string; ipRange?: string }): boolean => (c.subnet ?? c.gateway ?? c.ipRange ?? '').includes(':');
      const configs = all.filter((c) => !isV6(c));
      const configs6 = all.filter(isV6);
      if (configs6.length && !spec.enableIPv6) throw invalidParameter('an IPv6 subnet needs an IPv6 network: create it with --ipv6 (EnableIPv6)');
      if (configs.length > 1 || configs6.length > 1) throw invalidParameter('only one IPv4 and one IPv6 subnet per network are supported');
      const c6 = configs6[0];
      if (c6?.ipRange) throw invalidParameter('an IPv6 --ip-range is not supported by this rootless engine');
      let cfg6: SubnetConfig6 | undefined;
      if (spec.enableIPv6) {
        const used6 = this.list().filter((n) => n.subnet6).map((n) => parseCidr6(n.subnet6!));
        if (c6?.subnet) {
          cfg6 = subnetConfig6(c6.subnet, c6.gateway);
          if (used6.some((u) => overlaps6(u, cfg6!.subnet))) throw forbidden('invalid pool request: Pool overlaps with other one on this address space');
        } else {
          if (c6?.gateway) throw invalidParameter('a gateway or ip-range needs a subnet');
          cfg6 = subnetConfig6(formatCidr6(pickPool6(this.opts.engineId, used6)));
        }
      }
      const used = this.list().filter((n) => n.subnet).map((n) => parseCidr(n.subnet!));
      let cfg: SubnetConfig;
      const c = configs[0];
      if (c?.subnet) {
        cfg = subnetConfig(c.subnet, c.gateway, c.ipRange);
        if (used.some((u) => u.base <= cfg.subnet.base + 2 ** (32 - cfg.subnet.prefix) - 1 && cfg.subnet.base <= u.base + 2 ** (32 - u.prefix) - 1)) {
          throw forbidden('invalid pool request: Pool overlaps with other one on this address space');
        }
      } else {
        if (c?.gateway || c?.ipRange) throw invalidParameter('a gateway or ip-range needs a subnet');
        cfg = subnetConfig(formatCidr(pickPool(used, await hostRoutes())));
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
        subnet: formatCidr(cfg.subnet),
        gateway: formatIp(cfg.gateway),
        ...(c?.ipRange ? { ipRange: formatCidr(cfg.range) } : {}),
        bridge: `br-${id.slice(0, 12)}`,
        predefined: false,
        userIpam: !!c?.subnet,
        userGateway: !!c?.gateway,
        ...(cfg6
          ? { enableIPv6: true, subnet6: formatCidr6(cfg6.subnet), gateway6: formatIp6(cfg6.gateway), userIpam6: !!c6?.subnet, userGateway6: !!c6?.gateway }
          : {}),
      };
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
          const sock = await bindHostPort(req, { name: rec.name, id: rec.endpoints[0]?.endpointId ?? containerId });
          const pub: PublishedPort = { proto: req.proto, containerPort: req.containerPort, hostIp: req.hostIp, hostPort: sock.port };
          bound.push({ req: pub, sock });
          rec.ports.push(pub);
        }
        await createNetns(rec.netnsPath, this.containerBatch(rec.endpoints, true));
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
      rec.endpoints.push(ep);
      await this.store.saveContainer(rec);
      try {
        await ipBatch(rec.netnsPath, this.containerBatch([ep], !hadRoute));
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
            const sock = await bindHostPort({ proto: p.proto, containerPort: p.containerPort, hostIp: p.hostIp, hostPorts: [p.hostPort] }, { name: rec.name, id: rec.endpoints[0]!.endpointId });
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

  private takenIps(networkId: string): Set<number> {
    return new Set(this.endpointsOf(networkId).map((e) => parseIp(e.endpoint.ip)));
  }

  private allocateEndpoint(rec: ContainerNetRecord, net: NetworkRecord, req: NetworkAttachRequest, ifName: string): EndpointRecord {
    const cfg = subnetConfig(net.subnet!, net.gateway, net.ipRange);
    const taken = this.takenIps(net.id);
    let ip: number;
    if (req.ipv4) {
      if (net.predefined) throw invalidParameter('user specified IP address is supported on user defined networks only');
      ip = parseIp(req.ipv4);
      checkStatic(cfg, ip, taken, net.name);
    } else ip = allocate(cfg, taken);
    for (const addr of req.linkLocalIps ?? []) if (isIP(addr) === 0) throw invalidParameter(`invalid link-local IP address: ${addr}`);
    let ip6: bigint | undefined;
    let cfg6: SubnetConfig6 | undefined;
    if (net.enableIPv6 && net.subnet6) {
      cfg6 = subnetConfig6(net.subnet6, net.gateway6);
      const taken6 = new Set(this.endpointsOf(net.id).flatMap((e) => (e.endpoint.ip6 ? [parseIp6(e.endpoint.ip6)] : [])));
      if (req.ipv6) {
        ip6 = parseIp6(req.ipv6);
        checkStatic6(cfg6, ip6, taken6, net.name);
      } else ip6 = allocate6(cfg6, taken6);
    } else if (req.ipv6) throw invalidParameter(`invalid endpoint settings:\nuser specified IP address is supported only when connecting to networks with user configured subnets`);
    for (const link of req.links ?? []) parseEndpointLink(link);
    const shortId = rec.containerId.slice(0, 12);
    const aliases = net.predefined ? [] : [...new Set(req.aliases ?? [])];
    const dnsNames = net.predefined ? [] : [...new Set([rec.name, ...aliases, shortId, ...(rec.hostname && rec.hostname !== shortId ? [rec.hostname] : [])])];
    return {
      networkId: net.id,
      networkName: net.name,
      endpointId: randomId(),
      ifName,
      hostIf: `veth${hex(`${rec.containerId}/${net.id}`).slice(0, 11)}`,
      ip: formatIp(ip),
      prefixLen: cfg.subnet.prefix,
      gateway: net.gateway!,
      mac: macFor(ip),
      aliases,
      dnsNames,
      ...(req.ipv4 ? { requestedIp: req.ipv4 } : {}),
      ...(ip6 !== undefined && cfg6 ? { ip6: formatIp6(ip6), prefixLen6: cfg6.subnet.prefix, gateway6: formatIp6(cfg6.gateway) } : {}),
      ...(req.ipv6 ? { requestedIp6: req.ipv6 } : {}),
      ...(req.links?.length ? { links: [...req.links] } : {}),
      ...(req.linkLocalIps?.length ? { linkLocalIps: [...req.linkLocalIps] } : {}),
    };
  }

  /** Internal networks have no way out, so they neither route by default nor publish. */
  private canPublish(e: EndpointRecord): boolean {
    return !this.networks.get(e.networkId)?.internal;
  }

  /** One `ip -b` inside the container: veths are created here and their peers sent into the hub. */
  private containerBatch(eps: readonly EndpointRecord[], withDefaultRoute: boolean): string {
    let out = 'link set lo up\n';
    for (const e of eps) {
      out += `link add ${e.ifName} mtu ${BRIDGE_MTU} address ${e.mac} type veth peer name ${e.hostIf} netns ${this.hub.nsPath}\n`;
      out += `addr add ${e.ip}/${e.prefixLen} dev ${e.ifName}\nlink set ${e.ifName} up\n`;
      if (e.ip6) out += `addr add ${e.ip6}/${e.prefixLen6} dev ${e.ifName} nodad\n`;
      // libnetwork gives link-local addresses a /16 (IPv4) or /64 (IPv6) on the endpoint's interface.
      for (const ll of e.linkLocalIps ?? []) out += `addr add ${ll}/${isIP(ll) === 6 ? 64 : 16} dev ${e.ifName}\n`;
    }
    const gw = eps.find((e) => this.canPublish(e));
    if (withDefaultRoute && gw) out += `route add default via ${gw.gateway}\n`;
    const gw6 = eps.find((e) => this.canPublish(e) && e.gateway6);
    if (withDefaultRoute && gw6) out += `route add default via ${gw6.gateway6}\n`;
    return out;
  }

  private hubBatch(eps: readonly EndpointRecord[]): string {
    return eps.map((e) => `link set ${e.hostIf} mtu ${BRIDGE_MTU} master ${this.networks.get(e.networkId)!.bridge} up\n`).join('');
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

  private async pushDns(): Promise<void> {
    if (!this.hub.started) return;
    const tables = new Map<string, DnsNetwork>();
    for (const net of this.networks.values()) {
      if (net.predefined || net.driver !== 'bridge') continue;
      tables.set(net.id, { address: net.gateway!, records: {}, forward: !net.internal });
    }
    for (const c of this.containers.values()) {
      for (const e of c.endpoints) {
        const t = tables.get(e.networkId);
        if (!t) continue;
        for (const name of e.dnsNames) (t.records[name.toLowerCase()] ??= []).push(e.ip);
        if (e.ip6) for (const name of e.dnsNames) ((t.records6 ??= {})[name.toLowerCase()] ??= []).push(e.ip6);
        for (const raw of e.links ?? []) {
          const link = parseEndpointLink(raw);
          const target = this.linkTarget(link.name, e.networkId);
          if (target) ((t.links ??= {})[e.ip] ??= {})[link.alias.toLowerCase()] = [target];
        }
      }
    }
    // Only networks with containers on them get a server: their bridge exists in the hub.
    const live = [...tables.entries()].filter(([id]) => this.endpointsOf(id).length).map(([, t]) => t);
    await this.hub.requireAgent().dns(live, upstreamResolvers(this.hostResolv, this.hub.uplinkInfo?.gateway));
  }

  /** The address on `networkId` of the running container a link names (by name or id), if any. */
  private linkTarget(ref: string, networkId: string): string | undefined {
    for (const c of this.containers.values()) {
      if (c.name !== ref && c.containerId !== ref) continue;
      return c.endpoints.find((e) => e.networkId === networkId)?.ip;
    }
    return undefined;
  }

  private prepared(rec: ContainerNetRecord): PreparedNetwork {
    const networks: Record<string, EndpointSettings> = {};
    for (const e of rec.endpoints) {
      const net = this.networks.get(e.networkId);
      networks[net?.name ?? e.networkName] = {
        IPAMConfig:
          e.requestedIp || e.requestedIp6 || e.linkLocalIps?.length
            ? {
                ...(e.requestedIp ? { IPv4Address: e.requestedIp } : {}),
                ...(e.requestedIp6 ? { IPv6Address: e.requestedIp6 } : {}),
                ...(e.linkLocalIps?.length ? { LinkLocalIPs: e.linkLocalIps } : {}),
              }
            : null,
        Links: e.links?.length ? e.links : null,
        Aliases: net?.predefined ? null : e.aliases,
        MacAddress: e.mac,
        DriverOpts: null,
        GwPriority: 0,
        NetworkID: e.networkId,
        EndpointID: e.endpointId,
        Gateway: net?.internal ? '' : e.gateway,
        IPAddress: e.ip,
        IPPrefixLen: e.prefixLen,
        IPv6Gateway: e.gateway6 && !net?.internal ? e.gateway6 : '',
        GlobalIPv6Address: e.ip6 ?? '',
        GlobalIPv6PrefixLen: e.prefixLen6 ?? 0,
        DNSNames: net?.predefined ? null : e.dnsNames,
      };
    }
    const ports: PortMap = {};
    for (const key of rec.exposed) ports[key.includes('/') ? key : `${key}/tcp`] = null;
    for (const p of rec.ports) {
      const key = `${p.containerPort}/${p.proto}`;
      (ports[key] ??= []).push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
    }
    const settings: ContainerNetworkSettings = { Networks: networks, Ports: ports };
    const gateway = this.hub.uplinkInfo?.gateway;
    const extra = rec.extraHosts.map((h) => parseExtraHost(h, gateway));
    const first = rec.endpoints[0];
    const userNet = rec.endpoints.find((e) => !this.networks.get(e.networkId)?.predefined);
    return {
      netnsPath: rec.netnsPath,
      settings,
      hostsFile: hostsFile({ hostname: rec.hostname, ...(first ? { ip: first.ip } : {}), ...(first?.ip6 ? { ip6: first.ip6 } : {}), extraHosts: extra }),
      resolvConf: resolvConf(this.hostResolv, { ...(userNet ? { dnsServer: userNet.gateway } : {}), upstreams: upstreamResolvers(this.hostResolv, gateway) }),
    };
  }
}
