/** Container records → dockerd's inspect and list JSON, and the human Status text `docker ps` prints. */
import { processArgs } from './container-config.js';
import { ZERO_TIME, type ContainerRecord, type NetworkJoin } from './container-record.js';
import { healthSuffix } from './health.js';
import { logConfigJson } from './log-config.js';
import type { ContainerDetails, ContainerPruneResult, ContainerSizes, ContainerView } from '../rootless/containers/interface.js';

/** Go's units.HumanDuration, which dockerd uses for "Up 3 seconds" / "Exited (0) 2 minutes ago". */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(ms / 60000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3600000);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(hours / 24 / 365)} years`;
}

/** The `Status` column of `docker ps`. */
export function statusText(rec: ContainerRecord, now: Date): string {
  const s = rec.state;
  if (s.restarting) {
    return `Restarting (${s.exitCode}) ${humanDuration(now.getTime() - Date.parse(s.finishedAt))} ago`;
  }
  switch (s.status) {
    case 'running':
      // dockerd shows either (Paused) or the health, never both.
      return `Up ${humanDuration(now.getTime() - Date.parse(s.startedAt))}${s.paused ? ' (Paused)' : healthSuffix(rec.health)}`;
    case 'exited':
      if (s.finishedAt === ZERO_TIME) return `Exited (${s.exitCode})`;
      return `Exited (${s.exitCode}) ${humanDuration(now.getTime() - Date.parse(s.finishedAt))} ago`;
    case 'removing':
      return 'Removal In Progress';
    case 'dead':
      return 'Dead';
    default:
      return 'Created';
  }
}

export function pathAndArgs(rec: ContainerRecord): { path: string; args: string[] } {
  const all = processArgs(rec.config);
  return { path: all[0] ?? '', args: all.slice(1) };
}

function networkMode(rec: ContainerRecord): string {
  const m = rec.hostConfig.NetworkMode;
  return !m || m === 'default' ? 'bridge' : m;
}

/**
 * The endpoints of a running container; otherwise the networks it will join (its mode's, or those
 * `docker network connect/disconnect` left it with), shown without an address.
 */
function networks(rec: ContainerRecord): Record<string, unknown> {
  if (rec.networkSettings) return rec.networkSettings.Networks;
  const empty = {
    IPAMConfig: null, Links: null, Aliases: null, MacAddress: '', DriverOpts: null, GwPriority: 0, NetworkID: '', EndpointID: '',
    Gateway: '', IPAddress: '', IPPrefixLen: 0, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, DNSNames: null,
  };
  // What the client asked for stays visible while the container is not running, as in dockerd.
  const asked = (j: Omit<NetworkJoin, 'name'>): Record<string, unknown> => ({
    ...empty,
    IPAMConfig:
      j.ipv4 || j.ipv6 || j.linkLocalIps?.length
        ? { ...(j.ipv4 ? { IPv4Address: j.ipv4 } : {}), ...(j.ipv6 ? { IPv6Address: j.ipv6 } : {}), ...(j.linkLocalIps?.length ? { LinkLocalIPs: j.linkLocalIps } : {}) }
        : null,
    Links: j.links?.length ? j.links : null,
    Aliases: j.aliases ?? null,
  });
  if (rec.joinNetworks) return Object.fromEntries(rec.joinNetworks.map((j) => [j.name, asked(j)]));
  const mode = networkMode(rec);
  const eps = (rec.networkingConfig?.EndpointsConfig ?? {}) as Record<string, EndpointAsked | null>;
  const ep = eps[mode] ?? (mode === 'bridge' ? eps.default : undefined);
  if (!ep) return { [mode]: empty };
  const linkLocalIps = ep.IPAMConfig?.LinkLocalIPs ?? [];
  return {
    [mode]: asked({
      ...(ep.IPAMConfig?.IPv4Address ? { ipv4: ep.IPAMConfig.IPv4Address } : {}),
      ...(ep.IPAMConfig?.IPv6Address ? { ipv6: ep.IPAMConfig.IPv6Address } : {}),
      ...(ep.Aliases?.length ? { aliases: ep.Aliases } : {}),
      ...(ep.Links?.length ? { links: ep.Links } : {}),
      ...(linkLocalIps.length ? { linkLocalIps } : {}),
    }),
  };
}

interface EndpointAsked {
  Aliases?: string[] | null;
  Links?: string[] | null;
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string; LinkLocalIPs?: string[] | null } | null;
}

/** A pause flag left behind by an exit does not count: only a running container can be frozen. */
export function isPaused(rec: ContainerRecord): boolean {
  return rec.state.status === 'running' && rec.state.paused === true;
}

/** dockerd's State.Status: a container in its restart back-off is "restarting". */
export function stateStatus(rec: ContainerRecord): string {
  if (rec.state.restarting) return 'restarting';
  return isPaused(rec) ? 'paused' : rec.state.status;
}

/** The default bridge's addresses (IPv6 too, with the daemon's --ipv6) also appear at the top of NetworkSettings, as in dockerd. */
function legacyAddress(rec: ContainerRecord): Record<string, unknown> {
  const bridge = rec.networkSettings?.Networks.bridge as
    | { IPAddress?: string; IPPrefixLen?: number; Gateway?: string; MacAddress?: string; EndpointID?: string; GlobalIPv6Address?: string; GlobalIPv6PrefixLen?: number; IPv6Gateway?: string }
    | undefined;
  return {
    EndpointID: bridge?.EndpointID ?? '',
    Gateway: bridge?.Gateway ?? '',
    GlobalIPv6Address: bridge?.GlobalIPv6Address ?? '',
    GlobalIPv6PrefixLen: bridge?.GlobalIPv6PrefixLen ?? 0,
    IPAddress: bridge?.IPAddress ?? '',
    IPPrefixLen: bridge?.IPPrefixLen ?? 0,
    IPv6Gateway: bridge?.IPv6Gateway ?? '',
    MacAddress: bridge?.MacAddress ?? '',
  };
}

/** Inspect's and ps's `Mounts`, in dockerd's shape. Volume data lives at <data-root>/volumes/<name>/_data. */
export function mountsJson(rec: ContainerRecord): Record<string, unknown>[] {
  const dataRoot = rec.paths.root.replace(/\/containers\/[^/]+\/?$/, '');
  return (rec.mounts ?? []).map(({ request, volume }) => {
    if (request.kind === 'volume') {
      return { Type: 'volume', Name: volume ?? '', Source: volume ? `${dataRoot}/volumes/${volume}/_data` : '', Destination: request.destination, Driver: 'local', Mode: request.mode || 'z', RW: !request.readOnly, Propagation: '' };
    }
    if (request.kind === 'bind') {
      return { Type: 'bind', Source: request.source, Destination: request.destination, Mode: request.mode, RW: !request.readOnly, Propagation: request.propagation };
    }
    return { Type: 'tmpfs', Source: '', Destination: request.destination, Mode: '', RW: !request.readOnly, Propagation: '' };
  });
}

/** ps's `Ports`: published ports with their host side, exposed-only ones without. */
export function portsSummary(rec: ContainerRecord): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const [key, bindings] of Object.entries(rec.networkSettings?.Ports ?? {})) {
    const [port, type = 'tcp'] = key.split('/');
    const privatePort = Number(port);
    if (!bindings || bindings.length === 0) out.push({ PrivatePort: privatePort, Type: type });
    else for (const b of bindings) out.push({ IP: b.HostIp, PrivatePort: privatePort, PublicPort: Number(b.HostPort), Type: type });
  }
  return out;
}

export function containerInspect(rec: ContainerRecord, execIds: string[] = []): Record<string, unknown> {
  const s = rec.state;
  const { path, args } = pathAndArgs(rec);
  return {
    Id: rec.id,
    Created: rec.created,
    Path: path,
    Args: args,
    State: {
      Status: stateStatus(rec),
      Running: s.status === 'running' || s.restarting === true,
      Paused: isPaused(rec),
      Restarting: s.restarting === true,
      OOMKilled: s.oomKilled,
      Dead: s.status === 'dead',
      Pid: s.pid,
      ExitCode: s.exitCode,
      Error: s.error,
      StartedAt: s.startedAt,
      FinishedAt: s.finishedAt,
      ...(rec.health ? { Health: { ...rec.health, Log: [...rec.health.Log] } } : {}),
    },
    Image: rec.imageId,
    ResolvConfPath: rec.paths.resolvConf,
    HostnamePath: rec.paths.hostname,
    HostsPath: rec.paths.hosts,
    LogPath: rec.paths.log,
    Name: rec.name,
    RestartCount: rec.restartCount,
    Driver: rec.driver,
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: execIds.length > 0 ? execIds : null,
    HostConfig: {
      RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
      ...rec.hostConfig,
      NetworkMode: networkMode(rec),
      // What was asked (json-file by default): the log is conmon's k8s-file, but it reads back like json-file,
      // and docker-py only fetches logs for json-file/journald.
      LogConfig: logConfigJson(rec.hostConfig.LogConfig),
    },
    GraphDriver: { Name: rec.driver, Data: null },
    Mounts: mountsJson(rec),
    Config: { ...rec.config, Hostname: rec.config.Hostname || rec.id.slice(0, 12), Image: rec.image },
    NetworkSettings: {
      Bridge: '', SandboxID: '', SandboxKey: '', Ports: rec.networkSettings?.Ports ?? {}, HairpinMode: false, LinkLocalIPv6Address: '', LinkLocalIPv6PrefixLen: 0,
      SecondaryIPAddresses: null, SecondaryIPv6Addresses: null, GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, IPv6Gateway: '',
      ...legacyAddress(rec),
      Networks: networks(rec),
    },
  };
}

export function containerSummary(rec: ContainerRecord, now: Date): Record<string, unknown> {
  const { path, args } = pathAndArgs(rec);
  const command = [path, ...args].join(' ');
  return {
    Id: rec.id,
    Names: [rec.name],
    Image: rec.image,
    ImageID: rec.imageId,
    Command: command,
    Created: Math.floor(Date.parse(rec.created) / 1000),
    Ports: portsSummary(rec),
    Labels: rec.config.Labels ?? {},
    State: stateStatus(rec),
    Status: statusText(rec, now),
    HostConfig: { NetworkMode: networkMode(rec) },
    NetworkSettings: { Networks: networks(rec) },
    Mounts: mountsJson(rec),
  };
}

function sizesJson(sizes: ContainerSizes | undefined): { SizeRw?: number; SizeRootFs?: number } {
  return sizes ? { SizeRw: sizes.rw, SizeRootFs: sizes.rootFs } : {};
}

/** An entry of GET /containers/json; `now` words its Status ("Up 3 minutes"). SizeRw/SizeRootFs only when computed. */
export function containerListJson(v: ContainerView, now: Date): Record<string, unknown> {
  return { ...containerSummary(v.record, now), ...sizesJson(v.sizes) };
}

/** GET /containers/{id}/json; SizeRw/SizeRootFs last, only with ?size=1. */
export function containerInspectJson(d: ContainerDetails): Record<string, unknown> {
  return { ...containerInspect(d.record, d.execIds), ...sizesJson(d.sizes) };
}

/** POST /containers/prune: nothing pruned is [], as the route has always answered. */
export function containerPruneJson(r: ContainerPruneResult): { ContainersDeleted: string[]; SpaceReclaimed: number } {
  return { ContainersDeleted: [...r.deleted], SpaceReclaimed: r.spaceReclaimed };
}
