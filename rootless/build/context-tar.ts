/**
 * Lists and unpacks a build context tar in-process: plain files, directories, hard and symbolic
 * links in ustar, GNU or pax form, which is what docker clients send. Two GNU tar runs (listing,
 * then extraction) cost more than a cached rebuild's steps, so this path saves most of it. Anything
 * else (compression, sparse files, devices, odd headers) makes `listContextTar` answer undefined,
 * and the caller uses GNU tar as before.
 *
 * Unpacking never writes through a link it made: symbolic links are created only after every file
 * and directory, each under a parent that resolves inside the context.
 */
import { link, lstat, lutimes, mkdir, open, rm, symlink, unlink, utimes, chmod, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  longNameOf,
  memberPath,
  paddedSize,
  parseHeaderBlock,
  parsePaxRecords,
  paxNeedsGnuTar,
  TAR_BLOCK,
  type TarEntryKind,
} from '../../translate/tar-header.js';
import { compressionOf } from '../../translate/compression.js';
import { insideRoot } from './context-files.js';

export interface ContextTarEntry {
  /** Member name as the archive gives it, "./" and trailing slashes removed; may hold "..". */
  path: string;
  kind: TarEntryKind;
  /** Link target (symlink text, or the archive path a hard link names). */
  linkname: string;
  size: number;
  mode: number;
  mtime: number;
  /** Where the member's data starts in the archive. */
  offset: number;
}

const WINDOW = 256 * 1024;

/** Positional reads through one sliding window, so a run of small members costs few syscalls. */
class WindowReader {
  private start = 0;
  private buf = Buffer.alloc(0);

  constructor(
    private readonly fh: FileHandle,
    readonly size: number,
  ) {}

  /** Exactly `length` bytes at `pos`, or undefined past the end of the file. */
  async at(pos: number, length: number): Promise<Buffer | undefined> {
    if (pos + length > this.size) return undefined;
    if (pos >= this.start && pos + length <= this.start + this.buf.length) return this.buf.subarray(pos - this.start, pos - this.start + length);
    const want = Math.min(Math.max(length, WINDOW), this.size - pos);
    const buf = Buffer.allocUnsafe(want);
    const { bytesRead } = await this.fh.read(buf, 0, want, pos);
    if (bytesRead < length) return undefined;
    this.start = pos;
    this.buf = buf.subarray(0, bytesRead);
    return this.buf.subarray(0, length);
  }
}

async function withFile<T>(file: string, fn: (reader: WindowReader) => Promise<T>): Promise<T> {
  const fh = await open(file, 'r');
  try {
    return await fn(new WindowReader(fh, (await fh.stat()).size));
  } finally {
    await fh.close();
  }
}

/** The members of a plain tar, or undefined when it holds something only GNU tar should read. */
export async function listContextTar(file: string): Promise<ContextTarEntry[] | undefined> {
  return withFile(file, async (reader) => {
    const first = await reader.at(0, Math.min(TAR_BLOCK, reader.size));
    if (!first || compressionOf(first) !== 'none') return undefined;
    const entries: ContextTarEntry[] = [];
    let pos = 0;
    let pax = new Map<string, string>();
    let longName: string | undefined;
    let longLink: string | undefined;
    while (pos < reader.size) {
      const block = await reader.at(pos, TAR_BLOCK);
      if (!block) return undefined;
      const h = parseHeaderBlock(block);
      pos += TAR_BLOCK;
      if (h.kind === 'end') return entries;
      if (h.kind === 'bad' || h.kind === 'unsupported') return undefined;
      if (h.kind === 'meta') {
        const data = await reader.at(pos, h.size);
        if (!data) return undefined;
        pos += paddedSize(h.size);
        if (h.typeflag === 'L') longName = longNameOf(data);
        else if (h.typeflag === 'K') longLink = longNameOf(data);
        else {
          const records = parsePaxRecords(data);
          if (!records || paxNeedsGnuTar(records)) return undefined;
          if (h.typeflag === 'x') pax = records;
        }
        continue;
      }
      const size = pax.has('size') ? Number(pax.get('size')) : h.size;
      const mtime = pax.has('mtime') ? Math.floor(Number(pax.get('mtime'))) : h.mtime;
      if (!Number.isSafeInteger(size) || size < 0 || !Number.isFinite(mtime)) return undefined;
      const dataSize = h.kind === 'file' ? size : 0;
      if (pos + dataSize > reader.size) return undefined;
      entries.push({
        path: memberPath(pax.get('path') ?? longName ?? h.name),
        kind: h.kind,
        linkname: pax.get('linkpath') ?? longLink ?? h.linkname,
        size: dataSize,
        mode: h.mode,
        mtime,
        offset: pos,
      });
      pos += paddedSize(h.kind === 'file' || h.kind === 'hardlink' ? size : 0);
      pax = new Map();
      longName = undefined;
      longLink = undefined;
    }
    return entries;
  });
}

const COPY_CHUNK = 1024 * 1024;

async function writeMember(reader: WindowReader, e: ContextTarEntry, full: string): Promise<void> {
  let fh: FileHandle;
  try {
    fh = await open(full, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    await unlink(full); // a later member of the same name wins, as with tar
    fh = await open(full, 'wx', 0o600);
  }
  try {
    for (let done = 0; done < e.size; ) {
      const n = Math.min(COPY_CHUNK, e.size - done);
      const chunk = await reader.at(e.offset + done, n);
      if (!chunk) throw new Error(`truncated member ${e.path}`);
      await fh.write(chunk, 0, n);
      done += n;
    }
    await fh.chmod(e.mode);
    await fh.utimes(e.mtime, e.mtime);
  } finally {
    await fh.close();
  }
}

async function replaceable(full: string): Promise<void> {
  const st = await lstat(full).catch(() => undefined);
  if (!st) return;
  if (st.isDirectory()) throw new Error(`${full} is a directory`);
  await unlink(full);
}

/**
 * Unpacks listed members into `dir` (fresh and empty). Names must already be checked not to
 * escape; a failure leaves a partial tree the caller removes.
 */
export async function extractContextTar(file: string, entries: readonly ContextTarEntry[], dir: string): Promise<void> {
  const made = new Set<string>([dir]);
  const ensureDir = async (path: string): Promise<void> => {
    if (made.has(path)) return;
    await mkdir(path, { recursive: true, mode: 0o755 });
    made.add(path);
  };
  const dirs: ContextTarEntry[] = [];
  const links: ContextTarEntry[] = [];
  await withFile(file, async (reader) => {
    for (const e of entries) {
      if (e.path === '') continue;
      const full = join(dir, e.path);
      if (e.kind === 'dir') {
        const st = await lstat(full).catch(() => undefined);
        if (st && !st.isDirectory()) await unlink(full);
        await ensureDir(full);
        dirs.push(e);
      } else if (e.kind === 'symlink') {
        links.push(e);
      } else {
        await ensureDir(dirname(full));
        if (e.kind === 'file') await writeMember(reader, e, full);
        else {
          await replaceable(full);
          await link(join(dir, memberPath(e.linkname)), full);
        }
      }
    }
  });
  for (const e of links) {
    const full = join(dir, e.path);
    if (!(await insideRoot(dir, dirname(full)))) throw new Error(`the parent of ${e.path} is missing or leads outside the context`);
    await replaceable(full);
    await symlink(e.linkname, full);
    await lutimes(full, e.mtime, e.mtime);
  }
  for (const e of dirs.reverse()) {
    const full = join(dir, e.path);
    await chmod(full, e.mode);
    await utimes(full, e.mtime, e.mtime);
  }
}

/** Empties `dir` after a failed in-process unpack, so GNU tar starts from nothing. */
export async function resetDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o755 });
}
