/**
 * `GET`/`HEAD /_ping` answered before fastify sees the request. Every docker CLI command, and every
 * client's version negotiation, starts with it, and fastify's routing, hooks and reply object cost
 * more than the answer itself (measured: 0.30 ms against 0.16 ms for a bare node:http server on the
 * same socket). Only the exact, well-formed forms are taken here; anything else (a query string, a
 * version outside what we serve, another method) goes through fastify as before, which gives the
 * same headers and dockerd's errors.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkApiVersion } from '../translate/api-version.js';

export interface PingAnswer {
  maxApiVersion: string;
  minApiVersion: string;
  /** The Server header every reply carries. */
  server: string;
  /** Read per request: 2 sends the CLI's buildx to /grpc and /session, 1 keeps it on POST /build. */
  builderVersion: () => '1' | '2';
  /** Told of the request (the daemon collects its garbage once requests pause). */
  onActivity?: () => void;
  /** Called after the reply when request logging is on (debug). */
  logRequest?: (method: string, url: string, statusCode: number) => void;
}

const versionedPing = /^\/v(\d+\.\d+)\/_ping$/;

/** 2 makes the CLI's buildx use /grpc and /session; 1 keeps clients on the classic POST /build. */
export function builderVersionOf(services: { buildkit?: { available: boolean } }): '1' | '2' {
  return services.buildkit?.available ? '2' : '1';
}

/** The headers dockerd's ping carries beyond every reply's (Api-Version, Docker-Experimental, Ostype, Server). */
export function pingHeaders(builderVersion: '1' | '2'): Record<string, string> {
  return {
    'Builder-Version': builderVersion,
    'Cache-Control': 'no-cache, no-store, must-revalidate',
    'Content-Type': 'text/plain; charset=utf-8',
    Pragma: 'no-cache',
    Swarm: 'inactive',
  };
}

/** The whole reply's headers as a flat [name, value, …] list for writeHead. */
function headers(a: PingAnswer, builderVersion: '1' | '2', head: boolean): string[] {
  const all: Record<string, string> = {
    'Api-Version': a.maxApiVersion,
    // dockerd's HEAD handler sets a zero length; GET writes "OK".
    'Content-Length': head ? '0' : '2',
    'Docker-Experimental': 'false',
    Ostype: 'linux',
    Server: a.server,
    ...pingHeaders(builderVersion),
  };
  return Object.entries(all).flat();
}

/** A request handler that answers the ping and returns true, or returns false to pass the request on. */
export function pingFastPath(a: PingAnswer): (req: IncomingMessage, res: ServerResponse) => boolean {
  // Built once: the only per-request choice is the builder version and the method.
  const replies = {
    '1': { get: headers(a, '1', false), head: headers(a, '1', true) },
    '2': { get: headers(a, '2', false), head: headers(a, '2', true) },
  };
  const versionOk = (v: string): boolean => checkApiVersion(v, a.minApiVersion, a.maxApiVersion) === undefined;
  return (req, res) => {
    const method = req.method;
    if (method !== 'GET' && method !== 'HEAD') return false;
    const url = req.url ?? '';
    if (url !== '/_ping') {
      const m = versionedPing.exec(url);
      if (!m || !versionOk(m[1] as string)) return false;
    }
    a.onActivity?.();
    const reply = replies[a.builderVersion()];
    if (method === 'HEAD') {
      res.writeHead(200, reply.head);
      res.end();
    } else {
      res.writeHead(200, reply.get);
      res.end('OK');
    }
    a.logRequest?.(method, url, 200);
    return true;
  };
}
