/**
 * An http(s) GET as dockerd's remotecontext.GetWithStatusError, shared by what downloads a URL:
 * ADD <url> and remote= contexts in builds, `docker import <url>` for images. Unlike Go's http.Get,
 * a server silent for a minute fails the download instead of holding it, and a caller's signal
 * (its client went away) cancels it. Bodies are streamed to disk under a free-space cap.
 */
import { createWriteStream } from 'node:fs';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { EngineError, type ErrorKind } from '../translate/errors.js';

/** dockerd's http.Get waits forever; this is how long a silent server may keep a download waiting. */
const FETCH_IDLE_MS = 60_000;
/** How much of an HTTP error's body the message quotes. */
const ERROR_BODY_BYTES = 16 * 1024;
/** GetWithStatusError's error kinds; other statuses are Unknown (500). */
const STATUS_KIND: Record<number, ErrorKind> = { 400: 'invalid-parameter', 401: 'unauthorized', 403: 'forbidden', 404: 'not-found' };

/**
 * How a caller words a failed fetch: ADD's "ADD failed: …", the remote context's "error
 * downloading remote context <url>: …", import's bare message.
 */
export type FetchFailure = (kind: ErrorKind, message: string) => Error;

export interface FetchOptions {
  /** The caller's lifetime: aborted when its client went away. */
  signal?: AbortSignal | undefined;
  fail: FetchFailure;
  /** The error a fetch ends with once `signal` aborted (a build's "build cancelled"). */
  cancelled: () => Error;
}

/** A response of fetchUrl, status under 400. */
export interface Fetched {
  res: IncomingMessage;
  /** Content-Length, or -1. */
  total: number;
  /** The body; a cancelled fetch, a silent server, a broken or short body each fail with their error. */
  chunks(): AsyncGenerator<Buffer>;
  /**
   * Streams `chunks` into a new file (mode 0600), failing beyond `room` bytes (or up front when
   * Content-Length says so); `seen` hears the running count. Returns the size.
   */
  save(chunks: AsyncIterable<Buffer>, file: string, room: number, seen?: (current: number) => void): Promise<number>;
}

/**
 * GETs `url` for `use` to read: a status of 400 or more is an error quoting the body, with the kind
 * dockerd gives it; a name that does not resolve is not-found, other connection failures internal.
 * Errors are worded by `opts.fail`; the response is closed afterwards.
 */
export async function fetchUrl<T>(url: string, opts: FetchOptions, use: (got: Fetched) => Promise<T>): Promise<T> {
  const { fail } = opts;
  const cancelled = (): boolean => opts.signal?.aborted === true;
  const idle = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, idle.signal]) : idle.signal;
  const silent = (u: string): Error => fail('internal', `Get ${JSON.stringify(u)}: no data from the server for ${FETCH_IDLE_MS / 1000} seconds`);
  let res: IncomingMessage;
  let finalUrl = url;
  try {
    ({ res, url: finalUrl } = await getFollowingRedirects(url, signal, () => idle.abort()));
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { url?: string };
    if (cancelled()) throw opts.cancelled();
    if (idle.signal.aborted) throw silent(e.url ?? url);
    // Go's http.Get: a name that does not resolve is a not-found error, the rest system errors.
    throw fail(e.code === 'ENOTFOUND' ? 'not-found' : 'internal', `Get ${JSON.stringify(e.url ?? url)}: ${e.message}`);
  }
  /** An error met while reading the body, as the caller reports it. */
  const readFailure = (err: unknown): Error => {
    if (cancelled()) return opts.cancelled();
    if (idle.signal.aborted) return silent(finalUrl);
    if (err instanceof EngineError) return err;
    return fail('internal', `failed to download ${url}: ${(err as Error).message}`);
  };
  try {
    const status = res.statusCode ?? 0;
    if (status >= 400) {
      const body = await readCapped(res, ERROR_BODY_BYTES).catch(() => undefined);
      if (cancelled()) throw opts.cancelled();
      let message = `failed to GET ${url} with status ${status} ${res.statusMessage ?? ''}`.trimEnd();
      message += body === undefined ? ': error reading body' : `: ${body.trim()}`;
      throw fail(STATUS_KIND[status] ?? 'internal', message);
    }
    const length = Number(headerText(res.headers['content-length']) || -1);
    const total = Number.isSafeInteger(length) && length >= 0 ? length : -1;
    const body = res;
    const got: Fetched = {
      res,
      total,
      async *chunks() {
        let current = 0;
        try {
          for await (const chunk of body as AsyncIterable<Buffer>) {
            current += chunk.length;
            yield chunk;
          }
        } catch (err) {
          throw readFailure(err);
        }
        if (total >= 0 && current < total) throw fail('internal', `failed to download ${url}: unexpected EOF`);
      },
      async save(chunks, file, room, seen) {
        if (total > room) throw fail('internal', `${url} is ${total} bytes, more than the ${room} bytes of free disk space`);
        let current = 0;
        const counter = new Transform({
          transform(chunk: Buffer, _enc, done) {
            current += chunk.length;
            if (current > room) return done(fail('internal', `${url} is larger than the free disk space (${room} bytes available)`));
            seen?.(current);
            done(null, chunk);
          },
        });
        try {
          await pipeline(chunks, counter, createWriteStream(file, { mode: 0o600, flags: 'wx' }), { signal });
        } catch (err) {
          throw readFailure(err);
        }
        return current;
      },
    };
    return await use(got);
  } finally {
    res.destroy();
  }
}

/** At most `limit` bytes of a response body as text; the rest is not read. */
async function readCapped(res: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= limit) break;
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

export function headerText(value: string | string[] | undefined): string {
  return (Array.isArray(value) ? value[0] : value) ?? '';
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * A GET that follows redirects as Go's http.Get does (at most 10). node:http rather than fetch,
 * which refuses the "bad ports" of browsers (6000, 6667, …) that dockerd downloads from. The
 * socket going silent for FETCH_IDLE_MS calls `idle`, which is expected to abort `signal`.
 */
async function getFollowingRedirects(url: string, signal: AbortSignal, idle: () => void): Promise<{ res: IncomingMessage; url: string }> {
  let current = url;
  for (let hop = 0; ; hop++) {
    const u = new URL(current);
    const get = u.protocol === 'https:' ? httpsGet : u.protocol === 'http:' ? httpGet : undefined;
    if (!get) throw Object.assign(new Error(`unsupported protocol scheme "${u.protocol.replace(/:$/, '')}"`), { url: current });
    // Servers see the client dockerd's downloads come from.
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = get(u, { signal, headers: { 'User-Agent': 'Go-http-client/1.1' } }, resolve);
      req.setTimeout(FETCH_IDLE_MS, idle);
      req.on('error', (err) => reject(Object.assign(err, { url: current })));
    });
    const location = headerText(res.headers.location);
    if (!REDIRECTS.has(res.statusCode ?? 0) || !location) return { res, url: current };
    res.destroy();
    const next = new URL(location, current).toString();
    if (hop >= 9) throw Object.assign(new Error('stopped after 10 redirects'), { url: next });
    current = next;
  }
}
