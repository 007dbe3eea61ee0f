/**
 * Network request bodies (NetworkCreateRequest, NetworkConnectRequest, NetworkDisconnectRequest,
 * EndpointSettings) and the Network reply, written from the Engine API definitions.
 */
import { bool, int, listOf, mapOf, str, strList, strMap, struct } from './types.js';

export const endpointSettingsSchema = struct({
  IPAMConfig: struct({ IPv4Address: str, IPv6Address: str, LinkLocalIPs: strList }),
  Links: strList,
  Aliases: strList,
  DNSNames: strList,
  MacAddress: str,
  DriverOpts: strMap,
  GwPriority: int,
  NetworkID: str,
  EndpointID: str,
  Gateway: str,
  IPAddress: str,
  IPPrefixLen: int,
  IPv6Gateway: str,
  GlobalIPv6Address: str,
  GlobalIPv6PrefixLen: int,
});

const ipamConfig = struct({ Subnet: str, IPRange: str, Gateway: str, AuxiliaryAddresses: strMap });

export const networkCreateRequestSchema = {
  $id: 'NetworkCreateRequest',
  ...struct({
    Name: str,
    CheckDuplicate: bool,
    Driver: str,
    Scope: str,
    Internal: bool,
    Attachable: bool,
    Ingress: bool,
    ConfigOnly: bool,
    ConfigFrom: struct({ Network: str }),
    IPAM: struct({ Driver: str, Config: listOf(ipamConfig), Options: strMap }),
    EnableIPv4: bool,
    EnableIPv6: bool,
    Options: strMap,
    Labels: strMap,
  }),
} as const;

export const networkConnectRequestSchema = {
  $id: 'NetworkConnectRequest',
  ...struct({ Container: str, EndpointConfig: endpointSettingsSchema }),
} as const;

export const networkDisconnectRequestSchema = {
  $id: 'NetworkDisconnectRequest',
  ...struct({ Container: str, Force: bool }),
} as const;

// ---- replies --------------------------------------------------------------------------------

const rstr = { type: 'string' } as const;
const rbool = { type: 'boolean' } as const;
const rstrMap = { type: 'object', additionalProperties: rstr } as const;

export const networkSchema = {
  $id: 'Network',
  type: 'object',
  required: ['Name', 'Id', 'Created', 'Scope', 'Driver', 'EnableIPv6', 'IPAM', 'Internal', 'Attachable', 'Ingress', 'Containers', 'Options', 'Labels'],
  properties: {
    Name: rstr,
    Id: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    Created: rstr,
    Scope: { enum: ['local', 'global', 'swarm'] },
    Driver: rstr,
    EnableIPv4: rbool,
    EnableIPv6: rbool,
    IPAM: {
      type: 'object',
      required: ['Driver', 'Config'],
      properties: {
        Driver: rstr,
        Config: { type: ['array', 'null'], items: { type: 'object', properties: { Subnet: rstr, IPRange: rstr, Gateway: rstr } } },
        Options: { type: ['object', 'null'], additionalProperties: rstr },
      },
    },
    Internal: rbool,
    Attachable: rbool,
    Ingress: rbool,
    ConfigFrom: { type: 'object', properties: { Network: rstr } },
    ConfigOnly: rbool,
    Containers: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        required: ['Name', 'EndpointID', 'MacAddress', 'IPv4Address', 'IPv6Address'],
        properties: { Name: rstr, EndpointID: rstr, MacAddress: rstr, IPv4Address: rstr, IPv6Address: rstr },
      },
    },
    Options: rstrMap,
    Labels: rstrMap,
  },
} as const;

/** NetworkingConfig.EndpointsConfig of ContainerCreate: network name → EndpointSettings. */
export const endpointsConfigSchema = mapOf(endpointSettingsSchema);
