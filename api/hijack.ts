/**
 * Hijacked connections (attach, exec start): requests carrying `Upgrade: tcp` arrive on the http
 * server's 'upgrade' event, outside fastify routing, and become raw byte streams after `101 UPGRADED`.
 * The no-Upgrade legacy form goes through fastify routes with reply.hijack() (routes/containers.ts, routes/exec.ts).
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import { requestVersion } from './request-version.js';
import { checkApiVersion, splitVersionPrefix, versionAtLeast } from '../translate/api-version.js';
import { DetachScanner } from '../translate/detach-keys.js';
import { invalidParameter } from '../translate/errors.js';
import { BURROW_VERSION, MAX_API_VERSION, MIN_API_VERSION } from '../rootless/version.js';
import { toDockerError } from './error-handler.js';
import { checkBody } from './validate.js';
import { execStartRequestSchema } from '../openapi/exec.js';
import { queryBool, queryString, type Query } from './query.js';
import type { ApiServices, ContainerAttachParams, InteractiveStream, OutputStream } from './services.js';
import { encodeStream } from '../translate/stream-frames.js';
import { handleAttachWebsocket } from './websocket.js';
import { trackLongLived } from './long-lived.js';

export function streamContentType(tty: boolean, apiVersion: string): string {
  return !tty && versionAtLeast(apiVersion, '1.42') ? 'application/vnd.docker.multiplexed-stream' : 'application/vnd.docker.raw-stream';
}

export function commonHeaders(): string {
  return `Api-Version: ${MAX_API_VERSION}\r\nDocker-Experimental: false\r\nOstype: linux\r\nServer: Burrow/${BURROW_VERSION} (linux)\r\n`;
}

export function writeHttpError(socket: Duplex, err: unknown): void {
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

/** Attach's and exec's bytes: a frame a chunk, as dockerd frames each write of the process; raw for a TTY. */
export function sessionBytes(out: OutputStream): AsyncIterable<Buffer> {
  return encodeStream(out.chunks, { tty: out.tty });
}

/** Copies bytes onto a hijacked socket and closes it when they end. */
export async function pumpOutput(socket: Duplex, bytes: AsyncIterable<Buffer>, abort: AbortController): Promise<void> {
  try {
    for await (const chunk of bytes) {
      if (socket.destroyed || abort.signal.aborted) break;
      if (!socket.write(chunk)) await new Promise<void>((r) => socket.once('drain', r).once('close', r));
    }
  } finally {
    abort.abort();
    if (!socket.destroyed) socket.end();
  }
}

/**
 * The no-Upgrade form of attach and exec start (legacy clients): dockerd still takes the connection
 * over, answers 200 on the raw socket and streams the output after it.
 */
export async function legacyHijack(request: FastifyRequest, reply: FastifyReply, out: OutputStream, abort: AbortController): Promise<void> {
  const socket = request.raw.socket;
  reply.hijack();
  trackLongLived(request.server.server, socket);
  socket.write(`HTTP/1.1 200 OK\r\nContent-Type: ${streamContentType(out.tty, requestVersion(request))}\r\nApi-Version: ${String(reply.getHeader('api-version') ?? '')}\r\n\r\n`);
  await pumpOutput(socket, sessionBytes(out), abort);
}

/**
 * Runs one hijacked session: output to the socket until it ends; the client's bytes (after `early`,
 * what arrived with the request head) to the process, watching for the detach keys. The client's
 * half-close ('end') closes the process's stdin; output keeps flowing until the process is done.
 */
export async function runSession(socket: Duplex, out: InteractiveStream, abort: AbortController, early: Buffer = Buffer.alloc(0)): Promise<void> {
  const input = out.stdin;
  if (input) {
    const scanner = out.detachKeys ? new DetachScanner(out.detachKeys) : undefined;
    let detached = false;
    const onData = (b: Buffer): void => {
      if (detached) return;
      const { pass, detached: hit } = scanner ? scanner.push(b) : { pass: b, detached: false };
      if (pass.length > 0) input.write(pass);
      if (hit) {
        detached = true;
        input.detach();
        abort.abort();
        socket.end();
      }
    };
    if (early.length > 0) onData(early);
    socket.on('data', onData);
    socket.once('end', () => {
      if (!detached) input.end();
    });
    abort.signal.addEventListener('abort', () => {
      socket.off('data', onData);
      if (!detached) input.detach();
    }, { once: true });
  } else {
    // Nobody reads what the client sends, but a paused socket would never see its 'end'.
    socket.resume();
  }
  await pumpOutput(socket, sessionBytes(out), abort);
}

/** The attach query as the service wants it. */
export function attachParams(q: Query): ContainerAttachParams {
  const keys = queryString(q, 'detachKeys');
  return {
    stdout: queryBool(q, 'stdout'),
    stderr: queryBool(q, 'stderr'),
    stream: queryBool(q, 'stream'),
    logs: queryBool(q, 'logs'),
    stdin: queryBool(q, 'stdin'),
    ...(keys ? { detachKeys: keys } : {}),
  };
}

export function installHijack(server: Server, services: ApiServices, log: FastifyBaseLogger): void {
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    trackLongLived(server, socket);
    void handleUpgrade(req, socket, head, services, log);
  });
}

function notFoundPage(socket: Duplex): void {
  const body = JSON.stringify({ message: 'page not found' });
  socket.end(`HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
}

/**
 * Node hands the upgrade over before reading the body: take exactly Content-Length bytes; the rest is
 * stdin. The body is never input: dockerd parses exec start's and drops attach's (dockerode sends its
 * options JSON there), so neither reaches the process.
 */
function readBody(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<{ body: Buffer; rest: Buffer }> {
  const length = Number(req.headers['content-length'] ?? 0);
  if (!Number.isInteger(length) || length <= 0) return Promise.resolve({ body: Buffer.alloc(0), rest: head });
  return new Promise((resolve, reject) => {
    let got = head;
    const check = (): boolean => {
      if (got.length < length) return false;
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.pause();
      resolve({ body: got.subarray(0, length), rest: got.subarray(length) });
      return true;
    };
    const onData = (b: Buffer): void => {
      got = Buffer.concat([got, b]);
      check();
    };
    const onEnd = (): void => reject(invalidParameter('request body ended early'));
    if (check()) return;
    socket.on('data', onData);
    socket.once('end', onEnd);
  });
}

async function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, services: ApiServices, log: FastifyBaseLogger): Promise<void> {
  socket.on('error', () => undefined);
  const { version, path } = splitVersionPrefix(req.url ?? '/', MAX_API_VERSION);
  const url = new URL(path, 'http://burrow');
  const refused = checkApiVersion(version, MIN_API_VERSION, MAX_API_VERSION);
  if (refused) return writeHttpError(socket, refused);
  const attach = /^\/containers\/([^/]+)\/attach\/?$/.exec(url.pathname);
  const ws = /^\/containers\/([^/]+)\/attach\/ws\/?$/.exec(url.pathname);
  const exec = /^\/exec\/([^/]+)\/start\/?$/.exec(url.pathname);
  const abort = new AbortController();
  // Only a full close means the client is gone: the CLI half-closes its write side when its stdin ends.
  socket.on('close', () => abort.abort());
  try {
    const buildkitKind = url.pathname === '/grpc' ? 'grpc' : url.pathname === '/session' ? 'session' : undefined;
    if (req.method === 'POST' && buildkitKind && services.buildkit) {
      const proto = String(req.headers.upgrade ?? 'h2c');
      return await services.buildkit.serve(buildkitKind, socket, head, req.rawHeaders, () => {
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${proto}\r\n${commonHeaders()}\r\n`);
      });
    }
    if (req.method === 'GET' && ws?.[1]) {
      return await handleAttachWebsocket(req, socket, head, decodeURIComponent(ws[1]), parseQuery(url.searchParams), version, services, abort);
    }
    if (req.method === 'POST' && attach?.[1]) {
      const { rest } = await readBody(req, socket, head);
      const out = await services.containers.attach(decodeURIComponent(attach[1]), attachParams(parseQuery(url.searchParams)), abort.signal);
      socket.write(`HTTP/1.1 101 UPGRADED\r\nContent-Type: ${streamContentType(out.tty, version)}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n${commonHeaders()}\r\n`);
      socket.resume();
      return await runSession(socket, out, abort, rest);
    }
    if (req.method === 'POST' && exec?.[1]) {
      const { body, rest } = await readBody(req, socket, head);
      const opts = parseExecStartBody(body);
      const out = await services.exec.start(decodeURIComponent(exec[1]), opts, abort.signal);
      if (!out) {
        socket.end(`HTTP/1.1 200 OK\r\n${commonHeaders()}Content-Length: 0\r\n\r\n`);
        return;
      }
      socket.write(`HTTP/1.1 101 UPGRADED\r\nContent-Type: ${streamContentType(out.tty, version)}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n${commonHeaders()}\r\n`);
      socket.resume();
      return await runSession(socket, out, abort, rest);
    }
  } catch (err) {
    log.debug({ err }, 'hijack refused');
    return writeHttpError(socket, err);
  }
  notFoundPage(socket);
}

/** ExecStart's body: {Detach, Tty, ConsoleSize}. */
export function parseExecStartBody(body: Buffer | unknown): { detach: boolean; tty?: boolean; consoleSize?: [number, number] } {
  let v: unknown = body;
  if (Buffer.isBuffer(body)) {
    if (body.length === 0) return { detach: false };
    try {
      v = JSON.parse(body.toString('utf8'));
    } catch {
      throw invalidParameter('invalid JSON in exec start body');
    }
  }
  v = checkBody(execStartRequestSchema, v);
  if (!v || typeof v !== 'object') return { detach: false };
  const o = v as { Detach?: unknown; Tty?: unknown; ConsoleSize?: unknown };
  const size = Array.isArray(o.ConsoleSize) && o.ConsoleSize.length === 2 && o.ConsoleSize.every((n) => typeof n === 'number') ? (o.ConsoleSize as [number, number]) : undefined;
  return { detach: o.Detach === true, ...(typeof o.Tty === 'boolean' ? { tty: o.Tty } : {}), ...(size ? { consoleSize: size } : {}) };
}
