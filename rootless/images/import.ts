/**
 * docker import: a rootfs tar (plain, gzip, bzip2, xz or zstd) becomes a one-layer image whose
 * config is built from the `changes` Dockerfile lines, as dockerd's ImportImage does. The tar is the
 * request body (fromSrc=-) or a URL's download (fromSrc=<url>, as dockerd's postImagesCreate:
 * "Downloading from <url>", then "Importing" progress); either way it is streamed to disk first.
 */
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { EngineError, invalidParameter } from '../../translate/errors.js';
import { applyChanges, type ImageContainerConfig } from '../../translate/image-changes.js';
import type { ImageRef } from '../../translate/image-ref.js';
import type { Platform } from '../../translate/platform.js';
import { progressBar, statusMessage, type JsonMessage } from '../../translate/pull-progress.js';
import { roomIn } from '../fs-usage.js';
import { fetchUrl } from '../http-fetch.js';
import { streamToFile } from './blob-files.js';
import { ingestLayer } from './ingest.js';
import type { ImageStore } from './store.js';

/** Where the rootfs tar comes from: a stream, or a URL (see importUrl) downloaded with progress. */
export type ImportSource = { body: Readable } | UrlSource;

interface UrlSource {
  url: string;
  /** Aborted when the client went away: the download stops. */
  signal?: AbortSignal | undefined;
  /** The response stream: "Downloading from", progress. */
  emit: (m: JsonMessage) => void;
}

export interface ImportRequest {
  source: ImportSource;
  ref?: ImageRef;
  changes: string[];
  /** The image's and its history entry's comment. */
  comment: string;
  platform: Platform;
}

/** dockerd's fromSrc as a URL: "http://" is assumed without a scheme; one that does not parse is invalid. */
export function importUrl(src: string): string {
  const url = src.includes('://') ? src : `http://${src}`;
  if (!URL.canParse(url)) throw invalidParameter(`parse ${JSON.stringify(url)}: invalid URL`);
  return url;
}

/**
 * Returns the new image's ID. Changes are validated before the tar is read: for a body up front,
 * for a URL once the server answered (dockerd reports a server's error first).
 */
export async function importImage(store: ImageStore, req: ImportRequest, now = new Date()): Promise<string> {
  const source = req.source;
  let receive: (file: string, dir: string) => Promise<ImageContainerConfig>;
  if ('body' in source) {
    const config = applyChanges({}, req.changes);
    receive = async (file) => {
      await streamToFile(source.body, file);
      return config;
    };
  } else {
    receive = (file, dir) => download(source, req.changes, file, dir);
  }
  const dir = await store.tempDir('import');
  // The layer (a stored one with the same content included) is held until the image references it.
  const lease = store.lease();
  try {
    const file = join(dir, 'rootfs');
    const config = await receive(file, dir);
    const diffId = await ingestLayer(store, file, dir, undefined, lease);
    const created = now.toISOString();
    const image = {
      architecture: req.platform.architecture,
      ...(req.platform.variant ? { variant: req.platform.variant } : {}),
      comment: req.comment,
      config,
      created,
      history: [{ created, comment: req.comment }],
      os: req.platform.os,
      rootfs: { type: 'layers', diff_ids: [diffId] },
    };
    const bytes = Buffer.from(JSON.stringify(image));
    const id = 'sha256:' + createHash('sha256').update(bytes).digest('hex');
    lease.image(id);
    await store.putConfig(id, bytes);
    await store.addImage(id, [diffId], req.ref ? [req.ref] : [], now);
    return id;
  } finally {
    await lease.release();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The URL's body into `file`, under the free-space cap. A server's error (dockerd's
 * GetWithStatusError wording and status) comes before any output; then "Downloading from <url>",
 * the changes' config (so a bad change is reported in the stream, as dockerd does), and the
 * download with dockerd's progress reader: "Importing" at most every 100ms, a final full count and
 * an empty message ending the line.
 */
async function download(source: UrlSource, changes: string[], file: string, dir: string): Promise<ImageContainerConfig> {
  const { url, emit } = source;
  const fail = (kind: EngineError['kind'], message: string): EngineError => new EngineError(kind, message);
  const cancelled = (): Error => new Error(`import of ${url} cancelled`);
  return fetchUrl(url, { signal: source.signal, fail, cancelled }, async (got) => {
    emit(statusMessage(`Downloading from ${url}`));
    const config = applyChanges({}, changes);
    const total = got.total;
    let shown = 0;
    const progress = (current: number): void => {
      emit({ status: 'Importing', progressDetail: { current, total }, progress: progressBar(current, total) });
      shown = Date.now();
    };
    const size = await got.save(got.chunks(), file, await roomIn(dir), (current) => {
      if (Date.now() - shown >= 100) progress(current);
    });
    progress(size);
    emit({});
    return config;
  });
}
