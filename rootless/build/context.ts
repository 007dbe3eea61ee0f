/**
 * The build context: the request body (a tar, plain or gzip/bzip2/xz/zstd) streamed to disk under
 * a cap set by the free space, listed before anything is unpacked so that a member escaping the
 * directory or a sparse claim larger than the disk is refused up front, then unpacked. Plain tars
 * of files, directories and links are read in-process (context-tar.ts); the rest by GNU tar.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable, Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { compressionOf } from '../../translate/compression.js';
import { invalidParameter } from '../../translate/errors.js';
import { runTool } from '../exec.js';
import { untar } from '../images/unpack.js';
import { goTarMessage } from '../../translate/tar-errors.js';
import { roomIn } from '../fs-usage.js';
import { extractContextTar, listContextTar, resetDir, type ContextTarEntry } from './context-tar.js';


/** Decodes GNU tar's C quoting ("a\"b", "\\", "\n", octal). */
function unquoteC(text: string): string {
  return text.replace(/\\([0-7]{3}|.)/g, (_m, e: string) => {
    if (/^[0-7]{3}$/.test(e)) return String.fromCharCode(parseInt(e, 8));
    return ({ n: '\n', t: '\t', r: '\r', f: '\f', v: '\v', b: '\b', a: '\x07' } as Record<string, string>)[e] ?? e;
  });
}

export interface ContextMember {
  name: string;
  type: string;
  size: number;
}

const LISTING = /^(\S)\S*\s+\S+\s+(\d+|\d+,\s*\d+)\s+\S+\s+\S+\s+"((?:[^"\\]|\\.)*)"/;

/** Parses `tar -tv --numeric-owner --quoting-style=c` output. */
export function parseListing(text: string): ContextMember[] {
  const out: ContextMember[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const m = LISTING.exec(line);
    if (!m) throw invalidParameter(`invalid build context: cannot read tar listing line "${line.slice(0, 200)}"`);
    out.push({ type: m[1], size: m[2].includes(',') ? 0 : Number(m[2]), name: unquoteC(m[3]) });
  }
  return out;
}

/** A member name that would land outside the context directory. */
export function escapes(name: string): boolean {
  if (name.startsWith('/')) return true;
  return name.split('/').some((part) => part === '..');
}

function capped(limit: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > limit) done(invalidParameter(`the build context is larger than the free disk space (${limit} bytes available)`));
      else done(null, chunk);
    },
  });
}

/**
 * The body with a gzip layer taken off (dockerode always gzips), so the in-process reader sees a
 * plain tar and the free-space cap counts unpacked bytes. Other compressions pass through for GNU tar.
 */
async function* gunzipped(body: Readable): AsyncGenerator<Buffer> {
  const chunks = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const first = await chunks.next();
  if (first.done) return;
  const all = (async function* (): AsyncGenerator<Buffer> {
    yield first.value;
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value;
  })();
  try {
    if (compressionOf(first.value) === 'gzip') yield* Readable.from(all).pipe(createGunzip());
    else yield* all;
  } finally {
    // Refused part-way (the free-space cap): stop reading the client's upload.
    if (!body.readableEnded) body.destroy();
  }
}

/** Receives the body into `workDir/context` and returns that directory. */
export async function receiveContext(body: Readable, workDir: string): Promise<string> {
  const archive = join(workDir, 'context.tar');
  const dir = join(workDir, 'context');
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const limit = await roomIn(workDir);
  try {
    await pipeline(gunzipped(body), capped(limit), createWriteStream(archive, { mode: 0o600 }));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code?.startsWith('Z_')) throw invalidParameter(`invalid build context: ${(err as Error).message}`);
    throw err;
  }
  const size = (await stat(archive)).size;
  if (size === 0) {
    await rm(archive, { force: true });
    return dir;
  }
  const own = await listContextTar(archive);
  if (own) {
    await checkMembers(own.map(asMember), workDir);
    const badLink = own.find((e) => e.kind === 'hardlink' && escapes(e.linkname));
    if (badLink) throw invalidParameter(`invalid build context: the link "${badLink.path}" points outside the context`);
    try {
      await extractContextTar(archive, own, dir);
      await rm(archive, { force: true });
      return dir;
    } catch {
      // Something the in-process reader does not model (a file where a directory goes, a link
      // to a link...): GNU tar decides, from an empty directory.
      await resetDir(dir);
    }
  }
  const listing = await runTool('tar', ['-t', '-v', '--numeric-owner', '--quoting-style=c', '-f', archive], { allowFailure: true });
  if (listing.exitCode !== 0) throw invalidParameter(`invalid build context: ${listing.stderr.trim() || 'not a tar archive'}`);
  await checkMembers(parseListing(listing.stdout), workDir);
  await untar(['-f', archive, '-C', dir, '--no-same-owner', '--no-acls', '--no-selinux', '--no-xattrs'], (stderr) => invalidParameter(`invalid build context: ${goTarMessage(stderr)}`));
  await rm(archive, { force: true });
  return dir;
}

const LISTING_TYPE: Record<ContextTarEntry['kind'], string> = { file: '-', dir: 'd', symlink: 'l', hardlink: 'h' };

function asMember(e: ContextTarEntry): ContextMember {
  return { name: e.path, type: LISTING_TYPE[e.kind], size: e.size };
}

/** Refuses members that escape the directory, and contexts whose files claim more than the free disk. */
async function checkMembers(members: readonly ContextMember[], workDir: string): Promise<void> {
  const bad = members.find((m) => escapes(m.name));
  if (bad) throw invalidParameter(`invalid build context: the entry "${bad.name}" points outside the context`);
  const claimed = members.reduce((n, m) => n + (m.type === '-' || m.type === 'S' ? m.size : 0), 0);
  const room = await roomIn(workDir);
  if (claimed > room) throw invalidParameter(`invalid build context: its files claim ${claimed} bytes, more than the ${room} bytes of free disk space`);
}
