/**
 * The network API's interface (list, inspect, create, remove, connect, disconnect, prune), beside the
 * networking code (slirp/service.ts implements it) in domain types: translate/network-json.ts turns
 * request bodies into these and these into dockerd's JSON. api/services.ts re-exports it.
 */
import type { CreateNetworkSpec } from './network-records.js';
import type { EndpointRecord, NetworkAttachRequest, NetworkRecord } from './types.js';

export type { CreateNetworkSpec };

/** A container attached to a network, with its endpoint there. */
export interface NetworkEndpointView {
  containerId: string;
  /** The container's name, without the leading slash. */
  name: string;
  endpoint: EndpointRecord;
}

/** A network and the containers attached to it now. */
export interface NetworkView {
  network: NetworkRecord;
  endpoints: NetworkEndpointView[];
}

/** POST /networks/{id}/connect: which container, and its endpoint's settings (the network's name comes from the network). */
export interface NetworkConnectParams {
  /** Id, id prefix or name; '' when the request named none (answered 400). */
  container: string;
  endpoint: ConnectEndpoint;
}

/** An endpoint's settings on connect: NetworkAttachRequest without the network's name, aliases always listed. */
export type ConnectEndpoint = Omit<NetworkAttachRequest, 'name' | 'aliases'> & { aliases: string[] };

/** How the network API finds containers; provided by the container code (connect/disconnect). */
export interface ContainerLookup {
  /** A container by id, id prefix or name; undefined answers 404 "No such container". */
  lookup(ref: string): Promise<{ id: string; name: string; running: boolean } | undefined>;
  /** Record in the container's config that it joins a network (applied at its next start when stopped). */
  connected?(containerId: string, network: { id: string; name: string }, endpoint: ConnectEndpoint): Promise<void>;
  disconnected?(containerId: string, network: { id: string; name: string }): Promise<void>;
  /** True while a (stopped) container's config still names the network, so prune keeps it. */
  references?(networkId: string): Promise<boolean>;
}

export interface NetworkService {
  /** `filters` as the query gives it (JSON); the list carries no endpoints (dockerd's since API 1.28). */
  list(filters?: string): Promise<NetworkRecord[]>;
  inspect(ref: string): Promise<NetworkView>;
  create(spec: CreateNetworkSpec): Promise<NetworkRecord>;
  remove(ref: string): Promise<void>;
  connect(ref: string, params: NetworkConnectParams): Promise<void>;
  /** `container` as for connect. */
  disconnect(ref: string, container: string): Promise<void>;
  /** The names of the networks removed. */
  prune(filters?: string): Promise<string[]>;
}
