/**
 * docker load of the legacy `docker save` layout (Docker before 1.10): one directory per layer with
 * the v1 `json` and `layer.tar`, and a `repositories` file naming the tagged tops; no manifest.json.
 * As dockerd's tarexport legacyLoad: every directory is loaded (parents first), each becoming an
 * image whose parent is the one below, then the tags are set; an archive with neither layout fails
 * with dockerd's own error, opening `repositories`.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { invalidParameter } from '../../translate/errors.js';
import { diffIdsOf } from '../../translate/image-config.js';
import { familiarString, isValidTag, parseNormalizedNamed, type ImageRef } from '../../translate/image-ref.js';
import { configFromV1, historyFromV1 } from '../../translate/legacy-image-config.js';
import { progressMessage, streamMessage, type JsonMessage } from '../../translate/pull-progress.js';
import { inside } from './archive-path.js';
import { nextChainId } from './chain.js';
import { ingestLayer } from './ingest.js';
import type { Lease } from './leases.js';
import type { ImageStore } from './store.js';

interface Loaded {
  id: string;
  /** Top chain ID ("" for none). */
  chainId: string;
  layers: string[];
}

/** Go's os.Open error text for a missing file, which dockerd passes on unchanged. */
const missing = (path: string): Error => invalidParameter(`open ${path}: no such file or directory`);

async function readInside(root: string, rel: string): Promise<{ path: string; text: string }> {
  const path = await inside(root, rel, true);
  if (path === undefined) throw missing(join(root, rel));
  return { path, text: await readFile(path, 'utf8') };
}

function parseV1(text: string, where: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw invalidParameter(`invalid JSON in ${where}: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalidParameter(`invalid JSON in ${where}: not an object`);
  return parsed as Record<string, unknown>;
}

class LegacyLoad {
  private readonly loaded = new Map<string, Loaded>();

  constructor(
    private readonly store: ImageStore,
    private readonly root: string,
    private readonly workDir: string,
    private readonly lease: Lease,
    private readonly progress: ((m: JsonMessage) => void) | undefined,
  ) {}

  async image(oldId: string, seen: Set<string> = new Set()): Promise<Loaded> {
    const done = this.loaded.get(oldId);
    if (done) return done;
    if (seen.has(oldId)) throw invalidParameter(`invalid parent chain in the archive at ${oldId}`);
    seen.add(oldId);
    const { text } = await readInside(this.root, `${oldId}/json`);
    const v1 = parseV1(text, `${oldId}/json`);
    const os = typeof v1.os === 'string' ? v1.os : '';
    if (os !== '' && os !== 'linux') throw invalidParameter(`cannot load ${os} image on linux`);
    const parent = typeof v1.parent === 'string' && v1.parent !== '' ? await this.image(v1.parent, seen) : undefined;
    const parentConfig = parent ? this.store.config(parent.id) : undefined;
    const layerPath = await inside(this.root, `${oldId}/layer.tar`, true);
    if (layerPath === undefined) throw missing(join(this.root, oldId, 'layer.tar'));
    const diffId = await ingestLayer(this.store, layerPath, this.workDir, { parentChainId: parent?.chainId ?? '' }, this.lease);
    this.progress?.(progressMessage('Loading layer', oldId.slice(0, 12), 1, 1));
    const diffIds = [...(parentConfig ? diffIdsOf(parentConfig) : []), diffId];
    const history = [...(parentConfig?.history ?? []), historyFromV1(v1)];
    const config = configFromV1(text, diffIds, history);
    const id = 'sha256:' + createHash('sha256').update(config).digest('hex');
    this.lease.image(id);
    const chainId = nextChainId(parent?.chainId ?? '', diffId);
    const layers = [...(parent?.layers ?? []), chainId];
    await this.store.putConfig(id, config);
    await this.store.addImage(id, layers, [], new Date(), parent?.id);
    const result = { id, chainId, layers };
    this.loaded.set(oldId, result);
    return result;
  }

  /** The images made so far, parents first. */
  imageIds(): string[] {
    return [...new Set([...this.loaded.values()].map((l) => l.id))];
  }

  /** `repositories`: {"name": {"tag": "<v1 id>"}}. */
  async tags(emit: (m: JsonMessage) => void): Promise<void> {
    const { text } = await readInside(this.root, 'repositories');
    const repos = parseV1(text, 'repositories');
    for (const [name, tagMap] of Object.entries(repos)) {
      if (!tagMap || typeof tagMap !== 'object' || Array.isArray(tagMap)) throw invalidParameter('invalid repositories file');
      for (const [tag, oldId] of Object.entries(tagMap as Record<string, unknown>)) {
        const target = typeof oldId === 'string' ? this.loaded.get(oldId) : undefined;
        if (!target) throw invalidParameter(`invalid target ID: ${String(oldId)}`);
        let named: ImageRef;
        try {
          named = parseNormalizedNamed(name);
        } catch (err) {
          throw invalidParameter((err as Error).message);
        }
        if (!isValidTag(tag)) throw invalidParameter('invalid tag format');
        const ref: ImageRef = { domain: named.domain, path: named.path, tag };
        const [before] = await this.store.addImage(target.id, target.layers, [ref]);
        if (before !== undefined && before !== target.id) emit(streamMessage(`The image ${familiarString(ref)} already exists, renaming the old one with ID ${before} to empty string\n`));
        emit(streamMessage(`Loaded image: ${familiarString(ref)}\n`));
      }
    }
  }
}

/** Loads the legacy layout unpacked at `root` (a real path). */
/** Loads the layout; the IDs of the images it made, in the order made (each is a `load` event in dockerd). */
export async function loadLegacyLayout(store: ImageStore, root: string, workDir: string, quiet: boolean, emit: (m: JsonMessage) => void): Promise<string[]> {
  const lease = store.lease();
  try {
    const load = new LegacyLoad(store, root, workDir, lease, quiet ? undefined : emit);
    // Every directory is an image, in the order Go's os.ReadDir gives (sorted by name).
    const entries = (await readdir(root, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
    for (const dir of entries) await load.image(dir);
    await load.tags(emit);
    return load.imageIds();
  } finally {
    await lease.release();
  }
}
