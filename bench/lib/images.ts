/**
 * The images every engine pulls, built without network from files on this host and pushed to the
 * loopback registry: the test suite's busybox image, and a ~100 MB (uncompressed) multi-layer image
 * whose layers are tars of /usr/lib and /usr/share directories on top of the same busybox layer.
 * The big image's layers are gzipped once and cached under /tmp (gzip of 100 MB takes a while).
 */
import { lstat, mkdir, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import { AMD64, assembleImage, buildStandardImages, pushImage, sha256Digest, type AssembledImage, type LayerBlob } from '../../test/harness/images.js';
import type { RunningRegistry } from '../../test/harness/registry.js';
import { writeTar, type TarEntry } from '../../test/harness/tar.js';

export const BENCH_NAMESPACE = 'burrow-bench';
const CACHE_VERSION = 'v1';
const LAYER_BYTES = 20 * 1024 * 1024;
/** Sources, in order, for the data layers; each layer takes up to LAYER_BYTES of regular files. */
const SOURCES = ['/usr/lib/x86_64-linux-gnu', '/usr/share/locale', '/usr/share/doc', '/usr/lib/python3', '/usr/share/perl', '/usr/lib/gcc', '/usr/share'];
const DATA_LAYERS = 5;

export interface BenchImages {
  busybox: { name: string; tag: string; image: AssembledImage };
  big: { name: string; tag: string; image: AssembledImage; uncompressedBytes: number; compressedBytes: number };
}

const owner = { uid: 0, gid: 0, uname: 'root', gname: 'root' } as const;

/** Walk `root` in sorted order, yielding tar entries (dirs, regular files, symlinks) until `budget` bytes of file content. */
async function collect(root: string, budget: number, seen: Set<string>, dirs: Set<string>): Promise<{ entries: TarEntry[]; bytes: number }> {
  const entries: TarEntry[] = [];
  let bytes = 0;
  const addParents = (rel: string): void => {
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/') + '/';
      if (dirs.has(dir)) continue;
      dirs.add(dir);
      entries.push({ type: 'dir', name: dir, mode: 0o755, ...owner });
    }
  };
  const walk = async (abs: string): Promise<boolean> => {
    let names: string[];
    try {
      names = (await readdir(abs)).sort();
    } catch {
      return true;
    }
    for (const n of names) {
      const p = join(abs, n);
      const rel = p.slice(1);
      if (seen.has(rel)) continue;
      const st = await lstat(p).catch(() => undefined);
      if (st === undefined) continue;
      if (st.isDirectory()) {
        if (!(await walk(p))) return false;
      } else if (st.isSymbolicLink()) {
        addParents(rel);
        seen.add(rel);
        entries.push({ type: 'symlink', name: rel, target: await readlink(p), ...owner });
      } else if (st.isFile()) {
        if (bytes + st.size > budget) return false;
        const content = await readFile(p).catch(() => undefined);
        if (content === undefined) continue;
        addParents(rel);
        seen.add(rel);
        entries.push({ type: 'file', name: rel, content, mode: st.mode & 0o7777, ...owner });
        bytes += content.length;
      }
    }
    return true;
  };
  await walk(root);
  return { entries, bytes };
}

interface CachedLayer {
  digest: string;
  diffId: string;
  size: number;
  tarBytes: number;
  comment: string;
}

function cacheDir(): string {
  return join(tmpdir(), `burrow-bench-cache-${process.getuid?.() ?? 0}`, CACHE_VERSION);
}

async function dataLayers(log: (s: string) => void): Promise<LayerBlob[]> {
  const dir = cacheDir();
  const indexFile = join(dir, 'layers.json');
  const cached = await readFile(indexFile, 'utf8').then((t) => JSON.parse(t) as CachedLayer[], () => undefined);
  if (cached !== undefined) {
    const layers: LayerBlob[] = [];
    for (const c of cached) {
      const blob = await readFile(join(dir, c.digest.replace(':', '_')));
      if (sha256Digest(blob) !== c.digest) throw new Error(`cached layer ${c.digest} is corrupt; remove ${dir}`);
      layers.push({ tar: Buffer.alloc(0), blob, compression: 'gzip', digest: c.digest, size: c.size, diffId: c.diffId, comment: c.comment });
    }
    return layers;
  }
  log(`building the ~100 MB pull image from host files (cached in ${dir}) ...`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const seen = new Set<string>();
  const layers: LayerBlob[] = [];
  const index: CachedLayer[] = [];
  let src = 0;
  for (let i = 0; i < DATA_LAYERS && src < SOURCES.length; i++) {
    const entries: TarEntry[] = [];
    const dirs = new Set<string>();
    let bytes = 0;
    const sources: string[] = [];
    while (bytes < LAYER_BYTES * 0.9 && src < SOURCES.length) {
      const got = await collect(SOURCES[src], LAYER_BYTES - bytes, seen, dirs);
      entries.push(...got.entries);
      bytes += got.bytes;
      sources.push(SOURCES[src]);
      if (bytes < LAYER_BYTES * 0.9) src++;
    }
    const tar = writeTar(entries);
    const blob = gzipSync(tar, { level: 6 });
    const layer: LayerBlob = {
      tar: Buffer.alloc(0),
      blob,
      compression: 'gzip',
      digest: sha256Digest(blob),
      size: blob.length,
      diffId: sha256Digest(tar),
      comment: `burrow-bench: ${bytes} bytes from ${sources.join(', ')}`,
    };
    await writeFile(join(dir, layer.digest.replace(':', '_')), blob);
    index.push({ digest: layer.digest, diffId: layer.diffId, size: layer.size, tarBytes: tar.length, comment: layer.comment });
    layers.push(layer);
  }
  await writeFile(indexFile, JSON.stringify(index, null, 1));
  return layers;
}

/** Build (or load) and push both images; returns what was pushed. */
export async function prepareImages(registry: RunningRegistry, log: (s: string) => void): Promise<BenchImages> {
  const std = await buildStandardImages();
  const bb = std.busybox;
  const base: LayerBlob = {
    tar: Buffer.alloc(0),
    blob: bb.blobs.get(bb.layers[0].digest) ?? Buffer.alloc(0),
    compression: 'gzip',
    digest: bb.layers[0].digest,
    size: bb.layers[0].size,
    diffId: bb.layers[0].diffId,
    comment: bb.config.history[0]?.created_by ?? 'busybox',
  };
  const data = await dataLayers(log);
  const big = assembleImage({ format: 'docker', platform: AMD64, layers: [base, ...data] });
  const images: BenchImages = {
    busybox: { name: `${BENCH_NAMESPACE}/busybox`, tag: 'latest', image: bb },
    big: {
      name: `${BENCH_NAMESPACE}/big`,
      tag: 'latest',
      image: big,
      compressedBytes: big.layers.reduce((a, l) => a + l.size, 0),
      uncompressedBytes: 0,
    },
  };
  const idx = await readFile(join(cacheDir(), 'layers.json'), 'utf8').then((t) => JSON.parse(t) as CachedLayer[]);
  images.big.uncompressedBytes = idx.reduce((a, l) => a + l.tarBytes, 0);
  await pushImage(registry, images.busybox.name, images.busybox.tag, bb);
  await pushImage(registry, images.big.name, images.big.tag, big);
  return images;
}

/** The busybox layer as a tar (uncompressed), for the crun floor's rootfs. */
export async function busyboxLayerGzip(images: BenchImages): Promise<Buffer> {
  const img = images.busybox.image;
  const blob = img.blobs.get(img.layers[0].digest);
  if (blob === undefined) throw new Error('busybox layer blob missing');
  return blob;
}
