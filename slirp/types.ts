/** Records the networking subsystem persists, and the shapes it hands to the container code. */

export type NetworkDriver = 'bridge' | 'host' | 'null';

export interface NetworkRecord {
  id: string;
  name: string;
  /** RFC 3339 with nanoseconds, as dockerd prints it. */
  created: string;
  driver: NetworkDriver;
  internal: boolean;
  attachable: boolean;
  labels: Record<string, string>;
  options: Record<string, string>;
  ipamOptions: Record<string, string> | null;
  /** false for an IPv6-only network (EnableIPv4: false); absent means true. */
  enableIPv4?: boolean;
  /** Bridge networks with IPv4 only. */
  subnet?: string;
  gateway?: string;
  ipRange?: string;
  /** Interface name of the network's bridge in the hub netns. */
  bridge?: string;
  /** bridge, host, none: listed always, never removed. */
  predefined: boolean;
  /** Whether the user gave IPAM config (inspect shows it the way it was asked). */
  userIpam: boolean;
  /** Whether that config named the gateway: dockerd shows a user's IPAM.Config as given, without one it made up. */
  userGateway?: boolean;
  /** EnableIPv6 networks: their IPv6 subnet (a ULA /64 unless given), gateway, and what the user gave. */
  enableIPv6?: boolean;
  subnet6?: string;
  gateway6?: string;
  userIpam6?: boolean;
  userGateway6?: boolean;
  /** --ip-range of the IPv6 subnet: dynamic IPv6 addresses come from here. */
  ipRange6?: string;
  /** --aux-address per family, as given (name → address): reserved, never handed to a container. */
  auxAddresses?: Record<string, string>;
  auxAddresses6?: Record<string, string>;
}

export interface EndpointRecord {
  networkId: string;
  networkName: string;
  endpointId: string;
  /** Interface name inside the container: eth0, eth1, ... */
  ifName: string;
  /** veth end in the hub, enslaved to the network's bridge. */
  hostIf: string;
  /** Empty on an IPv6-only network (prefixLen 0, gateway ''), as dockerd shows it. */
  ip: string;
  prefixLen: number;
  gateway: string;
  mac: string;
  aliases: string[];
  dnsNames: string[];
  /** A static address the client asked for (inspect shows it under IPAMConfig). */
  requestedIp?: string;
  /** On EnableIPv6 networks. */
  ip6?: string;
  prefixLen6?: number;
  gateway6?: string;
  requestedIp6?: string;
  /** EndpointSettings.Links as given ("other:alias"); the DNS answers each alias for this endpoint alone. */
  links?: string[];
  /** IPAMConfig.LinkLocalIPs as given; also set on the interface. */
  linkLocalIps?: string[];
}

export type PortProto = 'tcp' | 'udp' | 'sctp';

export interface PublishedPort {
  proto: PortProto;
  containerPort: number;
  hostIp: string;
  hostPort: number;
}

export interface ContainerNetRecord {
  containerId: string;
  name: string;
  hostname: string;
  netnsPath: string;
  endpoints: EndpointRecord[];
  ports: PublishedPort[];
  /** Exposed but unpublished ports, so inspect can show them as null. */
  exposed: string[];
  extraHosts: string[];
}

/** What the container code asks for when a container gets its network. */
export interface NetworkAttachRequest {
  name: string;
  aliases?: string[];
  /** A static IPv4 address (--ip / IPAMConfig.IPv4Address). */
  ipv4?: string;
  /** A static IPv6 address (--ip6 / IPAMConfig.IPv6Address). */
  ipv6?: string;
  /** EndpointSettings.Links: "other:alias" or "other". */
  links?: string[];
  /** IPAMConfig.LinkLocalIPs (--link-local-ip). */
  linkLocalIps?: string[];
}

export interface PortBindingRequest {
  HostIp?: string;
  HostPort?: string;
}

export interface PrepareOptions {
  /** The container's name without the leading slash. */
  containerName: string;
  /** Empty means a netns with only loopback (--network none). */
  networks: NetworkAttachRequest[];
  /** HostConfig.PortBindings: {"80/tcp": [{HostIp, HostPort}]}. */
  portBindings?: Record<string, PortBindingRequest[] | null>;
  /** Config.ExposedPorts keys ("80/tcp"). */
  exposedPorts?: string[];
  publishAll?: boolean;
  hostname: string;
  /** HostConfig.ExtraHosts: "name:ip", "name=ip" or "name:host-gateway". */
  extraHosts?: string[];
}

/** One entry of NetworkSettings.Networks, in dockerd's shape. */
export interface EndpointSettings {
  IPAMConfig: { IPv4Address?: string; IPv6Address?: string; LinkLocalIPs?: string[] } | null;
  Links: string[] | null;
  Aliases: string[] | null;
  MacAddress: string;
  DriverOpts: null;
  GwPriority: number;
  NetworkID: string;
  EndpointID: string;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  IPv6Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  DNSNames: string[] | null;
}

export type PortMap = Record<string, { HostIp: string; HostPort: string }[] | null>;

export interface ContainerNetworkSettings {
  Networks: Record<string, EndpointSettings>;
  Ports: PortMap;
}

export interface PreparedNetwork {
  /** Give this to the OCI spec: namespaces.network = {mode:'path', path: netnsPath}. */
  netnsPath: string;
  settings: ContainerNetworkSettings;
  hostsFile: string;
  resolvConf: string;
}
