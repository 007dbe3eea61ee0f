/**
 * docker import: a rootfs tar (plain, gzip, bzip2, xz or zstd) becomes a one-layer image whose
 * config is built from the `changes` Dockerfile lines, as dockerd's ImportImage does.
 */
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { applyChanges } from '../../translate/image-changes.js';
import type { ImageRef } from '../../translate/image-ref.js';
import type { Platform } from '../../translate/platform.js';
import { streamToFile } from './blob-files.js';
import { ingestLayer } from './ingest.js';
import type { ImageStore } from './store.js';

export interface ImportRequest {
  body: Readable;
  ref?: ImageRef;
  changes: string[];
  message?: string;
  platform: Platform;
}

/** Returns the new image's ID. Changes are validated before the body is read. */
export async function importImage(store: ImageStore, req: ImportRequest, now = new Date()): Promise<string> {
  const config = applyChanges({}, req.changes);
  const dir = await store.tempDir('import');
  try {
    const file = join(dir, 'rootfs');
    await streamToFile(req.body, file);
    const diffId = await ingestLayer(store, file, dir);
    const created = now.toISOString();
    const comment = req.message && req.message !== '' ? req.message : 'Imported from -';
    const image = {
      architecture: req.platform.architecture,
      ...(req.platform.variant ? { variant: req.platform.variant } : {}),
      comment,
      config,
      created,
      history: [{ created, comment }],
      os: req.platform.os,
      rootfs: { type: 'layers', diff_ids: [diffId] },
    };
    const bytes = Buffer.from(JSON.stringify(image));
    const id = 'sha256:' + createHash('sha256').update(bytes).digest('hex');
    await store.putConfig(id, bytes);
    await store.addImage(id, [diffId], req.ref ? [req.ref] : [], now);
    return id;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
