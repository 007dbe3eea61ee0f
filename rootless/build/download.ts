/**
 * ADD <url>, as dockerd's downloadSource: fetched into a directory under the URL path's last
 * segment (else Content-Disposition's filename, else "__unnamed__", which only a file destination
 * can take), mode 0600, mtime from Last-Modified (the epoch without one). Streamed to disk under
 * the free-space cap the context has, with "Downloading" progress; dockerd's errors, prefixed
 * "ADD failed: " as its copier does. Unlike Go's http.Get, a server silent for a minute fails
 * the step instead of holding the build, and a client that leaves cancels the fetch.
 * The GET itself (fetchUrl) also serves remote= build contexts (remote-context.ts).
 */
import { createWriteStream } from 'node:fs';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { utimes } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { EngineError, type ErrorKind } from '../../translate/errors.js';
import { progressMessage, streamMessage, type JsonMessage } from '../../translate/pull-progress.js';
import { roomIn } from './context.js';
import { BuildCancelledError } from './step-containers.js';

export interface DownloadOptions {
  /** The build's lifetime: aborted when the client went away. */
  signal?: AbortSignal;
  /** The build's visible output (a no-op for a quiet build): progress, then a line break. */
  emit: (m: JsonMessage) => void;
}

/** dockerd's http.Get waits forever; this is how long a silent server may keep an ADD <url> waiting. */
const FETCH_IDLE_MS = 60_000;
/** How much of an HTTP error's body the message quotes. */
const ERROR_BODY_BYTES = 16 * 1024;
const UNNAMED_FILE = '__unnamed__';
/** GetWithStatusError's error kinds; other statuses are Unknown (500). */
const STATUS_KIND: Record<number, ErrorKind> = { 400: 'invalid-parameter', 401: 'unauthorized', 403: 'forbidden', 404: 'not-found' };

const failed = (kind: ErrorKind, message: string): EngineError => new EngineError(kind, `ADD failed: ${message}`);

/** Downloads `url` into `dir` for an ADD to `dest`; returns the file's name there. */
export async function downloadSource(url: string, dir: string, dest: string, opts: DownloadOptions): Promise<string> {
  return fetchUrl(url, opts.signal, failed, async (got) => {
    const res = got.res;
    let filename = '';
    const path = (() => {
      const raw = new URL(url).pathname;
      try {
        return decodeURIComponent(raw);
      } catch {
        return raw;
      }
    })();
    if (path !== '' && !path.endsWith('/')) filename = posix.basename(path);
    if (!filename) filename = dispositionFilename(headerText(res.headers['content-disposition']));
    if (!filename) {
      if (dest.endsWith('/')) throw failed('internal', `cannot determine filename for source ${url}`);
      filename = UNNAMED_FILE;
    }
    const file = join(dir, filename);
    let shown = 0;
    const progress = (current: number): void => {
      opts.emit(progressMessage('Downloading', '', current, got.total));
      shown = Date.now();
    };
    const size = await got.save(got.chunks(), file, await roomIn(dir), (current) => {
      if (Date.now() - shown >= 100) progress(current);
    });
    progress(size);
    opts.emit(streamMessage('\n'));
    const modified = Date.parse(headerText(res.headers['last-modified']));
    const mtime = Number.isFinite(modified) && modified > 0 ? modified / 1000 : 0;
    await utimes(file, mtime, mtime);
    return filename;
  });
}

/** How a caller words a failed fetch: ADD's "ADD failed: …", the remote context's "error downloading remote context <url>: …". */
export type FetchFailure = (kind: ErrorKind, message: string) => Error;

/** A response of fetchUrl, status under 400. */
export interface Fetched {
  res: IncomingMessage;
  /** Content-Length, or -1. */
  total: number;
  /** The body; a cancelled build, a silent server, a broken or short body each fail with their error. */
  chunks(): AsyncGenerator<Buffer>;
  /**
   * Streams `chunks` into a new file (mode 0600), failing beyond `room` bytes (or up front when
   * Content-Length says so); `seen` hears the running count. Returns the size.
   */
  save(chunks: AsyncIterable<Buffer>, file: string, room: number, seen?: (current: number) => void): Promise<number>;
}

/**
 * An http(s) GET as dockerd's GetWithStatusError, for `use` to read: a status of 400 or more is an
 * error quoting the body, with the kind dockerd gives it; a name that does not resolve is not-found,
 * other connection failures internal. Errors are worded by `fail`; the response is closed afterwards.
 */
export async function fetchUrl<T>(url: string, buildSignal: AbortSignal | undefined, fail: FetchFailure, use: (got: Fetched) => Promise<T>): Promise<T> {
  const cancelled = (): boolean => buildSignal?.aborted === true;
  const idle = new AbortController();
  const signal = buildSignal ? AbortSignal.any([buildSignal, idle.signal]) : idle.signal;
  const silent = (u: string): Error => fail('internal', `Get ${JSON.stringify(u)}: no data from the server for ${FETCH_IDLE_MS / 1000} seconds`);
  let res: IncomingMessage;
  let finalUrl = url;
  try {
    ({ res, url: finalUrl } = await getFollowingRedirects(url, signal, () => idle.abort()));
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { url?: string };
    if (cancelled()) throw new BuildCancelledError();
    if (idle.signal.aborted) throw silent(e.url ?? url);
    // Go's http.Get: a name that does not resolve is a not-found error, the rest system errors.
    throw fail(e.code === 'ENOTFOUND' ? 'not-found' : 'internal', `Get ${JSON.stringify(e.url ?? url)}: ${e.message}`);
  }
  /** An error met while reading the body, as the build reports it. */
  const readFailure = (err: unknown): Error => {
    if (cancelled()) return new BuildCancelledError();
    if (idle.signal.aborted) return silent(finalUrl);
    if (err instanceof EngineError || err instanceof BuildCancelledError) return err;
    return fail('internal', `failed to download ${url}: ${(err as Error).message}`);
  };
  try {
    const status = res.statusCode ?? 0;
    if (status >= 400) {
      const body = await readCapped(res, ERROR_BODY_BYTES).catch(() => undefined);
      if (cancelled()) throw new BuildCancelledError();
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

/** Content-Disposition's filename parameter, base name only, or "". */
function dispositionFilename(header: string | null): string {
  const m = header ? /(?:^|;)\s*filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/i.exec(header) : null;
  const name = m ? (m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]) : '';
  if (!name || name.endsWith('/')) return '';
  const base = posix.basename(name);
  return base === '.' || base === '..' ? '' : base;
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
