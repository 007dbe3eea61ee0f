/**
 * How a registry host is reached. Secure registries: HTTPS with certificate verification, nothing
 * else. Insecure ones (loopback, insecure-registries) as dockerd's lookupV2Endpoints lists them:
 * HTTPS without verifying the certificate first, plain HTTP only when HTTPS cannot be spoken at all
 * (connection refused, TLS handshake failure, timeout). Any HTTP answer over HTTPS settles it, as
 * dockerd stops falling back once the transport worked over TLS. dockerd probes on every pull; here
 * the scheme that worked is remembered per host in memory, so only the first contact pays for it.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { rootLogger } from '../log.js';

export type FetchLike = (input: string | URL, init?: RequestInit) => Promise<Response>;

/** The platform fetch: verified HTTPS, or plain HTTP. */
export const verifiedFetch: FetchLike = (input, init) => fetch(input, init);

export interface Endpoint {
  /** "https://host:port" or "http://host:port": the registry's root, without /v2/. */
  origin: string;
  /** What talks to it: unverified TLS for an insecure registry's HTTPS. */
  fetch: FetchLike;
}

/** Neither HTTPS nor HTTP could be spoken to an insecure registry. */
export class RegistryUnreachableError extends Error {}

const PROBE_TIMEOUT_MS = 15_000;

const log = () => rootLogger().child({ component: 'registry-transport' });

type Scheme = 'https' | 'http';

export class RegistryEndpoints {
  private readonly known = new Map<string, Scheme>();
  private readonly probes = new Map<string, Promise<Scheme>>();

  /** `host` as it goes in a URL ("registry:5000", "[::1]:5000"). */
  async resolve(host: string, insecure: boolean, signal?: AbortSignal): Promise<Endpoint> {
    if (!insecure) return { origin: `https://${host}`, fetch: verifiedFetch };
    let scheme = this.known.get(host);
    if (!scheme) {
      let probe = this.probes.get(host);
      if (!probe) {
        // Shared by concurrent callers, so it is bound to its own timeout rather than one caller's signal.
        probe = this.probe(host).finally(() => this.probes.delete(host));
        this.probes.set(host, probe);
      }
      scheme = await abortable(probe, signal);
    }
    return endpointFor(host, scheme);
  }

  /** After a transport failure on a known scheme: the next contact probes again (the registry may have changed). */
  forget(host: string): void {
    this.known.delete(host);
  }

  private async probe(host: string): Promise<Scheme> {
    const httpsFailure = await ping(endpointFor(host, 'https'));
    if (httpsFailure === undefined) return this.remember(host, 'https');
    log().debug({ host, error: httpsFailure }, 'insecure registry does not speak TLS; falling back to plain HTTP');
    const httpFailure = await ping(endpointFor(host, 'http'));
    if (httpFailure === undefined) return this.remember(host, 'http');
    throw new RegistryUnreachableError(`registry ${host} is unreachable. HTTPS attempt: ${httpsFailure}. HTTP attempt: ${httpFailure}`);
  }

  private remember(host: string, scheme: Scheme): Scheme {
    this.known.set(host, scheme);
    return scheme;
  }
}

function endpointFor(host: string, scheme: Scheme): Endpoint {
  return { origin: `${scheme}://${host}`, fetch: scheme === 'https' ? unverifiedFetch : verifiedFetch };
}

/**
 * What talks to `url` on behalf of a registry: dockerd gives all of an insecure registry's traffic
 * (token server and redirects included) the registry's TLS settings, so certificates go unverified.
 */
export function fetchFor(insecure: boolean, url: URL): FetchLike {
  return insecure && url.protocol === 'https:' ? unverifiedFetch : verifiedFetch;
}

/** GET /v2/ as dockerd's ping: undefined when any HTTP answer came back, else what went wrong. */
async function ping(endpoint: Endpoint): Promise<string | undefined> {
  const url = `${endpoint.origin}/v2/`;
  try {
    const res = await endpoint.fetch(url, { headers: { 'User-Agent': 'burrow' }, signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    await res.arrayBuffer().catch(() => undefined);
    return undefined;
  } catch (err) {
    return `Get "${url}": ${describeFetchError(err)}`;
  }
}

async function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  signal.throwIfAborted();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([p, aborted]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

/** The reason behind fetch's "fetch failed": "connect ECONNREFUSED 127.0.0.1:5000". */
export function describeFetchError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
  return cause?.message ?? cause?.code ?? err.message;
}

// --- fetch over node:https without certificate verification --------------------------------------
//
// The platform fetch cannot be told to skip verification for one request without an undici
// dispatcher, which node does not expose; node:https can. This covers what the registry client
// uses of fetch: methods, headers, buffered or streamed bodies, redirects (follow, manual, error),
// abort signals, streamed response bodies. Errors take fetch's shape: TypeError("fetch failed")
// with the cause, or the signal's reason when aborted.

const agents = {
  'http:': new HttpAgent({ keepAlive: true }),
  'https:': new HttpsAgent({ keepAlive: true, rejectUnauthorized: false }),
};

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);
const MAX_REDIRECTS = 20;
/** undici's headers and body timeouts: a registry silent this long is given up on. */
const IDLE_TIMEOUT_MS = 300_000;

type OutgoingBody = { bytes: Buffer } | { stream: ReadableStream<Uint8Array> } | undefined;

const fetchFailed = (cause: unknown): TypeError => new TypeError('fetch failed', { cause });

export const unverifiedFetch: FetchLike = async (input, init = {}) => {
  const signal = init.signal ?? undefined;
  let url = new URL(input);
  let method = (init.method ?? 'GET').toUpperCase();
  const headers = new Headers(init.headers);
  let body = await outgoingBody(init.body, headers);
  for (let redirects = 0; ; redirects++) {
    const res = await send(url, method, headers, body, signal);
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (!REDIRECT_STATUSES.has(status) || location === undefined || init.redirect === 'manual') return toResponse(res, method);
    res.resume();
    if (init.redirect === 'error') throw fetchFailed(new Error(`unexpected redirect to ${location}`));
    if (redirects >= MAX_REDIRECTS) throw fetchFailed(new Error('redirect count exceeded'));
    const next = new URL(location, url);
    if (next.protocol !== 'http:' && next.protocol !== 'https:') throw fetchFailed(new Error(`redirect to unsupported URL ${next.href}`));
    if ((status === 303 && method !== 'HEAD') || ((status === 301 || status === 302) && method === 'POST')) {
      method = 'GET';
      body = undefined;
      for (const h of ['content-type', 'content-length', 'content-encoding', 'content-language', 'content-location']) headers.delete(h);
    } else if (body && 'stream' in body) {
      throw fetchFailed(new Error('cannot follow a redirect with a streamed request body'));
    }
    // As fetch does: credentials stay with the origin they were meant for.
    if (next.origin !== url.origin) {
      headers.delete('authorization');
      headers.delete('cookie');
    }
    url = next;
  }
};

/** Buffered bodies get their Content-Length (and Content-Type, as fetch would); streams go as they are. */
async function outgoingBody(body: BodyInit | null | undefined, headers: Headers): Promise<OutgoingBody> {
  if (body === undefined || body === null) return undefined;
  if (body instanceof ReadableStream) return { stream: body as ReadableStream<Uint8Array> };
  const req = new Request('http://body.invalid/', { method: 'POST', body });
  const type = req.headers.get('content-type');
  if (type !== null && !headers.has('content-type')) headers.set('content-type', type);
  const bytes = Buffer.from(await req.arrayBuffer());
  headers.set('content-length', String(bytes.length));
  return { bytes };
}

function send(url: URL, method: string, headers: Headers, body: OutgoingBody, signal: AbortSignal | undefined): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const fail = (err: unknown): void => reject(signal?.aborted ? signal.reason : fetchFailed(err));
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(url, { method, headers: Object.fromEntries(headers), agent: agents[url.protocol as 'http:' | 'https:'], signal });
    // Kept for the request's life: a later error (after the answer came) must not go unhandled.
    req.on('error', fail);
    req.setTimeout(IDLE_TIMEOUT_MS, () => req.destroy(new Error(`no data from ${url.host} for ${IDLE_TIMEOUT_MS / 1000} s`)));
    req.once('response', resolve);
    if (body === undefined) req.end();
    else if ('bytes' in body) req.end(body.bytes);
    else {
      // Half duplex as fetch does it: the answer may come before the body is all sent (a 401, say);
      // a send failure after that is the response's business, not the request's.
      pipeline(Readable.fromWeb(body.stream as NodeReadableStream<Uint8Array>), req).catch((err: unknown) => {
        req.destroy(err instanceof Error ? err : new Error(String(err)));
      });
    }
  });
}

function toResponse(res: IncomingMessage, method: string): Response {
  const status = res.statusCode ?? 0;
  const headers = new Headers();
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) headers.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
  if (status < 200 || status > 599) {
    res.destroy();
    throw fetchFailed(new Error(`unsupported HTTP status ${status}`));
  }
  const noBody = method === 'HEAD' || NULL_BODY_STATUSES.has(status);
  if (noBody) res.resume();
  const stream = noBody ? null : (Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>);
  return new Response(stream, { status, statusText: res.statusMessage ?? '', headers });
}
