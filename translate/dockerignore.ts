/**
 * .dockerignore as moby's patternmatcher reads it: Go filepath.Match syntax (`*`, `?`, `[…]`, `\`
 * escapes) plus `**` for any number of directories, `!` exceptions, and the last matching line
 * wins. A pattern that matches a parent directory matches everything beneath it. Pure.
 */
import { posix } from 'node:path';

export interface IgnorePattern {
  text: string;
  exclusion: boolean;
  regex: RegExp;
}

const REGEX_SPECIAL = new Set(['.', '+', '(', ')', '|', '{', '}', '$', '^']);

/** filepath.Match for COPY wildcards: like a .dockerignore line without `**`'s meaning. */
export function globRegExp(pattern: string): RegExp {
  return compile(pattern);
}

function compile(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        while (pattern[i + 1] === '*') i++;
        if (pattern[i + 1] === '/') i++;
        re += i + 1 >= pattern.length ? (re === '^' ? '.*' : '(/.*)?') : '(.*/)?';
      } else {
        re += '[^/]*';
      }
    } else if (c === '?') {
      re += '[^/]';
    } else if (c === '\\') {
      i++;
      if (i < pattern.length) re += '\\' + pattern[i];
      else re += '\\\\';
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) {
        re += '\\[';
      } else {
        let cls = pattern.slice(i + 1, end);
        if (cls.startsWith('!')) cls = '^' + cls.slice(1);
        re += `[${cls.replace(/\\(?!\])/g, '\\\\')}]`;
        i = end;
      }
    } else if (REGEX_SPECIAL.has(c) || c === ']') {
      re += '\\' + c;
    } else {
      re += c;
    }
  }
  try {
    return new RegExp(re + '$');
  } catch {
    // A malformed class matches nothing rather than failing the build, as a bad glob matches nothing in Go.
    return /$^/;
  }
}

export function parseDockerignore(text: string): IgnorePattern[] {
  const out: IgnorePattern[] = [];
  for (const rawLine of text.split(/\r?\n/)) {
    let line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    let exclusion = false;
    if (line.startsWith('!')) {
      exclusion = true;
      line = line.slice(1).trim();
      if (line === '') continue;
    }
    let cleaned = posix.normalize(line);
    if (cleaned.length > 1 && cleaned.startsWith('/')) cleaned = cleaned.slice(1);
    if (cleaned.length > 1 && cleaned.endsWith('/')) cleaned = cleaned.slice(0, -1);
    if (cleaned === './') cleaned = '.';
    out.push({ text: cleaned, exclusion, regex: compile(cleaned) });
  }
  return out;
}

/** Whether a context path ("dir/file", no leading "./") is excluded. */
export function isIgnored(relPath: string, patterns: readonly IgnorePattern[]): boolean {
  const path = posix.normalize(relPath).replace(/^\.\//, '').replace(/\/$/, '');
  const parents: string[] = [];
  const parts = path.split('/');
  for (let n = 1; n < parts.length; n++) parents.push(parts.slice(0, n).join('/'));
  let matched = false;
  for (const p of patterns) {
    if (p.exclusion === matched) {
      // Only a pattern that can change the outcome needs testing.
      if (p.regex.test(path) || parents.some((dir) => p.regex.test(dir))) matched = !p.exclusion;
    }
  }
  return matched;
}
