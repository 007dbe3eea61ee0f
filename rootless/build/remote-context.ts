/**
 * remote= build contexts, as dockerd's remotecontext.Detect: a git repository (cloned with the git
 * CLI, `#ref:subdir` picking the ref and the context directory), or an http(s) URL whose download is
 * a tar (plain or compressed; unpacked as a request body context is) or a plain-text Dockerfile
 * (a context holding just that file). Failures before anything is downloaded come before the first
 * output line, so they are HTTP errors, as in dockerd.
 */
import { mkdir, mkdtemp, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { EngineError, invalidParameter, type ErrorKind } from '../../translate/errors.js';
import { progressBar, type JsonMessage } from '../../translate/pull-progress.js';
import { contextPath, insideRoot } from './context-files.js';
import { receiveContext } from './context.js';
import { roomIn } from '../fs-usage.js';
import { fetchUrl, headerText } from '../http-fetch.js';
import { BuildCancelledError } from './step-containers.js';
import { spawnTool } from '../exec.js';

export interface RemoteContextOptions {
  /** The build's `dockerfile=`: the name a downloaded Dockerfile gets in its context. */
  dockerfile: string;
  signal?: AbortSignal;
  /** The build's visible output (a no-op for a quiet build): the download's progress. */
  emit: (m: JsonMessage) => void;
}

const cancelled = (): Error => new BuildCancelledError();
const isURL = (s: string): boolean => s.startsWith('https://') || s.startsWith('http://');

/** urlutil.IsGitURL: an http(s) URL ending in .git (a fragment aside), or a git transport prefix. */
export function isGitURL(s: string): boolean {
  if (isURL(s) && /\.git(?:#.+)?$/.test(s)) return true;
  return ['git://', 'github.com/', 'git@', 'ssh://'].some((p) => s.startsWith(p));
}

/** Receives the context `remote` names into a directory under `workDir` and returns it. */
export async function receiveRemoteContext(remote: string, workDir: string, opts: RemoteContextOptions): Promise<string> {
  if (remote === 'client-session') throw invalidParameter('experimental session with v1 builder is no longer supported, use builder version v2 (BuildKit) instead');
  if (isGitURL(remote)) return cloneContext(remote, workDir, opts.signal);
  if (isURL(remote)) return downloadContext(remote, workDir, opts);
  throw new EngineError('internal', `remoteURL (${remote}) could not be recognized as URL`);
}

/** How much of the body decides its type when the server does not say (dockerd's maxPreambleLength). */
const PREAMBLE_BYTES = 100;
/** The Content-Types dockerd takes for a remote context, found anywhere in the header's value. */
const ACCEPTABLE_MIME = /(?:application\/(?:(?:x-)?tar|octet-stream|((?:x-)?(?:gzip|bzip2?|xz)))|(?:text\/plain))/;
const HTML_TAGS = /^(?:<!DOCTYPE HTML|<HTML|<HEAD|<SCRIPT|<IFRAME|<H1|<DIV|<FONT|<TABLE|<A|<STYLE|<TITLE|<B|<BODY|<BR|<P|<!--)[ >]/i;

/** Go's http.DetectContentType, as far as it decides between a Dockerfile, an archive and neither. */
function sniffContentType(b: Buffer): string {
  const text = b.toString('latin1').replace(/^[\t\n\x0c\r ]+/, '');
  if (HTML_TAGS.test(text)) return 'text/html; charset=utf-8';
  if (text.startsWith('<?xml')) return 'text/xml; charset=utf-8';
  if (b.subarray(0, 5).toString('latin1') === '%PDF-') return 'application/pdf';
  if ((b[0] === 0xfe && b[1] === 0xff) || (b[0] === 0xff && b[1] === 0xfe) || (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf)) return 'text/plain';
  if (b[0] === 0x1f && b[1] === 0x8b && b[2] === 0x08) return 'application/x-gzip';
  if (b.subarray(0, 4).toString('latin1') === 'PK\x03\x04') return 'application/zip';
  const binary = b.some((c) => c <= 0x08 || c === 0x0b || (c >= 0x0e && c <= 0x1a) || (c >= 0x1c && c <= 0x1f));
  return binary ? 'application/octet-stream' : 'text/plain; charset=utf-8';
}

/**
 * newURLRemote: text/plain (said by the server, or sniffed when it says nothing or
 * application/octet-stream) is a Dockerfile; any other accepted type is an archive context.
 */
async function downloadContext(url: string, workDir: string, opts: RemoteContextOptions): Promise<string> {
  const fail = (kind: ErrorKind, message: string): EngineError => new EngineError(kind, `error downloading remote context ${url}: ${message}`);
  const undetected = (message: string): EngineError => new EngineError('internal', `error detecting content type for remote ${url}: ${message}`);
  return fetchUrl(url, { signal: opts.signal, fail, cancelled }, async (got) => {
    const body = got.chunks();
    const first = await body.next();
    if (first.done) throw undetected('empty response');
    const header = headerText(got.res.headers['content-type']);
    const preamble = first.value.subarray(0, got.total > 0 && got.total < PREAMBLE_BYTES ? got.total : PREAMBLE_BYTES);
    const detected = header === '' || header === 'application/octet-stream' ? sniffContentType(preamble) : header;
    const type = ACCEPTABLE_MIME.exec(detected)?.[0];
    if (!type) throw undetected(`unsupported Content-Type ${JSON.stringify(header)}`);

    // dockerd's progress reader: "Downloading context" with the URL, then an empty message ending the line.
    let current = 0;
    let shown = 0;
    const progress = (): void => {
      opts.emit({ status: url, progressDetail: { current }, progress: progressBar(current, 0), id: 'Downloading context' });
      shown = Date.now();
    };
    const counted = async function* (): AsyncGenerator<Buffer> {
      for (let next: IteratorResult<Buffer> = first; !next.done; next = await body.next()) {
        current += next.value.length;
        if (Date.now() - shown >= 100) progress();
        yield next.value;
      }
      progress();
      opts.emit({});
    };

    const dir = join(workDir, 'context');
    if (type !== 'text/plain') return receiveContext(Readable.from(counted()), workDir);
    const file = join(dir, contextPath(opts.dockerfile || 'Dockerfile'));
    await mkdir(dirname(file), { recursive: true, mode: 0o755 });
    await got.save(counted(), file, await roomIn(workDir));
    return dir;
  });
}

/** dockerd's parseRemoteURL: the remote to fetch, the ref (master unless the fragment names one) and the context's subdirectory. */
function parseGitURL(remote: string): { url: string; ref: string; subdir: string } {
  const transport = remote.startsWith('git@') || /^(?:git|https?|ssh):\/\//i.test(remote);
  const full = transport ? remote : `https://${remote}`;
  const hash = full.indexOf('#');
  const url = hash < 0 ? full : full.slice(0, hash);
  let fragment = hash < 0 ? '' : full.slice(hash + 1);
  try {
    if (!full.startsWith('git@')) fragment = decodeURIComponent(fragment);
  } catch {
    // Left as written.
  }
  const colon = fragment.indexOf(':');
  const ref = (colon < 0 ? fragment : fragment.slice(0, colon)) || 'master';
  const subdir = colon < 0 ? '' : fragment.slice(colon + 1);
  if (ref.startsWith('-')) throw new EngineError('internal', `invalid refspec: ${ref}`);
  return { url, ref, subdir };
}

/** What git said (stdout and stderr as they came, the last 16 KiB) and how it ended. */
interface GitResult {
  ok: boolean;
  output: string;
}

/**
 * One git command in `dir`, as dockerd's gitWithinDir: no file:// submodules, no protocols a
 * repository could smuggle in, never a credential prompt; an http server that stalls for a minute
 * fails. A cancelled build kills it.
 */
function git(dir: string, args: readonly string[], signal: AbortSignal | undefined): Promise<GitResult> {
  const env = { ...process.env, GIT_PROTOCOL_FROM_USER: '0', GIT_TERMINAL_PROMPT: '0', GIT_HTTP_LOW_SPEED_LIMIT: '1', GIT_HTTP_LOW_SPEED_TIME: '60' };
  return new Promise((resolve, reject) => {
    const child = spawnTool('git', ['-c', 'protocol.file.allow=never', ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'], ...(signal ? { signal } : {}) });
    let output = '';
    const collect = (b: Buffer): void => {
      output = (output + b.toString('utf8')).slice(-16 * 1024);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (signal?.aborted) reject(new BuildCancelledError());
      else if (err.code === 'ENOENT') reject(new EngineError('internal', `exec: "git": executable file not found in $PATH`));
      else reject(err);
    });
    child.on('close', (code, sig) => resolve({ ok: code === 0, output: `${output.trim()}: ${sig ? `signal: ${sig}` : `exit status ${code}`}` }));
  });
}

/** Go's smart-HTTP probe: only a server answering git-upload-pack's advertisement takes a shallow fetch. */
async function supportsShallowClone(url: string, signal: AbortSignal | undefined): Promise<boolean> {
  if (!/^https?:\/\//i.test(url)) return true;
  const probe = `${url}/info/refs?service=git-upload-pack`;
  const never = (): Error => new Error('not smart');
  return fetchUrl(probe, { signal, fail: never, cancelled }, async (got) => got.res.statusCode === 200 && headerText(got.res.headers['content-type']) === 'application/x-git-upload-pack-advertisement').catch(
    () => false,
  );
}

/**
 * MakeGitContext: init, fetch the ref (shallow where the server allows), check it out (by name,
 * else what was fetched), submodules, then the subdirectory, which must stay inside the checkout.
 */
async function cloneContext(remote: string, workDir: string, signal: AbortSignal | undefined): Promise<string> {
  const { url, ref, subdir } = parseGitURL(remote);
  const root = await mkdtemp(join(workDir, 'git-'));
  const run = async (args: string[], message: string): Promise<GitResult> => {
    let r: GitResult;
    try {
      r = await git(root, args, signal);
    } catch (err) {
      if (err instanceof EngineError) throw new EngineError('internal', `${message}: ${err.message}`);
      throw err;
    }
    if (!r.ok) throw new EngineError('internal', `${message}: ${r.output}`);
    return r;
  };
  await run(['init'], `failed to init repo at ${root}`);
  await run(['remote', 'add', 'origin', url], `failed add origin repo at ${url}`);
  const shallow = await supportsShallowClone(url, signal);
  if (signal?.aborted) throw new BuildCancelledError();
  await run(['fetch', ...(shallow ? ['--depth', '1'] : []), 'origin', '--', ref], 'error fetching');
  const byName = await git(root, ['checkout', ref], signal);
  if (!byName.ok) {
    const fetched = await git(root, ['checkout', 'FETCH_HEAD'], signal);
    if (!fetched.ok) throw new EngineError('internal', `error checking out ${ref}: ${byName.output}`);
  }
  await run(['submodule', 'update', '--init', '--recursive', '--depth=1'], 'error initializing submodules');
  if (subdir === '') return root;
  const wanted = join(root, subdir);
  if (!(await stat(wanted).catch(() => undefined))) throw new EngineError('internal', `stat ${wanted}: no such file or directory`);
  const dir = await insideRoot(root, wanted);
  if (!dir) throw new EngineError('internal', `error setting git context, ${JSON.stringify(subdir)} not within git root`);
  if (!(await stat(dir)).isDirectory()) throw new EngineError('internal', `error setting git context, not a directory: ${dir}`);
  return dir;
}
