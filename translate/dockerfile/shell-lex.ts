/**
 * Dockerfile word processing, after moby's shell lexer: quotes are removed, the escape character
 * escapes, and `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR:+alt}` (and the colon-less forms, and
 * `${VAR:?message}`) expand from the build's ARG/ENV values. Pure.
 */
import { invalidParameter } from '../errors.js';

export type Lookup = (name: string) => string | undefined;

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;

class Scanner {
  pos = 0;
  constructor(
    readonly text: string,
    readonly escape: string,
    readonly lookup: Lookup,
  ) {}
  peek(): string | undefined {
    return this.text[this.pos];
  }
  next(): string | undefined {
    return this.text[this.pos++];
  }
  done(): boolean {
    return this.pos >= this.text.length;
  }
}

/** One `$…` expansion; the scanner sits on the `$`. */
function dollar(s: Scanner): string {
  s.next();
  const c = s.peek();
  if (c === undefined) return '$';
  if (c !== '{') {
    if (!NAME_START.test(c)) return '$';
    let name = '';
    while (!s.done() && NAME_CHAR.test(s.peek() as string)) name += s.next();
    return s.lookup(name) ?? '';
  }
  s.next();
  let name = '';
  while (!s.done() && NAME_CHAR.test(s.peek() as string)) name += s.next();
  if (name === '') throw invalidParameter(`failed to process "${s.text}": bad substitution`);
  const after = s.peek();
  if (after === '}') {
    s.next();
    return s.lookup(name) ?? '';
  }
  let op = '';
  if (after === ':') {
    s.next();
    op = ':';
  }
  const kind = s.next();
  if (kind !== '-' && kind !== '+' && kind !== '?') throw invalidParameter(`failed to process "${s.text}": unsupported modifier (${op}${kind ?? ''}) in substitution`);
  const word = processUntil(s, '}');
  if (s.next() !== '}') throw invalidParameter(`failed to process "${s.text}": syntax error: missing '}'`);
  const value = s.lookup(name);
  const set = op === ':' ? value !== undefined && value !== '' : value !== undefined;
  if (kind === '-') return set ? (value as string) : word;
  if (kind === '+') return set ? word : '';
  if (!set) throw invalidParameter(`failed to process "${s.text}": ${name}: ${word === '' ? 'is not allowed to be unset' : word}`);
  return value as string;
}

function singleQuoted(s: Scanner): string {
  s.next();
  let out = '';
  while (!s.done() && s.peek() !== "'") out += s.next();
  if (s.next() !== "'") throw invalidParameter(`failed to process "${s.text}": unexpected end of statement while looking for matching single-quote`);
  return out;
}

function doubleQuoted(s: Scanner): string {
  s.next();
  let out = '';
  while (!s.done() && s.peek() !== '"') {
    const c = s.peek() as string;
    if (c === '$') {
      out += dollar(s);
    } else if (c === s.escape) {
      s.next();
      const n = s.peek();
      if (n === '"' || n === '$' || n === s.escape) out += s.next();
      else out += c;
    } else {
      out += s.next();
    }
  }
  if (s.next() !== '"') throw invalidParameter(`failed to process "${s.text}": unexpected end of statement while looking for matching double-quote`);
  return out;
}

/** Processes until `stop` (not consumed) or the end. */
function processUntil(s: Scanner, stop?: string): string {
  let out = '';
  while (!s.done() && s.peek() !== stop) {
    const c = s.peek() as string;
    if (c === "'") out += singleQuoted(s);
    else if (c === '"') out += doubleQuoted(s);
    else if (c === '$') out += dollar(s);
    else if (c === s.escape) {
      s.next();
      out += s.done() ? c : s.next();
    } else out += s.next();
  }
  return out;
}

/** One word: quotes removed, escapes applied, variables expanded. */
export function processWord(text: string, lookup: Lookup, escape = '\\'): string {
  return processUntil(new Scanner(text, escape, lookup));
}

/** Splits on unquoted whitespace (also whitespace that an unquoted expansion brings), then processes each word. */
export function processWords(text: string, lookup: Lookup, escape = '\\'): string[] {
  const s = new Scanner(text, escape, lookup);
  const words: string[] = [];
  let cur = '';
  let any = false;
  const flush = (): void => {
    if (any) words.push(cur);
    cur = '';
    any = false;
  };
  while (!s.done()) {
    const c = s.peek() as string;
    if (/\s/.test(c)) {
      s.next();
      flush();
    } else if (c === "'") {
      cur += singleQuoted(s);
      any = true;
    } else if (c === '"') {
      cur += doubleQuoted(s);
      any = true;
    } else if (c === '$') {
      const parts = dollar(s).split(/\s+/);
      parts.forEach((p, i) => {
        if (i > 0) flush();
        cur += p;
        if (p !== '') any = true;
      });
    } else if (c === escape) {
      s.next();
      cur += s.done() ? c : s.next();
      any = true;
    } else {
      cur += s.next();
      any = true;
    }
  }
  flush();
  return words;
}

/**
 * Splits on unquoted whitespace keeping quotes and escapes in place (the parser's first pass for
 * ENV/LABEL/ARG), so each word can later go through processWord.
 */
export function rawWords(text: string, escape = '\\'): string[] {
  const words: string[] = [];
  let cur = '';
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      cur += c;
      if (c === escape && quote === '"' && i + 1 < text.length) cur += text[++i];
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") {
      quote = c;
      cur += c;
    } else if (c === escape && i + 1 < text.length) {
      cur += c + text[++i];
    } else if (/\s/.test(c)) {
      if (cur !== '') words.push(cur);
      cur = '';
    } else cur += c;
  }
  if (quote) throw invalidParameter(`unmatched quote in "${text}"`);
  if (cur !== '') words.push(cur);
  return words;
}
