/** Published ports: parsing Docker's PortBindings and binding the host side with dockerd's errors. */
import { readFileSync } from 'node:fs';
import { AgentError, type HeldPort, type HubAgent } from './agent-client.js';
import { EngineError, invalidParameter } from '../translate/errors.js';
import type { PortBindingRequest, PortProto } from './types.js';

export interface PortRequest {
  proto: PortProto;
  containerPort: number;
  hostIp: string;
  /** Candidate host ports in order; [0] means any free port. */
  hostPorts: number[];
}

export function parsePortKey(key: string): { port: number; proto: PortProto } {
  const m = /^(\d+)(?:\/(tcp|udp|sctp))?$/.exec(key.trim());
  if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535) throw invalidParameter(`invalid port specification: "${key}"`);
  return { port: Number(m[1]), proto: (m[2] as PortProto | undefined) ?? 'tcp' };
}

function parseHostPorts(text: string | undefined): number[] {
  if (!text) return [0];
  const m = /^(\d+)(?:-(\d+))?$/.exec(text.trim());
  const lo = Number(m?.[1]);
  const hi = m?.[2] !== undefined ? Number(m[2]) : lo;
  if (!m || lo > 65535 || hi > 65535 || hi < lo) throw invalidParameter(`invalid hostPort: ${text}`);
  return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
}

/** Bindings from HostConfig.PortBindings, plus a random host port per exposed port with -P. */
export function portRequests(bindings: Record<string, PortBindingRequest[] | null> | undefined, exposed: readonly string[], publishAll: boolean): PortRequest[] {
  const out: PortRequest[] = [];
  const seen = new Set<string>();
  for (const [key, list] of Object.entries(bindings ?? {})) {
    const { port, proto } = parsePortKey(key);
    seen.add(`${port}/${proto}`);
    for (const b of list?.length ? list : [{}]) out.push({ proto, containerPort: port, hostIp: b.HostIp || '0.0.0.0', hostPorts: parseHostPorts(b.HostPort) });
  }
  if (publishAll) {
    for (const key of exposed) {
      const { port, proto } = parsePortKey(key);
      if (!seen.has(`${port}/${proto}`)) out.push({ proto, containerPort: port, hostIp: '0.0.0.0', hostPorts: [0] });
    }
  }
  return out;
}

export function unprivilegedPortStart(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim());
  } catch {
    return 1024;
  }
}

/** A host port the hub agent holds for a container; `handle.close()` gives it up unless it was forwarded. */
export interface BoundSocket {
  proto: 'tcp' | 'udp';
  handle: HeldPort;
  port: number;
}

/**
 * Binds the host side in the host netns (the hub agent runs there). Errors read like dockerd's and
 * rootlesskit's, because clients and users search for those words.
 */
export async function bindHostPort(agent: HubAgent, req: PortRequest, endpoint: { name: string; id: string }): Promise<BoundSocket> {
  if (req.proto === 'sctp') throw invalidParameter('publishing SCTP ports is not supported by this rootless engine');
  const start = unprivilegedPortStart();
  let lastErr: unknown;
  for (const port of req.hostPorts) {
    if (port !== 0 && port < start) {
      throw new EngineError(
        'internal',
        `driver failed programming external connectivity on endpoint ${endpoint.name} (${endpoint.id}): cannot expose privileged port ${port}, you can add 'net.ipv4.ip_unprivileged_port_start=${port}' to /etc/sysctl.conf (currently ${start}), or choose a larger port number (>= ${start})`,
      );
    }
    try {
      const bound = await agent.bind(req.proto, req.hostIp, port);
      return { proto: req.proto, handle: bound.held, port: bound.port };
    } catch (err) {
      lastErr = err;
      if (!(err instanceof AgentError) || err.code !== 'EADDRINUSE' || req.hostPorts.length === 1) break;
    }
  }
  const code = lastErr instanceof AgentError ? lastErr.code : undefined;
  const shown = req.hostPorts.length > 1 ? `${req.hostPorts[0]}-${req.hostPorts[req.hostPorts.length - 1]}` : String(req.hostPorts[0]);
  const what = code === 'EADDRINUSE' ? 'port is already allocated' : code === 'EADDRNOTAVAIL' ? 'cannot assign requested address' : (lastErr as Error).message;
  throw new EngineError('internal', `driver failed programming external connectivity on endpoint ${endpoint.name} (${endpoint.id}): Bind for ${req.hostIp}:${shown} failed: ${what}`);
}
