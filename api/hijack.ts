/**
 * Hijacked connections (attach): requests carrying `Upgrade: tcp` arrive on the http server's
 * 'upgrade' event, outside fastify routing, and become raw byte streams after `101 UPGRADED`.
 * The no-Upgrade legacy form goes through a fastify route with reply.hijack() (see routes/containers.ts).
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import { checkApiVersion, splitVersionPrefix, versionAtLeast } from '../translate/api-version.js';
import { BURROW_VERSION, MAX_API_VERSION, MIN_API_VERSION } from '../rootless/version.js';
import { toDockerError } from './error-handler.js';
import { queryBool, type Query } from './query.js';
import type { ApiServices, OutputStream } from './services.js';

export function streamContentType(tty: boolean, apiVersion: string): string {
  return !tty && versionAtLeast(apiVersion, '1.42') ? 'application/vnd.docker.multiplexed-stream' : 'application/vnd.docker.raw-stream';
}

function commonHeaders(): string {
  return `Api-Version: ${MAX_API_VERSION}\r\nDocker-Experimental: false\r\nOstype: linux\r\nServer: Burrow/${BURROW_VERSION} (linux)\r\n`;
}

function writeHttpError(socket: Duplex, err: unknown): void {
  const { statusCode, message } = toDockerError(err);
  const body = JSON.stringify({ message });
  socket.end(
    `HTTP/1.1 ${statusCode} ${statusCode === 404 ? 'Not Found' : 'Error'}\r\n${commonHeaders()}Content-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function parseQuery(search: URLSearchParams): Query {
  const q: Query = {};
  for (const [k, v] of search) q[k] = v;
  return q;
}

/** Copies a container's output onto a hijacked socket and closes it when the output ends. */
export async function pumpOutput(socket: Duplex, out: OutputStream, abort: AbortController): Promise<void> {
  try {
    for await (const chunk of out.chunks) {
      if (socket.destroyed) break;
      if (!socket.write(chunk)) await new Promise<void>((r) => socket.once('drain', r).once('close', r));
    }
  } finally {
    abort.abort();
    if (!socket.destroyed) socket.end();
  }
}

/** The attach query as the service wants it. */
export function attachParams(q: Query): { stdout: boolean; stderr: boolean; stream: boolean; logs: boolean } {
  return { stdout: queryBool(q, 'stdout'), stderr: queryBool(q, 'stderr'), stream: queryBool(q, 'stream'), logs: queryBool(q, 'logs') };
}

export function installHijack(server: Server, services: ApiServices, log: FastifyBaseLogger): void {
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, _head: Buffer) => {
    void handleUpgrade(req, socket, services, log);
  });
}

async function handleUpgrade(req: IncomingMessage, socket: Duplex, services: ApiServices, log: FastifyBaseLogger): Promise<void> {
  socket.on('error', () => undefined);
  const { version, path } = splitVersionPrefix(req.url ?? '/', MAX_API_VERSION);
  const url = new URL(path, 'http://burrow');
  const refused = checkApiVersion(version, MIN_API_VERSION, MAX_API_VERSION);
  if (refused) return writeHttpError(socket, refused);
  const m = /^\/containers\/([^/]+)\/attach\/?$/.exec(url.pathname);
  if (req.method !== 'POST' || !m?.[1]) {
    const body = JSON.stringify({ message: 'page not found' });
    socket.end(`HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    return;
  }
  const abort = new AbortController();
  // Only a full close means the client is gone: the CLI half-closes its write side right after the 101.
  socket.on('close', () => abort.abort());
  let out: OutputStream;
  try {
    out = await services.containers.attach(decodeURIComponent(m[1]), attachParams(parseQuery(url.searchParams)), abort.signal);
  } catch (err) {
    log.debug({ err }, 'attach refused');
    return writeHttpError(socket, err);
  }
  socket.write(
    `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${streamContentType(out.tty, version)}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n${commonHeaders()}\r\n`,
  );
  await pumpOutput(socket, out, abort);
}
