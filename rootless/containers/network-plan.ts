/**
 * Which network namespace a container gets and which Docker networks it joins, from its NetworkMode and
 * NetworkingConfig; the network manager in slirp/ does the plumbing.
 */
import type { NamespaceChoice } from '../../translate/oci-spec-input.js';
import type { NetworkingConfigBody } from '../../openapi/containers.js';
import { invalidParameter, notFound } from '../../translate/errors.js';
import type { NetworkManager } from '../../slirp/manager.js';
import type { NetworkAttachRequest, PreparedNetwork } from '../../slirp/types.js';

export type NetworkModeKind = { kind: 'host' } | { kind: 'none' } | { kind: 'container'; ref: string } | { kind: 'networks'; primary: string };

/** dockerd's reading of HostConfig.NetworkMode: "" and "default" mean the bridge network. */
export function networkMode(mode: string | undefined): NetworkModeKind {
  const m = mode ?? '';
  if (m === 'host') return { kind: 'host' };
  if (m === 'none') return { kind: 'none' };
  if (m.startsWith('container:')) {
    const ref = m.slice('container:'.length);
    if (!ref) throw invalidParameter('invalid network mode: container: needs a container name or ID');
    return { kind: 'container', ref };
  }
  return { kind: 'networks', primary: m === '' || m === 'default' ? 'bridge' : m };
}

type EndpointConfig = NonNullable<NonNullable<NetworkingConfigBody['EndpointsConfig']>[string]>;

/** EndpointsConfig by network name; the CLI names the default network "default", which is the bridge. */
function endpointsConfig(networkingConfig: NetworkingConfigBody | null | undefined): Record<string, EndpointConfig | null> {
  const eps = networkingConfig?.EndpointsConfig ?? {};
  return Object.fromEntries(Object.entries(eps).map(([name, ep]) => [name === 'default' ? 'bridge' : name, ep]));
}

/** The networks to join: the primary one first, then any other EndpointsConfig entries (API ≥ 1.44). */
export function attachRequests(primary: string, networkingConfig: NetworkingConfigBody | null | undefined): NetworkAttachRequest[] {
  const eps = endpointsConfig(networkingConfig);
  const names = [primary, ...Object.keys(eps).filter((n) => n !== primary)];
  return names.map((name) => {
    const ep = eps[name] ?? {};
    const ipv4 = ep.IPAMConfig?.IPv4Address || undefined;
    const ipv6 = ep.IPAMConfig?.IPv6Address || undefined;
    const linkLocalIps = ep.IPAMConfig?.LinkLocalIPs ?? [];
    return {
      name,
      ...(ep.Aliases?.length ? { aliases: ep.Aliases } : {}),
      ...(ipv4 ? { ipv4 } : {}),
      ...(ipv6 ? { ipv6 } : {}),
      ...(ep.Links?.length ? { links: ep.Links } : {}),
      ...(linkLocalIps.length ? { linkLocalIps } : {}),
    };
  });
}

/** At create: named networks must exist (404 `network x not found`, as dockerd answers). */
export function checkNetworks(mode: NetworkModeKind, networkingConfig: NetworkingConfigBody | null | undefined, manager: NetworkManager): void {
  if (mode.kind !== 'networks') return;
  for (const req of attachRequests(mode.primary, networkingConfig)) {
    if (!manager.find(req.name)) throw notFound(`network ${req.name} not found`);
  }
}

export interface ContainerNetworkInput {
  id: string;
  /** Without the leading slash. */
  name: string;
  hostname: string;
  mode: NetworkModeKind;
  networkingConfig?: NetworkingConfigBody | null;
  /** The networks to join when connect/disconnect changed them (record.joinNetworks). */
  joins?: NetworkAttachRequest[];
  portBindings?: Record<string, unknown> | null;
  exposedPorts: string[];
  publishAll: boolean;
  extraHosts?: string[] | null;
}

export interface ContainerNetwork {
  namespace: NamespaceChoice;
  /** Absent for host mode and for joining another container's namespace. */
  prepared?: PreparedNetwork;
}

/** Sets the container's network up for a start; `resolveContainer` maps container:<ref> to a running container's id. */
export async function prepareNetwork(input: ContainerNetworkInput, manager: NetworkManager, resolveContainer: (ref: string) => string): Promise<ContainerNetwork> {
  const { mode } = input;
  if (mode.kind === 'host') return { namespace: { mode: 'host' } };
  if (mode.kind === 'container') {
    const other = resolveContainer(mode.ref);
    const path = manager.netnsPathOf(other);
    if (!path) throw invalidParameter(`cannot join network of a non running container: ${mode.ref}`);
    return { namespace: { mode: 'path', path } };
  }
  const prepared = await manager.prepareContainerNetwork(input.id, {
    containerName: input.name,
    hostname: input.hostname,
    networks: mode.kind === 'none' ? [] : (input.joins ?? attachRequests(mode.primary, input.networkingConfig)),
    portBindings: (input.portBindings ?? undefined) as Parameters<NetworkManager['prepareContainerNetwork']>[1]['portBindings'],
    exposedPorts: input.exposedPorts,
    publishAll: input.publishAll,
    extraHosts: input.extraHosts ?? undefined,
  });
  return { namespace: { mode: 'path', path: prepared.netnsPath }, prepared };
}
