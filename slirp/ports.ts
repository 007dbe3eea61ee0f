/** Published ports: parsing Docker's PortBindings and binding the host side with dockerd's errors. */
import { createServer, type Server } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
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

export type BoundSocket = { proto: 'tcp'; handle: Server; port: number } | { proto: 'udp'; handle: UdpSocket; port: number };

function bindOnce(proto: 'tcp' | 'udp', hostIp: string, port: number): Promise<BoundSocket> {
  return new Promise((resolve, reject) => {
    if (proto === 'tcp') {
      const server = createServer({ pauseOnConnect: false });
      server.once('error', reject);
      server.listen({ host: hostIp, port, exclusive: true }, () => {
        const addr = server.address();
        resolve({ proto, handle: server, port: typeof addr === 'object' && addr ? addr.port : port });
      });
    } else {
      const sock = createSocket({ type: hostIp.includes(':') ? 'udp6' : 'udp4' });
      sock.once('error', reject);
      sock.bind({ address: hostIp, port, exclusive: true }, () => resolve({ proto, handle: sock, port: sock.address().port }));
    }
  });
}

/**
 * Binds the host side in the daemon's (the host's) netns. Errors read like dockerd's and
 * rootlesskit's, because clients and users search for those words.
 */
export async function bindHostPort(req: PortRequest, endpoint: { name: string; id: string }): Promise<BoundSocket> {
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
      return await bindOnce(req.proto, req.hostIp, port);
    } catch (err) {
      lastErr = err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EADDRINUSE' || req.hostPorts.length === 1) break;
    }
  }
  const code = (lastErr as NodeJS.ErrnoException).code;
  const shown = req.hostPorts.length > 1 ? `${req.hostPorts[0]}-${req.hostPorts[req.hostPorts.length - 1]}` : String(req.hostPorts[0]);
  const what = code === 'EADDRINUSE' ? 'port is already allocated' : code === 'EADDRNOTAVAIL' ? 'cannot assign requested address' : (lastErr as Error).message;
  throw new EngineError('internal', `driver failed programming external connectivity on endpoint ${endpoint.name} (${endpoint.id}): Bind for ${req.hostIp}:${shown} failed: ${what}`);
}
