import { readFile } from 'node:fs/promises';
import { deviceUsable } from './devices.js';
import { findAll } from './paths.js';
import { aptInstall } from './fixes.js';
import type { CheckContext, DoctorCheck, NetworkFact } from './types.js';

export interface NetworkResult {
  network: NetworkFact | null;
  check: DoctorCheck;
}

export async function checkNetwork(ctx: CheckContext): Promise<NetworkResult> {
  const [tools, tun] = await Promise.all([findAll(['pasta', 'slirp4netns'] as const, ctx.env), deviceUsable('/dev/net/tun')]);
  // slirp4netns first for IPv4: it keeps about 1.5 MiB resident where pasta touches ~20 MiB of packet
  // buffers at start, at the same throughput here. pasta takes over once IPv6 is needed (slirp/hub.ts).
  const network: NetworkFact | null = tools.slirp4netns
    ? { name: 'slirp4netns', path: tools.slirp4netns, ...(tools.pasta ? { ipv6Path: tools.pasta } : {}) }
    : tools.pasta
      ? { name: 'pasta', path: tools.pasta, ipv6Path: tools.pasta }
      : null;
  if (!network) {
    return {
      network,
      check: { id: 'network', status: 'missing', detail: 'neither pasta nor slirp4netns on PATH (only --network none/host)', fix: aptInstall('passt'), essential: false },
    };
  }
  if (!tun.ok) {
    return {
      network: null,
      check: { id: 'network', status: 'missing', detail: `${network.name} found but ${tun.reason}`, fix: 'sudo chmod 666 /dev/net/tun', essential: false },
    };
  }
  const other =
    network.name === 'pasta' ? '; slirp4netns not found' : tools.pasta ? '; pasta for IPv6 networks' : '; pasta not found: IPv6 networks cannot reach out';
  return { network, check: { id: 'network', status: 'ok', detail: `${network.name} (${network.path}), /dev/net/tun usable${other}`, essential: false } };
}

const PORT_START = '/proc/sys/net/ipv4/ip_unprivileged_port_start';

export interface PortsResult {
  unprivilegedPortStart: number;
  check: DoctorCheck;
}

/** Informational: only publishing host ports below the value needs the sysctl; containers' own ports are unaffected. */
export async function checkPorts(): Promise<PortsResult> {
  const text = await readFile(PORT_START, 'utf8').catch(() => '');
  const value = /^\d+$/.test(text.trim()) ? Number(text.trim()) : -1;
  const detail =
    value < 0
      ? `cannot read ${PORT_START}`
      : value === 0
        ? 'net.ipv4.ip_unprivileged_port_start=0: any host port can be published'
        : `net.ipv4.ip_unprivileged_port_start=${value}: host ports below ${value} cannot be published (sudo sysctl net.ipv4.ip_unprivileged_port_start=0 allows them)`;
  return { unprivilegedPortStart: value, check: { id: 'ports', status: 'ok', detail, essential: false } };
}
