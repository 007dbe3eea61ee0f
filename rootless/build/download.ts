/**
 * ADD <url>, as dockerd's downloadSource: fetched into a directory under the URL path's last
 * segment (else Content-Disposition's filename, else "__unnamed__", which only a file destination
 * can take), mode 0600, mtime from Last-Modified (the epoch without one). Streamed to disk under
 * the free-space cap the context has, with "Downloading" progress; dockerd's errors, prefixed
 * "ADD failed: " as its copier does. Unlike Go's http.Get, a server silent for a minute fails
 * the step instead of holding the build, and a client that leaves cancels the fetch.
 * The GET itself is the shared fetchUrl (../http-fetch.ts).
 */
import { utimes } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { EngineError, type ErrorKind } from '../../translate/errors.js';
import { progressMessage, streamMessage, type JsonMessage } from '../../translate/pull-progress.js';
import { fetchUrl, headerText } from '../http-fetch.js';
import { roomIn } from '../fs-usage.js';
import { BuildCancelledError } from './step-containers.js';

export interface DownloadOptions {
  /** The build's lifetime: aborted when the client went away. */
  signal?: AbortSignal;
  /** The build's visible output (a no-op for a quiet build): progress, then a line break. */
  emit: (m: JsonMessage) => void;
}

const UNNAMED_FILE = '__unnamed__';

const failed = (kind: ErrorKind, message: string): EngineError => new EngineError(kind, `ADD failed: ${message}`);

/** Downloads `url` into `dir` for an ADD to `dest`; returns the file's name there. */
export async function downloadSource(url: string, dir: string, dest: string, opts: DownloadOptions): Promise<string> {
  return fetchUrl(url, { signal: opts.signal, fail: failed, cancelled: () => new BuildCancelledError() }, async (got) => {
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

/** Content-Disposition's filename parameter, base name only, or "". */
function dispositionFilename(header: string | null): string {
  const m = header ? /(?:^|;)\s*filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/i.exec(header) : null;
  const name = m ? (m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]) : '';
  if (!name || name.endsWith('/')) return '';
  const base = posix.basename(name);
  return base === '.' || base === '..' ? '' : base;
}
