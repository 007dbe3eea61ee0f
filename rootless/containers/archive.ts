/**
 * The archive endpoints' file work on a mounted container root: stat a path, tar a path out with
 * dockerd's entry names, and extract an uploaded tar into a directory. Every path is resolved in
 * the container's scope (scoped-path.ts); GNU tar runs as uid 0 of the engine's user namespace so
 * ownership is read and written as it really is.
 */
import { once } from 'node:events';
import { lstat, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { basename, dirname, join, posix } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { compressionOf, type SniffedCompression } from '../../translate/compression.js';
import { EngineError, internal, invalidParameter, notFound } from '../../translate/errors.js';
import { GO_MODE_DIR, goFileMode, rfc3339Nano, type PathStat } from '../../translate/path-stat.js';
import { streamTool, ToolError, type ToolStream } from '../exec.js';
import { mergeStaged } from './archive-merge.js';
import { baseName, containerPathOf, preserveTrailing, resolveInScope, resolvePath } from './scoped-path.js';

/** dockerd's containerFileNotFound. */
export const fileNotFound = (path: string, container: string): EngineError => notFound(`Could not find the file ${path} in container ${container}`);

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

export interface StatResult {
  stat: PathStat;
  /** Host path of the entry itself (last element not followed). */
  host: string;
  abs: string;
}

/** dockerd's StatPath; throws ENOENT-coded errors for a missing path (callers turn them into 404). */
export async function statPath(root: string, path: string): Promise<StatResult> {
  const { host, abs } = await resolvePath(root, path);
  const st = await lstat(host, { bigint: true });
  let linkTarget = '';
  if (st.isSymbolicLink()) linkTarget = containerPathOf(root, await resolveInScope(root, abs));
  const stat: PathStat = {
    name: baseName(abs),
    size: Number(st.size),
    mode: goFileMode(Number(st.mode)),
    mtime: rfc3339Nano(st.mtimeNs),
    linkTarget,
  };
  return { stat, host, abs };
}

/** The same, with dockerd's 404 for a missing path. */
export async function statOrNotFound(root: string, path: string, container: string): Promise<StatResult> {
  try {
    return await statPath(root, path);
  } catch (err) {
    if (isMissing(err)) throw fileNotFound(path, container);
    throw err;
  }
}

/** A sed replacement for GNU tar's --transform, with its special characters escaped. */
function sedLiteral(s: string): string {
  if (s.includes('\n')) throw invalidParameter('path contains a newline');
  return s.replace(/[\\&|]/g, '\\$&');
}

/**
 * The tar stream of a stat'ed path. Entry names start with the requested base name (dockerd's
 * TarResourceRebase): a directory "/etc" gives "etc/", "etc/passwd"…, a symlink gives the link.
 */
export function tarPath(found: StatResult): ToolStream {
  let rebase = baseName(found.abs);
  if (rebase === '/') rebase = '.';
  const isDir = (found.stat.mode & GO_MODE_DIR) !== 0;
  const host = found.host;
  const sourceDir = isDir ? host : dirname(host);
  const member = isDir ? '.' : `./${basename(host)}`;
  // Directories: "./x" → "NAME/x". A single non-directory: its one entry becomes NAME.
  const transform = isDir ? `s|^\\.|${sedLiteral(rebase)}|S` : `s|.*|${sedLiteral(rebase)}|S`;
  return streamTool('tar', ['-c', '-f', '-', '--numeric-owner', '--format=gnu', '--ignore-failed-read', '-C', sourceDir, '--transform', transform, member], { okExitCodes: [1] });
}

/** The whole rootfs, entries named without "./" and without an entry for the root, as dockerd's export. */
export async function tarRootfs(root: string): Promise<ToolStream> {
  const names = (await readdir(root)).sort();
  const tar = streamTool('tar', ['-c', '-f', '-', '--numeric-owner', '--format=gnu', '--ignore-failed-read', '-C', root, '--null', '--verbatim-files-from', '-T', '-'], { okExitCodes: [1] });
  tar.stdin.end(names.map((n) => `${n}\0`).join(''));
  return tar;
}

/** GNU tar's flag for an upload's compression (zstd is not among dockerd's upload formats). */
const TAR_FLAG: Partial<Record<SniffedCompression, string>> = { gzip: '-z', bzip2: '-j', xz: '-J' };

function sniff(head: Buffer): string {
  return TAR_FLAG[compressionOf(head)] ?? '';
}

/** Reads just enough of the body to recognise its compression; the returned stream replays it whole. */
async function peek(body: Readable): Promise<{ head: Buffer; stream: Readable }> {
  const it = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let head = Buffer.alloc(0);
  let ended = false;
  while (head.length < 6) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    head = Buffer.concat([head, Buffer.from(r.value)]);
  }
  const first = head;
  const stream = Readable.from(
    (async function* () {
      if (first.length > 0) yield first;
      if (ended) return;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield Buffer.from(r.value);
      }
    })(),
  );
  return { head, stream };
}

/** GNU tar's complaints that dockerd's rootless untar would not have made (it skips devices). */
function onlyDeviceFailures(stderr: string): boolean {
  const lines = stderr.split('\n').filter((l) => l.trim() !== '' && !/Exiting with failure status due to previous errors/.test(l));
  return lines.length > 0 && lines.every((l) => /Cannot mknod: Operation not permitted/.test(l));
}

export interface ExtractOptions {
  root: string;
  /** Where staging dirs go: private to the daemon, on the host side of the mount. */
  tmpDir: string;
  /** The extraction directory, resolved (host path). */
  destHost: string;
  noOverwriteDirNonDir: boolean;
  owner?: { uid: number; gid: number };
}

/**
 * Streams the body (plain, gzip, bzip2 or xz) into GNU tar extracting into a fresh staging dir
 * (where tar's own guards hold: no "..", no writing through links it made), then merges the
 * staged tree into the container. Nothing is merged when the archive is refused.
 */
export async function extractInto(body: Readable, opts: ExtractOptions): Promise<void> {
  await mkdir(opts.tmpDir, { recursive: true, mode: 0o700 });
  const staging = await mkdtemp(join(opts.tmpDir, 'put-'));
  try {
    const { head, stream } = await peek(body);
    if (head.length === 0) return;
    const flag = sniff(head);
    const tar = streamTool('tar', ['-x', ...(flag ? [flag] : []), '-f', '-', '-C', staging, '--numeric-owner', '--same-owner', '--same-permissions', '--no-acls', '--no-selinux', '--no-xattrs'], {});
    tar.stdout.resume();
    // The whole body is read even when tar gives up early, so the client always gets its reply.
    const [, outcome] = await Promise.all([feed(stream, tar.stdin), tar.done.then(() => undefined, (err: unknown) => err)]);
    if (outcome !== undefined && !(outcome instanceof ToolError && outcome.exitCode === 2 && onlyDeviceFailures(outcome.stderr))) {
      throw internal(outcome instanceof Error ? outcome.message : String(outcome));
    }
    await mergeStaged(staging, { root: opts.root, destAbs: containerPathOf(opts.root, opts.destHost), noOverwriteDirNonDir: opts.noOverwriteDirNonDir, ...(opts.owner ? { owner: opts.owner } : {}) });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Copies source into sink while the sink lives, and reads the source to its end regardless. */
async function feed(source: Readable, sink: Writable): Promise<void> {
  let open = true;
  const closed = new Promise<void>((resolve) => {
    const shut = (): void => {
      open = false;
      resolve();
    };
    sink.once('close', shut).once('error', shut);
  });
  try {
    for await (const chunk of source) {
      if (open && !sink.write(chunk as Buffer)) await Promise.race([once(sink, 'drain').catch(() => undefined), closed]);
    }
  } finally {
    if (open) sink.end();
  }
}

/** Reads a request body to its end, discarding it. */
export async function drain(body: Readable): Promise<void> {
  if (body.readableEnded || body.destroyed) return;
  try {
    for await (const _chunk of body) {
      // discarded
    }
  } catch {
    // a client that went away has nothing more to send
  }
}

/** dockerd resolves the extraction point fully, the last element too (a symlink to a dir works). */
export async function resolveExtractionPoint(root: string, path: string, container: string): Promise<string> {
  const abs = preserveTrailing(posix.join('/', path), path);
  const host = await resolveInScope(root, abs);
  let isDir: boolean;
  try {
    isDir = (await lstat(host)).isDirectory();
  } catch (err) {
    if (isMissing(err)) throw fileNotFound(path, container);
    throw err;
  }
  if (!isDir) throw invalidParameter('extraction point is not a directory');
  return host;
}
