/**
 * Reading the unpacked context: the Dockerfile (never through a path or symlink leading out),
 * the Dockerfile and .dockerignore dropped when .dockerignore names them, as dockerd does, and
 * COPY/ADD source lookup with wildcards.
 */
import { lstat, readFile, readdir, realpath, rm } from 'node:fs/promises';
import { basename, dirname, join, posix, sep } from 'node:path';
import { invalidParameter } from '../../translate/errors.js';
import { globRegExp, isIgnored, parseDockerignore } from '../../translate/dockerignore.js';

/** `path` inside `root` once symlinks are followed, or undefined. */
export async function insideRoot(root: string, path: string): Promise<string | undefined> {
  let real: string;
  try {
    real = await realpath(path);
  } catch {
    return undefined;
  }
  const rootReal = await realpath(root);
  return real === rootReal || real.startsWith(rootReal + sep) ? real : undefined;
}

/** A context-relative path, cleaned; throws when it climbs out. */
export function contextPath(path: string): string {
  const cleaned = posix.normalize('/' + path.replace(/\\/g, '/')).slice(1);
  if (cleaned.startsWith('..')) throw invalidParameter(`forbidden path outside the build context: ${path}`);
  return cleaned;
}

export async function readDockerfile(contextDir: string, name: string): Promise<{ text: string; rel: string }> {
  const candidates = name === '' || name === 'Dockerfile' ? ['Dockerfile', 'dockerfile'] : [name];
  for (const candidate of candidates) {
    const rel = contextPath(candidate);
    const real = await insideRoot(contextDir, join(contextDir, rel));
    if (!real) continue;
    const st = await lstat(real);
    if (!st.isFile()) continue;
    return { text: await readFile(real, 'utf8'), rel };
  }
  throw invalidParameter(`Cannot locate specified Dockerfile: ${name || 'Dockerfile'}`);
}

/**
 * What dockerd's removeDockerfile does once the Dockerfile is read: `.dockerignore` and the
 * Dockerfile go when `.dockerignore` names them; nothing else is filtered on the daemon side (the
 * CLI, docker-py and dockerode filter the context before sending it, and what a client sends
 * anyway stays, as with dockerd).
 */
export async function removeIgnoredBuildFiles(contextDir: string, dockerfileRel: string): Promise<void> {
  let text: string;
  try {
    text = await readFile(join(contextDir, '.dockerignore'), 'utf8');
  } catch {
    return;
  }
  const patterns = parseDockerignore(text);
  for (const rel of ['.dockerignore', dockerfileRel]) {
    if (!isIgnored(rel, patterns)) continue;
    // The entry itself goes (a link, not what it names), and only under a directory that stays
    // inside the context.
    const parent = await insideRoot(contextDir, dirname(join(contextDir, rel)));
    if (parent) await rm(join(parent, basename(rel)), { force: true });
  }
}

const WILDCARD = /[*?[]/;

async function walk(root: string, rel: string, out: string[]): Promise<void> {
  for (const entry of await readdir(join(root, rel), { withFileTypes: true })) {
    const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
    out.push(child);
    if (entry.isDirectory()) await walk(root, child, out);
  }
}

/** The context paths a COPY source names: itself, or every path its wildcard matches (filepath.Match). */
export async function resolveSources(contextDir: string, source: string): Promise<string[]> {
  const rel = contextPath(source);
  if (!WILDCARD.test(rel)) {
    const full = join(contextDir, rel);
    try {
      await lstat(full);
    } catch {
      throw invalidParameter(`COPY failed: file not found in build context or excluded by .dockerignore: stat ${rel}: file does not exist`);
    }
    if (!(await insideRoot(contextDir, full))) throw invalidParameter(`COPY failed: forbidden path outside the build context: ${source}`);
    return [rel];
  }
  const all: string[] = [];
  await walk(contextDir, '', all);
  const re = globRegExp(rel);
  const matched = all.filter((p) => re.test(p));
  if (matched.length === 0) throw invalidParameter(`COPY failed: no source files were specified`);
  return matched;
}
