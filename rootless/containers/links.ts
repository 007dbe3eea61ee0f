/**
 * Legacy container links (`--link other:alias`, HostConfig.Links), as dockerd gives them:
 * on the default bridge the linked container's address goes into /etc/hosts under the alias, its
 * hostname and its name, with the ALIAS_PORT_…/ALIAS_NAME/ALIAS_ENV_… variables; on a user network a
 * link is only an extra name for the other container, which the network's DNS answers for the linking
 * container alone (as dockerd's embedded DNS does). A link given only in HostConfig.Links (not in the
 * endpoint's Links, as the CLI also puts it) is written into this container's /etc/hosts at start.
 */
import { posix } from 'node:path';
import type { ContainerRecord, HostConfigRecord } from '../../translate/container-record.js';
import { internal, invalidParameter, notFound } from '../../translate/errors.js';
import { networkMode } from './network-plan.js';

interface Link {
  /** The other container's name, without the slash. */
  name: string;
  alias: string;
}

/** opts.ParseLink: "name", "name:alias", or the stored "/name:/parent/alias". */
export function parseLink(raw: string): Link {
  if (!raw) throw invalidParameter('empty string specified for links');
  const parts = raw.split(':');
  if (parts.length > 2) throw invalidParameter(`bad format for links: ${raw}`);
  const [name = '', alias] = parts;
  if (alias === undefined) return { name: name.replace(/^\//, ''), alias: name.replace(/^\//, '') };
  if (name.startsWith('/')) return { name: name.slice(1), alias: posix.basename(alias) };
  return { name, alias };
}

const HOST_AND_LINKS = "conflicting options: host type networking can't be used with links. This would result in undefined behavior";

function rawLinks(hostConfig: HostConfigRecord): string[] {
  return Array.isArray(hostConfig.Links) ? hostConfig.Links.filter((l): l is string => typeof l === 'string') : [];
}

/**
 * At create, for the default bridge (dockerd's registerLinks ignores links on user networks): every
 * linked container must exist, and Links is stored as dockerd shows it, "/other:/me/alias".
 */
export function registerLinks(hostConfig: HostConfigRecord, selfName: string, find: (name: string) => ContainerRecord | undefined): void {
  const links = rawLinks(hostConfig);
  if (links.length === 0) return;
  const mode = networkMode(hostConfig.NetworkMode);
  if (mode.kind === 'host') throw invalidParameter(HOST_AND_LINKS);
  if (mode.kind !== 'networks' || mode.primary !== 'bridge') return;
  hostConfig.Links = links.map((raw) => {
    const link = parseLink(raw);
    const child = find(link.name);
    if (!child) throw invalidParameter(`could not get container for ${link.name}`);
    if (networkMode(child.hostConfig.NetworkMode).kind === 'host') throw invalidParameter(HOST_AND_LINKS);
    return `${child.name}:${selfName}/${link.alias}`;
  });
}

interface EndpointView {
  IPAddress?: string;
}

function endpointOf(rec: ContainerRecord, network: string): EndpointView | undefined {
  return rec.networkSettings?.Networks[network] as EndpointView | undefined;
}

/** links.EnvVars: the lowest exposed port (tcp first) as ALIAS_PORT, each port's variables, the name, the other's env. */
function linkEnv(alias: string, linkName: string, child: ContainerRecord, ip: string): string[] {
  const prefix = alias.toUpperCase().replace(/-/g, '_');
  const ports = Object.keys(child.config.ExposedPorts ?? {})
    .map((key) => {
      const [port = '', proto = 'tcp'] = key.split('/');
      return { port, proto: proto.toLowerCase() };
    })
    .sort((a, b) => Number(a.port) - Number(b.port) || (a.proto === 'tcp' ? -1 : b.proto === 'tcp' ? 1 : 0));
  const env: string[] = [];
  const first = ports[0];
  if (first) env.push(`${prefix}_PORT=${first.proto}://${ip}:${first.port}`);
  for (const { port, proto } of ports) {
    const key = `${prefix}_PORT_${port}_${proto.toUpperCase()}`;
    env.push(`${key}=${proto}://${ip}:${port}`, `${key}_ADDR=${ip}`, `${key}_PORT=${port}`, `${key}_PROTO=${proto}`);
  }
  env.push(`${prefix}_NAME=${linkName}`);
  for (const kv of child.config.Env ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) continue;
    const key = kv.slice(0, eq);
    if (key === 'HOME' || key === 'PATH') continue;
    env.push(`${prefix}_ENV_${key}=${kv.slice(eq + 1)}`);
  }
  return env;
}

/**
 * `DELETE /containers/{parent}/{alias}?link=true` (docker rm --link): drops the legacy link named
 * /parent/alias from the parent's links, with dockerd's rmLink errors. Returns the parent to save.
 */
export function removeLink(ref: string, byName: (name: string) => ContainerRecord | undefined): ContainerRecord {
  const name = ref.startsWith('/') ? ref : `/${ref}`;
  const cut = name.lastIndexOf('/');
  const parentName = name.slice(0, cut);
  const parent = parentName ? byName(parentName) : undefined;
  const links = parent ? rawLinks(parent.hostConfig) : [];
  const kept = links.filter((raw) => raw.split(':')[1] !== name);
  // The link name is looked up first, as a container name: unknown, it is dockerd's 404.
  if (kept.length === links.length && !(parentName === '' && byName(name))) throw notFound(`No such container: ${ref}`);
  if (!parentName) throw internal('Conflict, cannot remove the default link name of the container');
  if (!parent) throw internal(`Cannot get parent ${parentName} for link name ${name}`);
  parent.hostConfig.Links = kept.length ? kept : null;
  return parent;
}

export interface LinkSetup {
  /** Lines for the container's /etc/hosts. */
  hosts: string[];
  /** Variables that go before the container's own Env (which wins on a clash, as in dockerd). */
  env: string[];
}

/** At start, once the container's own endpoints are known (rec.networkSettings). */
export function linkSetup(rec: ContainerRecord, byName: (name: string) => ContainerRecord | undefined): LinkSetup {
  const out: LinkSetup = { hosts: [], env: [] };
  const links = rawLinks(rec.hostConfig);
  const joined = Object.keys(rec.networkSettings?.Networks ?? {});
  if (joined.length === 0) return out;
  const selfName = rec.name;
  if (joined.includes('bridge')) {
    for (const raw of links) {
      const link = parseLink(raw);
      const child = byName(link.name);
      // A linked container removed since is dropped from the links, as dockerd does.
      if (!child) continue;
      const linkName = `${selfName}/${link.alias}`;
      if (child.state.status !== 'running') throw internal(`Cannot link to a non running container: ${child.name} AS ${linkName}`);
      const ip = endpointOf(child, 'bridge')?.IPAddress;
      if (!ip) throw internal(`cannot link to ${child.name}, as it does not belong to the default network`);
      const childName = child.name.slice(1);
      const names = [link.alias, child.config.Hostname || child.id.slice(0, 12), ...(link.alias !== childName ? [childName] : [])];
      out.hosts.push(`${ip}\t${names.join(' ')}`);
      out.env.push(...linkEnv(link.alias, linkName, child, ip));
    }
  }
  // User networks: the CLI puts --link into the endpoint's Links as well as HostConfig.Links, and the
  // network's DNS answers those for this container alone (slirp/), as dockerd's does. A link only in
  // HostConfig.Links (an API client's) still gets an /etc/hosts line.
  const eps = rec.networkingConfig?.EndpointsConfig ?? {};
  for (const network of joined.filter((n) => n !== 'bridge')) {
    const viaDns = new Set((eps[network]?.Links ?? []).map((raw) => parseLink(raw).alias));
    for (const raw of links) {
      if (viaDns.has(parseLink(raw).alias)) continue;
      const link = parseLink(raw);
      const child = byName(link.name);
      const ip = child?.state.status === 'running' ? endpointOf(child, network)?.IPAddress : undefined;
      if (ip) out.hosts.push(`${ip}\t${link.alias}`);
    }
  }
  return out;
}
