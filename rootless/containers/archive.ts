/**
 * The archive endpoints' file work on a mounted container root: stat a path, tar a path out with
 * dockerd's entry names, extract an uploaded tar into a directory, and export the whole root. Every
 * path is used only inside the in-root helper (in-root.ts), whose root is the container's: nothing
 * here ever opens a path in the container from the host side. Uploads are unpacked by GNU tar into a
 * private staging dir first (the container cannot see it), then merged in by the helper.
 */
import { once } from 'node:events';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { compressionOf, type SniffedCompression } from '../../translate/compression.js';
import { loadTarRefused, onlyDeviceFailures } from '../../translate/tar-errors.js';
import { EngineError, notFound } from '../../translate/errors.js';
import { goFileMode, rfc3339Nano, type PathStat } from '../../translate/path-stat.js';
import { streamTool, ToolError, type ToolStream } from '../exec.js';
import { inRootError, inRootHeader, inRootText, startInRoot, type InRootMount, type InRootStat } from '../in-root.js';
import { baseName, preserveTrailing } from '../../translate/container-path.js';

/** dockerd's containerFileNotFound. */
export const fileNotFound = (path: string, container: string): EngineError => notFound(`Could not find the file ${path} in container ${container}`);

/** The container's tree as an archive call sees it: the rootfs, and its volumes and binds to attach. */
export interface ArchiveRoot {
  root: string;
  mounts: readonly InRootMount[];
}

/** The absolute path in the container, cleaned, keeping a trailing "/" or "/." as dockerd does. */
const absPath = (path: string): string => preserveTrailing(posix.join('/', path), path);

function pathStat(abs: string, st: InRootStat): PathStat {
  return { name: baseName(abs), size: st.size, mode: goFileMode(st.mode), mtime: rfc3339Nano(BigInt(st.mtimeNs)), linkTarget: st.linkTarget };
}

/** dockerd's StatPath, with its 404 for a missing path. */
export async function statPath(tree: ArchiveRoot, path: string, container: string): Promise<PathStat> {
  const abs = absPath(path);
  const text = await inRootText({ op: 'stat', root: tree.root, mounts: tree.mounts, path: abs }, () => fileNotFound(path, container));
  return pathStat(abs, JSON.parse(text) as InRootStat);
}

/**
 * The tar stream of a path, with its stat. Entry names start with the requested base name (dockerd's
 * TarResourceRebase): a directory "/etc" gives "etc/", "etc/passwd"…, a symlink gives the link.
 */
export async function tarPath(tree: ArchiveRoot, path: string, container: string): Promise<{ stat: PathStat; tar: ToolStream }> {
  const abs = absPath(path);
  let rebase = baseName(abs);
  if (rebase === '/') rebase = '.';
  const tar = startInRoot({ op: 'get', root: tree.root, mounts: tree.mounts, path: abs, rebase });
  tar.stdin.end();
  try {
    return { stat: pathStat(abs, await inRootHeader<InRootStat>(tar, () => fileNotFound(path, container))), tar };
  } catch (err) {
    tar.kill();
    throw err;
  }
}

/** The whole rootfs, entries named without "./" and without an entry for the root, as dockerd's export. */
export function tarRootfs(root: string): ToolStream {
  const tar = startInRoot({ op: 'export', root });
  tar.stdin.end();
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

export interface ExtractOptions {
  /** Where staging dirs go: private to the daemon, on the host side of the mount. */
  tmpDir: string;
  /** The extraction point as the client gave it. */
  path: string;
  container: string;
  noOverwriteDirNonDir: boolean;
  /** copyUIDGID: the container's User, whose owner every entry gets. */
  user?: string;
  /** The volumes and binds (read-only or not) that may hold the extraction point. */
  holders: readonly { destination: string; readOnly: boolean }[];
  readonlyRootfs: boolean;
}

/**
 * The helper checks the extraction point first (resolved fully in the root: it must be a directory,
 * writable as dockerd decides), and waits. Then the body (plain, gzip, bzip2 or xz) is streamed into
 * GNU tar extracting into a fresh staging dir (where tar's own guards hold: no "..", no writing
 * through links it made), and the helper merges the staged tree. Nothing is merged when the archive
 * is refused.
 */
export async function extractInto(body: Readable, tree: ArchiveRoot, opts: ExtractOptions): Promise<void> {
  await mkdir(opts.tmpDir, { recursive: true, mode: 0o700 });
  const staging = await mkdtemp(join(opts.tmpDir, 'put-'));
  const merger = startInRoot({
    op: 'put',
    root: tree.root,
    mounts: tree.mounts,
    path: absPath(opts.path),
    staging,
    noOverwriteDirNonDir: opts.noOverwriteDirNonDir,
    ...(opts.user ? { user: opts.user } : {}),
    holders: opts.holders,
    readonlyRootfs: opts.readonlyRootfs,
  });
  const refused = (): EngineError => fileNotFound(opts.path, opts.container);
  try {
    await inRootHeader<{ ready: boolean }>(merger, refused);
    const { head, stream } = await peek(body);
    if (head.length === 0) return;
    const flag = sniff(head);
    const tar = streamTool('tar', ['-x', ...(flag ? [flag] : []), '-f', '-', '-C', staging, '--numeric-owner', '--same-owner', '--same-permissions', '--no-acls', '--no-selinux', '--no-xattrs'], {});
    tar.stdout.resume();
    // The whole body is read even when tar gives up early, so the client always gets its reply.
    const [, outcome] = await Promise.all([feed(stream, tar.stdin), tar.done.then(() => undefined, (err: unknown) => err)]);
    if (outcome !== undefined && !(outcome instanceof ToolError && outcome.exitCode === 2 && onlyDeviceFailures(outcome.stderr))) {
      // A broken or hostile archive is the client's: dockerd's chrootarchive words, never GNU tar's.
      if (outcome instanceof ToolError) throw loadTarRefused(outcome.stderr);
      throw outcome;
    }
    merger.stdin.end('merge\n');
    try {
      await merger.done;
    } catch (err) {
      throw inRootError(err, refused);
    }
  } finally {
    merger.stdin.end();
    merger.kill();
    await merger.done.catch(() => undefined);
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
