import { access, stat } from 'node:fs/promises';
import { constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * Directories not on an unprivileged user's default PATH where Debian puts some of the
 * tools (runc lives in /usr/sbin); only used to explain a "not found".
 */
const SBIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

export function pathDirs(env: NodeJS.ProcessEnv): string[] {
  return (env.PATH ?? '').split(delimiter).filter((d) => d.startsWith('/'));
}

export async function isExecutableFile(path: string): Promise<boolean> {
  try {
    const st = await stat(path);
    if (!st.isFile()) return false;
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Resolve a tool the way execvp would, from the PATH of the given environment rather than
 * ours, so callers (and tests) control which tools Burrow sees.
 */
export async function findExecutable(name: string, env: NodeJS.ProcessEnv): Promise<string | null> {
  for (const dir of pathDirs(env)) {
    const candidate = join(dir, name);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return null;
}

/** An executable in an sbin directory that PATH leaves out, for a "found but not on PATH" hint. */
export async function findOffPath(name: string, env: NodeJS.ProcessEnv): Promise<string | null> {
  const onPath = new Set(pathDirs(env));
  for (const dir of SBIN_DIRS) {
    if (onPath.has(dir)) continue;
    const candidate = join(dir, name);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return null;
}

export async function findAll<N extends string>(names: readonly N[], env: NodeJS.ProcessEnv): Promise<Record<N, string | null>> {
  const found = await Promise.all(names.map((n) => findExecutable(n, env)));
  return Object.fromEntries(names.map((n, i) => [n, found[i]])) as Record<N, string | null>;
}
