/**
 * The Dockerfile parser: parser directives, comments, line continuations, flags and JSON (exec)
 * form, one Instruction per logical line. Variable substitution happens later, per instruction,
 * against the build state (shell-lex.ts). Pure.
 */
import { invalidParameter } from '../errors.js';
import { flagProblem, type WrittenFlag } from './instruction-flags.js';
import { withSuggestion } from './suggest.js';

export interface Instruction {
  /** Upper-case keyword: RUN, COPY, … */
  cmd: string;
  /** The logical line as written, continuations joined; shown in "Step n/m : …". */
  original: string;
  /** `--name=value` flags before the arguments (a bare `--name` is "true"). */
  flags: Record<string, string>;
  /** The arguments after the flags, trimmed. */
  rest: string;
  /** The exec/JSON form when `rest` is a JSON array of strings. */
  json?: string[];
  /** 1-based line of the instruction's first line. */
  line: number;
}

export interface ParsedDockerfile {
  escape: string;
  instructions: Instruction[];
  /** For the build output, as dockerd prints them. */
  warnings: string[];
}

const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9_]*)\s*=\s*(.+?)\s*$/;
const KNOWN_DIRECTIVES = new Set(['syntax', 'escape', 'check']);
const HEREDOC = /<<-?\s*["']?[A-Za-z_][A-Za-z0-9_]*["']?/;
const HEREDOC_COMMANDS = new Set(['RUN', 'COPY', 'ADD']);

export const KNOWN_INSTRUCTIONS = new Set([
  'FROM', 'RUN', 'CMD', 'LABEL', 'MAINTAINER', 'EXPOSE', 'ENV', 'ADD', 'COPY', 'ENTRYPOINT', 'VOLUME',
  'USER', 'WORKDIR', 'ARG', 'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL',
]);

/** A JSON array of strings, or undefined (then the text is shell form). */
export function jsonForm(text: string): string[] | undefined {
  const t = text.trim();
  if (!t.startsWith('[')) return undefined;
  try {
    const parsed = JSON.parse(t) as unknown;
    if (Array.isArray(parsed) && parsed.every((x) => typeof x === 'string')) return parsed as string[];
  } catch {
    // shell form that happens to start with "["
  }
  return undefined;
}

/** Leading `--flag[=value]` words. */
export function splitFlags(text: string): { flags: Record<string, string>; written: WrittenFlag[]; rest: string } {
  const flags: Record<string, string> = {};
  const written: WrittenFlag[] = [];
  let rest = text.trimStart();
  for (;;) {
    const m = /^--([A-Za-z][A-Za-z0-9-]*)(?:=(\S*))?(?:\s+|$)/.exec(rest);
    if (!m) break;
    flags[m[1]] = m[2] ?? 'true';
    written.push({ name: m[1], value: m[2] });
    rest = rest.slice(m[0].length);
  }
  return { flags, written, rest: rest.trim() };
}

/** dockerd's wrapping of an instruction's parse error with its line (buildkit's instructions.parseError). */
export function parseErrorOnLine(line: number, message: string): Error {
  return invalidParameter(`dockerfile parse error on line ${line}: ${message}`);
}

/** The instructions an ONBUILD may not carry, refused with dockerd's words. */
export function checkOnbuildTrigger(rest: string): void {
  const trigger = /^(\S+)/.exec(rest)?.[1].toUpperCase();
  if (!trigger) throw invalidParameter('ONBUILD requires at least one argument');
  if (trigger === 'ONBUILD') throw invalidParameter("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  if (trigger === 'FROM' || trigger === 'MAINTAINER') throw invalidParameter(`${trigger} isn't allowed as an ONBUILD trigger`);
}

/** Parses one logical line (also used for ONBUILD triggers, line 0: then errors carry no line, as in dockerd). */
export function parseInstruction(text: string, line: number): Instruction {
  const refuse = (message: string): Error => (line > 0 ? parseErrorOnLine(line, message) : invalidParameter(message));
  const trimmed = text.trim();
  const m = /^(\S+)\s*([\s\S]*)$/.exec(trimmed);
  if (!m) throw refuse('empty instruction');
  const cmd = m[1].toUpperCase();
  if (!KNOWN_INSTRUCTIONS.has(cmd)) throw refuse(withSuggestion(`unknown instruction: ${m[1]}`, m[1], [...KNOWN_INSTRUCTIONS], false));
  // ONBUILD keeps its trigger whole, flags included.
  const { flags, written, rest } = cmd === 'ONBUILD' ? { flags: {}, written: [], rest: m[2].trim() } : splitFlags(m[2]);
  if (cmd === 'ONBUILD') {
    // Refused when the Dockerfile is parsed, before any step runs, as dockerd does.
    try {
      checkOnbuildTrigger(rest);
    } catch (err) {
      throw line > 0 ? parseErrorOnLine(line, (err as Error).message) : err;
    }
  }
  const problem = flagProblem(cmd, written);
  if (problem !== undefined) throw refuse(problem);
  const json = jsonForm(rest);
  if (HEREDOC_COMMANDS.has(cmd) && json === undefined && HEREDOC.test(rest)) {
    throw refuse('heredocs (<<EOF) are not supported by the classic builder');
  }
  return { cmd, original: `${m[1]} ${m[2]}`.trim(), flags, rest, ...(json ? { json } : {}), line };
}

export function parseDockerfile(text: string, name = 'Dockerfile'): ParsedDockerfile {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let escape = '\\';
  const warnings: string[] = [];
  let i = 0;
  // Parser directives: only at the very top, before any blank line, comment or instruction.
  const seen = new Set<string>();
  for (; i < lines.length; i++) {
    const d = DIRECTIVE.exec(lines[i]);
    if (!d) break;
    const key = d[1].toLowerCase();
    if (!KNOWN_DIRECTIVES.has(key)) break;
    if (seen.has(key)) throw invalidParameter(`only one ${key} parser directive can be used`);
    seen.add(key);
    if (key === 'escape') {
      if (d[2] !== '\\' && d[2] !== '`') throw invalidParameter(`invalid escape token '${d[2]}' does not match ` + '` or \\');
      escape = d[2];
    } else if (key === 'syntax') {
      warnings.push(`[WARNING]: the syntax directive (${d[2]}) is ignored: this is the classic builder`);
    }
  }
  const instructions: Instruction[] = [];
  let pending = '';
  let startLine = 0;
  const continues = (l: string): boolean => l.trimEnd().endsWith(escape);
  for (; i < lines.length; i++) {
    const raw = lines[i];
    const trimmedStart = raw.trimStart();
    // Comments (and blank lines inside a continuation) are dropped wherever they appear.
    if (trimmedStart.startsWith('#')) continue;
    if (trimmedStart.trim() === '') {
      if (pending !== '') continue;
      continue;
    }
    if (pending === '') startLine = i + 1;
    if (continues(raw)) {
      const body = raw.trimEnd();
      pending += (pending === '' ? trimmedStart.trimEnd() : body).slice(0, -1);
      continue;
    }
    pending += pending === '' ? trimmedStart : raw;
    instructions.push(parseInstruction(pending, startLine));
    pending = '';
  }
  if (pending.trim() !== '') instructions.push(parseInstruction(pending, startLine));
  // An empty file is refused before parsing (moby's readAndParseDockerfile); one with only comments by the parser.
  if (instructions.length === 0) throw invalidParameter(text === '' ? `the Dockerfile (${name}) cannot be empty` : 'file with no instructions');
  return { escape, instructions, warnings };
}
