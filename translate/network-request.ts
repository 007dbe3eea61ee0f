/**
 * Network request bodies (NetworkCreateRequest, NetworkConnectRequest, NetworkDisconnectRequest),
 * already checked against openapi/networks.ts, into the network service's domain types. Pure.
 */
import { invalidParameter } from './errors.js';
import type { CreateNetworkSpec, NetworkConnectParams } from '../slirp/interface.js';

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const strMap = (v: unknown): Record<string, string> =>
  isObject(v) ? Object.fromEntries(Object.entries(v).filter(([, x]) => typeof x === 'string') as [string, string][]) : {};
/** Non-empty strings only: dockerd treats "" as not given. */
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x !== '') : []);

export function networkCreateSpec(body: unknown): CreateNetworkSpec {
  if (!isObject(body)) throw invalidParameter('invalid JSON: the request body must be a network configuration object');
  const ipam = isObject(body.IPAM) ? body.IPAM : undefined;
  const configs = Array.isArray(ipam?.Config) ? ipam.Config.filter(isObject) : [];
  return {
    name: typeof body.Name === 'string' ? body.Name : '',
    ...(str(body.Driver) ? { driver: str(body.Driver)! } : {}),
    internal: body.Internal === true,
    attachable: body.Attachable === true,
    enableIPv6: body.EnableIPv6 === true,
    ...(typeof body.EnableIPv4 === 'boolean' ? { enableIPv4: body.EnableIPv4 } : {}),
    labels: strMap(body.Labels),
    options: strMap(body.Options),
    ...(ipam
      ? {
          ipam: {
            ...(str(ipam.Driver) ? { driver: str(ipam.Driver)! } : {}),
            // Absent stays absent: inspect shows IPAM.Options null then, as dockerd stores nil.
            ...(isObject(ipam.Options) ? { options: strMap(ipam.Options) } : {}),
            config: configs.map((c) => ({
              ...(str(c.Subnet) ? { subnet: str(c.Subnet)! } : {}),
              ...(str(c.Gateway) ? { gateway: str(c.Gateway)! } : {}),
              ...(str(c.IPRange) ? { ipRange: str(c.IPRange)! } : {}),
              ...(isObject(c.AuxiliaryAddresses) && Object.keys(c.AuxiliaryAddresses).length ? { auxAddresses: strMap(c.AuxiliaryAddresses) } : {}),
            })),
          },
        }
      : {}),
  };
}

/** The container named by a connect or disconnect body; '' when none (the service answers 400). */
export function networkRequestContainer(body: unknown): string {
  return isObject(body) && typeof body.Container === 'string' ? body.Container : '';
}

/** POST /networks/{id}/connect: EndpointConfig's aliases, static addresses, links and link-local IPs. */
export function networkConnectParams(body: unknown): NetworkConnectParams {
  const b = isObject(body) ? body : {};
  const cfg = isObject(b.EndpointConfig) ? b.EndpointConfig : {};
  const ipam = isObject(cfg.IPAMConfig) ? cfg.IPAMConfig : {};
  const aliases = Array.isArray(cfg.Aliases) ? cfg.Aliases.filter((a): a is string => typeof a === 'string') : [];
  const ipv4 = str(ipam.IPv4Address);
  const ipv6 = str(ipam.IPv6Address);
  const links = strings(cfg.Links);
  const linkLocalIps = strings(ipam.LinkLocalIPs);
  return {
    container: networkRequestContainer(body),
    endpoint: { aliases, ...(ipv4 ? { ipv4 } : {}), ...(ipv6 ? { ipv6 } : {}), ...(links.length ? { links } : {}), ...(linkLocalIps.length ? { linkLocalIps } : {}) },
  };
}
