/**
 * `docker network connect/disconnect` as the container's record sees it: dockerd keeps a stopped
 * container's networks in its config and joins them at the next start; a running container's live
 * attach (slirp/) is recorded the same way so a restart keeps it.
 */
import type { ContainerRecord, NetworkJoin } from '../../translate/container-record.js';
import { internal, invalidParameter, type EngineError } from '../../translate/errors.js';
import type { NetworkManager } from '../../slirp/manager.js';
import type { NetworkRecord } from '../../slirp/types.js';
import type { ContainerStore } from './store.js';
import { attachRequests, networkMode } from './network-plan.js';

/** The networks the container joins at its next start, primary first. */
export function plannedJoins(rec: ContainerRecord): NetworkJoin[] {
  if (rec.joinNetworks) return rec.joinNetworks;
  const mode = networkMode(rec.hostConfig.NetworkMode);
  return mode.kind === 'networks' ? attachRequests(mode.primary, rec.networkingConfig) : [];
}

/** What a connect asks for on the new network (EndpointConfig). */
export interface ConnectEndpoint {
  aliases: string[];
  ipv4?: string;
  ipv6?: string;
  links?: string[];
  linkLocalIps?: string[];
}

const removalError = (id: string): EngineError =>
  internal(`Container ${id} is marked for removal and cannot be connected or disconnected to the network`);

/** dockerd's checks for connecting a container that has no live endpoint (updateNetworkSettings, validateEndpointSettings). */
function checkConnect(rec: ContainerRecord, net: NetworkRecord, endpoint: ConnectEndpoint): void {
  const mode = networkMode(rec.hostConfig.NetworkMode);
  if (mode.kind === 'host' || mode.kind === 'container') {
    throw invalidParameter('container sharing network namespace with another container or host cannot be connected to any other network');
  }
  if (net.driver === 'host') throw invalidParameter('cannot connect container to host network - container must be created in host network mode');
  if (mode.kind === 'none' || net.driver === 'null') {
    throw invalidParameter('container cannot be connected to multiple networks with one of the networks in private (none) mode');
  }
  if (net.predefined && endpoint.ipv4) throw invalidParameter('user specified IP address is supported on user defined networks only');
  if (net.predefined && endpoint.aliases.length > 0) throw invalidParameter('network-scoped alias is supported only for containers in user defined networks');
}

/**
 * Records a connect; false when nothing changed. `live`: the network code already attached the running
 * container, so its checks have passed.
 */
export function recordConnect(rec: ContainerRecord, net: NetworkRecord, endpoint: ConnectEndpoint, live: boolean): boolean {
  if (rec.state.status === 'removing' || rec.state.status === 'dead') throw removalError(rec.id);
  if (!live) checkConnect(rec, net, endpoint);
  const joins = plannedJoins(rec);
  // dockerd leaves an existing entry alone ("avoid duplicate config").
  if (joins.some((j) => j.name === net.name)) return false;
  const join: NetworkJoin = {
    name: net.name,
    ...(endpoint.aliases.length ? { aliases: [...endpoint.aliases] } : {}),
    ...(endpoint.ipv4 ? { ipv4: endpoint.ipv4 } : {}),
    ...(endpoint.ipv6 ? { ipv6: endpoint.ipv6 } : {}),
    ...(endpoint.links?.length ? { links: [...endpoint.links] } : {}),
    ...(endpoint.linkLocalIps?.length ? { linkLocalIps: [...endpoint.linkLocalIps] } : {}),
  };
  rec.joinNetworks = [...joins, join];
  return true;
}

/** Records a disconnect; a container that was not on the network is refused as dockerd does (unless `live` already detached it). */
export function recordDisconnect(rec: ContainerRecord, net: NetworkRecord, live: boolean): boolean {
  if (rec.state.status === 'removing' || rec.state.status === 'dead') throw removalError(rec.id);
  const joins = plannedJoins(rec);
  if (!joins.some((j) => j.name === net.name)) {
    if (live) return false;
    throw internal(`container ${rec.id} is not connected to the network ${net.name}`);
  }
  rec.joinNetworks = joins.filter((j) => j.name !== net.name);
  return true;
}

/** The network API's `connected`/`disconnected` hooks (slirp/interface.ts ContainerLookup), bound to the engine's store and networks. */
export function networkHooks(
  store: ContainerStore,
  manager: NetworkManager,
  /** The container's lock: the record changes between, never in the middle of, its start, exit or removal. */
  underLock: <T>(id: string, work: () => Promise<T>) => Promise<T> = (_id, work) => work(),
): {
  connected(containerId: string, network: { id: string }, endpoint: ConnectEndpoint): Promise<void>;
  disconnected(containerId: string, network: { id: string }): Promise<void>;
} {
  return {
    connected: (containerId, network, endpoint) => underLock(containerId, async () => {
      const rec = store.get(containerId);
      const net = manager.find(network.id);
      if (!rec || !net) return;
      const live = manager.settingsOf(rec.id);
      const changed = recordConnect(rec, net, endpoint, !!live?.settings.Networks[net.name]);
      // Inspect of a running container shows its endpoints as they are now.
      if (live) rec.networkSettings = live.settings as ContainerRecord['networkSettings'];
      if (changed || live) await store.save(rec);
    }),
    disconnected: (containerId, network) => underLock(containerId, async () => {
      const rec = store.get(containerId);
      const net = manager.find(network.id);
      if (!rec || !net) return;
      const live = manager.settingsOf(rec.id);
      // The recorded settings still list the network when the live detach just happened.
      const wasAttached = !!live && !!rec.networkSettings?.Networks[net.name];
      const changed = recordDisconnect(rec, net, wasAttached);
      if (live) rec.networkSettings = live.settings as ContainerRecord['networkSettings'];
      if (changed || live) await store.save(rec);
    }),
  };
}
