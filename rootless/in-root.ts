/**
 * The daemon's side of in-root.py: every read or write of a tree a container controls (its rootfs
 * with its volumes and binds, its overlay upper dir) runs in that helper, whose root directory is
 * the tree, so the kernel resolves each path with the container's root as "/" however the container
 * races the call (the class of CVE-2018-15664). Resolving in scope here and then using the host path
 * would leave a window between the two; there is none when the path is only ever used in the chroot.
 */
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';
import { EngineError, internal, type ErrorKind } from '../translate/errors.js';
import { streamTool, ToolError, type ToolStream } from './exec.js';

/** The helper's source, beside the compiled daemon's source tree (dist/… → the checkout). */
const HELPER = fileURLToPath(new URL('../../rootless/in_root/main.py', import.meta.url));

/** A volume or bind attached in the helper's private mount namespace before it enters the root. */
export interface InRootMount {
  destination: string;
  /** Host path the user chose (a bind source or a volume's data dir). */
  source: string;
  /** Inside the volume: resolved by the helper with the volume as its root. */
  subpath?: string;
  readOnly: boolean;
  recursive: boolean;
}

export interface BaseSpec {
  /** The tree that becomes "/" (host path). */
  root: string;
  /** Parents before children: each is resolved once the ones above it are in place. */
  mounts?: readonly InRootMount[];
}

export type InRootSpec =
  | (BaseSpec & { op: 'stat'; path: string })
  | (BaseSpec & { op: 'get'; path: string; rebase: string })
  | (BaseSpec & { op: 'export' })
  | (BaseSpec & {
      op: 'put';
      path: string;
      /** The daemon's private dir holding the staged upload; opened before the chroot. */
      staging: string;
      noOverwriteDirNonDir: boolean;
      /** copyUIDGID: the container's User, looked up in its own /etc/passwd. */
      user?: string;
      holders: readonly { destination: string; readOnly: boolean }[];
      readonlyRootfs: boolean;
    })
  | (BaseSpec & { op: 'list'; opaqueXattr: string; skip: readonly string[] })
  | (BaseSpec & { op: 'stage'; staging: string; opaqueXattr: string; skip: readonly string[] })
  /** A new volume's first content: `path` in the root copied into `target` (a host dir, held open). */
  | (BaseSpec & { op: 'copy-up'; path: string; target: string })
  /** No root: `subpath` of `source`, resolved with `source` as its root, bound onto `pin` in the engine's namespace. */
  | { op: 'pin'; source: string; subpath: string; pin: string };

/** What lstat says of a path in the root (the helper's "stat" answer and a "get"'s first line). */
export interface InRootStat {
  mode: number;
  size: number;
  mtimeNs: string;
  /** The symlink's target resolved in the root ("" for anything else). */
  linkTarget: string;
}

const KINDS = new Set<ErrorKind>(['invalid-parameter', 'forbidden', 'not-found', 'internal']);

/** The helper's own answer to a failure (its last stderr line), when it gave one. */
function refusal(err: ToolError): { code?: string; message?: string } | undefined {
  try {
    return JSON.parse(err.stderr.trim().split('\n').pop() ?? '') as { code?: string; message?: string };
  } catch {
    return undefined; // not the helper's JSON: python missing or killed
  }
}

/**
 * The helper's refusal, as an EngineError; `notFound` words a missing path (or a missing tree, the
 * helper's "no-tree") for the caller's call.
 */
export function inRootError(err: unknown, notFound: () => EngineError): unknown {
  if (!(err instanceof ToolError)) return err;
  const said = refusal(err);
  const kind = said?.code;
  if (kind === 'not-found' || kind === 'no-tree') return notFound();
  if (kind && KINDS.has(kind as ErrorKind)) return new EngineError(kind as ErrorKind, said?.message ?? '');
  return internal(`in-root helper: ${err.stderr.trim() || err.message}`);
}

export function startInRoot(spec: InRootSpec, python = 'python3'): ToolStream {
  return streamTool(python, ['-I', '-S', '-B', HELPER, JSON.stringify(spec)]);
}

/** Reads stdout up to the first newline; what follows stays in the stream. Undefined at a bare end. */
export async function firstLine(out: Readable): Promise<string | undefined> {
  let buf = Buffer.alloc(0);
  for (;;) {
    const chunk = out.read() as Buffer | null;
    if (chunk === null) {
      if (out.readableEnded || out.destroyed) return undefined;
      const ended = new Promise<void>((resolve) => out.once('end', resolve).once('close', resolve));
      await Promise.race([once(out, 'readable'), ended]);
      continue;
    }
    buf = Buffer.concat([buf, chunk]);
    const nl = buf.indexOf(10);
    if (nl >= 0) {
      if (nl + 1 < buf.length) out.unshift(buf.subarray(nl + 1));
      return buf.subarray(0, nl).toString('utf8');
    }
  }
}

/** A helper's whole stdout; a failure is the raw ToolError. */
async function output(spec: InRootSpec): Promise<string> {
  const tool = startInRoot(spec);
  tool.stdin.end();
  const chunks: Buffer[] = [];
  tool.stdout.on('data', (b: Buffer) => chunks.push(b));
  await tool.done;
  return Buffer.concat(chunks).toString('utf8');
}

/** Runs a helper whose whole answer is small: stdout as text, or its refusal as an EngineError. */
export async function inRootText(spec: InRootSpec, notFound: () => EngineError): Promise<string> {
  try {
    return await output(spec);
  } catch (err) {
    throw inRootError(err, notFound);
  }
}

/**
 * inRootText for a tree that may not exist yet (a container that never ran has no upper dir):
 * undefined then. A path that goes missing inside the tree is the helper's to handle, never this.
 */
export async function inRootTextIfTree(spec: InRootSpec): Promise<string | undefined> {
  try {
    return await output(spec);
  } catch (err) {
    if (err instanceof ToolError && refusal(err)?.code === 'no-tree') return undefined;
    throw inRootError(err, () => internal(`in-root helper: ${err instanceof Error ? err.message : String(err)}`));
  }
}

/**
 * A helper whose answer starts with one JSON line: the line is parsed, the rest stays in `tool.stdout`.
 * On a refusal the helper's exit is awaited and its error thrown.
 */
export async function inRootHeader<T>(tool: ToolStream, notFound: () => EngineError): Promise<T> {
  const line = await firstLine(tool.stdout);
  if (line === undefined) {
    try {
      await tool.done;
    } catch (err) {
      throw inRootError(err, notFound);
    }
    throw internal('in-root helper ended without an answer');
  }
  return JSON.parse(line) as T;
}
