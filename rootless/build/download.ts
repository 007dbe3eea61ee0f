/**
 * ADD <url>, as dockerd's downloadSource: fetched into a directory under the URL path's last
 * segment (else Content-Disposition's filename, else "__unnamed__", which only a file destination
 * can take), mode 0600, mtime from Last-Modified (the epoch without one). Streamed to disk under
 * the free-space cap the context has, with "Downloading" progress; dockerd's errors, prefixed
 * "ADD failed: " as its copier does. Unlike Go's http.Get, a server silent for a minute fails
 * the step instead of holding the build, and a client that leaves cancels the fetch.
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
const silent = (u: string): EngineError => failed('internal', `Get ${JSON.stringify(u)}: no data from the server for ${FETCH_IDLE_MS / 1000} seconds`);

/** Downloads `url` into `dir` for an ADD to `dest`; returns the file's name there. */
export async function downloadSource(url: string, dir: string, dest: string, opts: DownloadOptions): Promise<string> {
  const cancelled = (): boolean => opts.signal?.aborted === true;
  const idle = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, idle.signal]) : idle.signal;
  let res: IncomingMessage;
  let finalUrl = url;
  try {
    ({ res, url: finalUrl } = await getFollowingRedirects(url, signal, () => idle.abort()));
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { url?: string };
    if (cancelled()) throw new BuildCancelledError();
    if (idle.signal.aborted) throw silent(e.url ?? url);
    // Go's http.Get: a name that does not resolve is a not-found error, the rest system errors.
    throw failed(e.code === 'ENOTFOUND' ? 'not-found' : 'internal', `Get ${JSON.stringify(e.url ?? url)}: ${e.message}`);
  }
  try {
    const status = res.statusCode ?? 0;
    if (status >= 400) {
      const body = await readCapped(res, ERROR_BODY_BYTES).catch(() => undefined);
      if (cancelled()) throw new BuildCancelledError();
      let message = `failed to GET ${url} with status ${status} ${res.statusMessage ?? ''}`.trimEnd();
      message += body === undefined ? ': error reading body' : `: ${body.trim()}`;
      throw failed(STATUS_KIND[status] ?? 'internal', message);
    }
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
    const room = await roomIn(dir);
    const length = Number(headerText(res.headers['content-length']) || -1);
    const total = Number.isSafeInteger(length) && length >= 0 ? length : -1;
    if (total > room) throw failed('internal', `${url} is ${total} bytes, more than the ${room} bytes of free disk space`);
    let current = 0;
    let shown = 0;
    const progress = (): void => {
      opts.emit(progressMessage('Downloading', '', current, total));
      shown = Date.now();
    };
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        current += chunk.length;
        if (current > room) return done(failed('internal', `${url} is larger than the free disk space (${room} bytes available)`));
        if (Date.now() - shown >= 100) progress();
        done(null, chunk);
      },
    });
    try {
      await pipeline(res, counter, createWriteStream(file, { mode: 0o600, flags: 'wx' }), { signal });
    } catch (err) {
      if (cancelled()) throw new BuildCancelledError();
      if (idle.signal.aborted) throw silent(finalUrl);
      if (err instanceof EngineError) throw err;
      throw failed('internal', `failed to download ${url}: ${(err as Error).message}`);
    }
    if (total >= 0 && current < total) throw failed('internal', `failed to download ${url}: unexpected EOF`);
    progress();
    opts.emit(streamMessage('\n'));
    const modified = Date.parse(headerText(res.headers['last-modified']));
    const mtime = Number.isFinite(modified) && modified > 0 ? modified / 1000 : 0;
    await utimes(file, mtime, mtime);
    return filename;
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

function headerText(value: string | string[] | undefined): string {
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
