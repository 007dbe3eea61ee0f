/**
 * COPY and ADD: sources from the context, an earlier stage or image (--from), or URLs (ADD), checksummed
 * for the cache key, then copied with their owner and mode into a new layer.
 */
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { sourceDigestLabel } from '../../translate/build-cache-key.js';
import { requiresBuildKit } from '../../translate/dockerfile/instruction-flags.js';
import { lookupFor, nop, type StageState } from '../../translate/dockerfile/config-steps.js';
import type { Instruction } from '../../translate/dockerfile/parser.js';
import { processWord, processWords } from '../../translate/dockerfile/shell-lex.js';
import { invalidParameter } from '../../translate/errors.js';
import type { StepContext } from './build-context.js';
import { sourcesChecksum } from './checksum.js';
import { resolveSources } from './context-files.js';
import { copyIntoLayer } from './copy-layer.js';
import { downloadSource } from './download.js';
import { resolveChown, withImageRoot } from './image-root.js';
import { ingestDir } from './ingest-dir.js';
import type { BuildImage } from './step-image.js';

/** Names each ADD download's directory apart within the build's work dir. */
let downloads = 0;

export async function copyStep(build: StepContext, inst: Instruction, image: BuildImage, state: StageState, stageIndex: number): Promise<BuildImage> {
  const isAdd = inst.cmd === 'ADD';
  if (inst.flags.chmod !== undefined) throw requiresBuildKit('chmod');
  const look = lookupFor(state);
  const words = inst.json ? inst.json.map((w) => processWord(w, look, build.escape)) : processWords(inst.rest, look, build.escape);
  if (words.length < 2) throw invalidParameter(`${inst.cmd} requires at least two arguments, but only one was provided. Destination could not be determined.`);
  const sources = words.slice(0, -1);
  const rawDest = words[words.length - 1];
  const workdir = typeof state.config.WorkingDir === 'string' && state.config.WorkingDir !== '' ? state.config.WorkingDir : '/';
  const dest = rawDest.startsWith('/') ? rawDest : posix.join(workdir, rawDest) + (rawDest.endsWith('/') || rawDest === '.' ? '/' : '');
  const chownSpec = inst.flags.chown !== undefined ? processWord(inst.flags.chown, look, build.escape) : undefined;
  const lowerDirs = image.id ? build.deps.store.layerDirs(image.id) : [];
  const flagText = Object.entries(inst.flags).map(([k, v]) => `--${k}=${v} `).join('');

  const isUrl = (src: string): boolean => /^https?:\/\//i.test(src);
  const remote = sources.filter(isUrl);
  if (!isAdd && remote.length > 0) throw invalidParameter("COPY failed: source can't be a URL for COPY");

  const withSources = async <T>(fn: (groups: SourceGroup[]) => Promise<T>): Promise<T> => {
    const from = inst.flags.from !== undefined ? processWord(inst.flags.from, look, build.escape) : undefined;
    if (from !== undefined) {
      const src = await build.fromImage(from, stageIndex);
      const dirs = src.id ? build.deps.store.layerDirs(src.id) : [];
      return withImageRoot(dirs, build.workDir, build.deps.storageDriver, async (root) => fn([{ root, rels: await matchAll(root, sources), extract: false }]));
    }
    if (remote.length === 0) return fn([{ root: build.contextDir, rels: await matchAll(build.contextDir, sources), extract: isAdd }]);
    // ADD of URLs: each is downloaded into a directory of its own; what comes from http is never unpacked.
    const groups: SourceGroup[] = [];
    for (const src of sources) {
      if (!isUrl(src)) {
        groups.push({ root: build.contextDir, rels: await resolveSources(build.contextDir, src), extract: true });
        continue;
      }
      const dir = join(build.workDir, `download-${downloads++}`);
      await mkdir(dir);
      const rel = await downloadSource(src, dir, dest, { signal: build.req.signal, emit: build.show });
      groups.push({ root: dir, rels: [rel], extract: false });
    }
    return fn(groups);
  };

  return withSources(async (groups) => {
    const count = groups.reduce((n, g) => n + g.rels.length, 0);
    if (count > 1 && !dest.endsWith('/')) throw invalidParameter(`When using ${inst.cmd} with more than one source file, the destination must be a directory and end with a /`);
    let sum: string;
    if (groups.length === 1) {
      sum = await sourcesChecksum(groups[0].root, groups[0].rels);
    } else {
      const h = createHash('sha256');
      for (const g of groups) h.update(`${await sourcesChecksum(g.root, g.rels)}\n`);
      sum = h.digest('hex');
    }
    const kinds: ('dir' | 'file')[] = [];
    for (const g of groups) for (const r of g.rels) kinds.push((await lstat(join(g.root, r))).isDirectory() ? 'dir' : 'file');
    const createdBy = nop(`${inst.cmd} ${flagText}${sourceDigestLabel(kinds, sum)} in ${dest} `).replace('#(nop)  ', '#(nop) ');
    return build.commit(image, { config: state.config, createdBy }, async () => {
      const owner = chownSpec ? await resolveChown(chownSpec, lowerDirs) : { uid: 0, gid: 0 };
      const layerDir = await mkdtemp(join(build.workDir, 'layer-'));
      try {
        for (const g of groups) {
          await copyIntoLayer({ root: g.root, sources: g.rels, dest, owner, extractArchives: g.extract, lowerDirs, layerDir });
        }
        const layer = await ingestDir(build.deps.store, layerDir, build.workDir, image.config.rootfs?.diff_ids ?? [], build.lease);
        return { config: state.config, createdBy, layer };
      } finally {
        await rm(layerDir, { recursive: true, force: true });
      }
    });
  });
}

async function matchAll(root: string, sources: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const s of sources) out.push(...(await resolveSources(root, s)));
  return out;
}

/** COPY/ADD sources that share a root: the context, a stage's or image's root, one download's directory. */
interface SourceGroup {
  root: string;
  rels: string[];
  /** ADD unpacks local archives; never those from --from or http. */
  extract: boolean;
}

