/** Decoding of instruction arguments once variables are known: ENV/LABEL pairs, ARG, HEALTHCHECK, commands, durations. Pure. */
import { invalidParameter } from '../errors.js';
import { jsonForm, type Instruction } from './parser.js';
import { processWord, rawWords, type Lookup } from './shell-lex.js';

/** ENV/LABEL: `k=v k2="v 2"` or the legacy `k value with spaces`; values (and keys) are processed. */
export function keyValues(inst: Instruction, escape: string, lookup: Lookup): [string, string][] {
  const words = rawWords(inst.rest, escape);
  if (words.length === 0) throw invalidParameter(`${inst.cmd} requires at least one argument`);
  if (!words[0].includes('=')) {
    if (words.length < 2) throw invalidParameter(`${inst.cmd} must have two arguments`);
    const key = words[0];
    const value = inst.rest.trim().slice(key.length).trim();
    return [[processWord(key, lookup, escape), processWord(value, lookup, escape)]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq < 0) throw invalidParameter(`Syntax error - can't find = in "${w}". Must be of the form: name=value`);
    const key = processWord(w.slice(0, eq), lookup, escape);
    if (key === '') throw invalidParameter(`${inst.cmd} names can not be blank`);
    return [key, processWord(w.slice(eq + 1), lookup, escape)];
  });
}

/** ARG `NAME` or `NAME=default` (several per line allowed); defaults are processed. */
export function argDeclarations(inst: Instruction, escape: string, lookup: Lookup): { name: string; value?: string }[] {
  const words = rawWords(inst.rest, escape);
  if (words.length === 0) throw invalidParameter('ARG requires at least one argument');
  return words.map((w) => {
    const eq = w.indexOf('=');
    const name = eq < 0 ? w : w.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw invalidParameter(`invalid ARG name: ${name}`);
    return eq < 0 ? { name } : { name, value: processWord(w.slice(eq + 1), lookup, escape) };
  });
}

/** RUN/CMD/ENTRYPOINT: the JSON form as is, the shell form behind the current SHELL. */
export function commandLine(inst: Instruction, shell: readonly string[]): string[] {
  if (inst.json) return inst.json;
  return [...shell, inst.rest];
}

const UNITS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** A Go duration ("30s", "1m30s", "500ms") in nanoseconds. */
export function parseDuration(text: string): number {
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let at = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    total += Number(m[1]) * UNITS[m[2]];
    at = re.lastIndex;
  }
  if (at === 0 || at !== text.length) throw invalidParameter(`time: invalid duration "${text}"`);
  return Math.round(total);
}

export interface HealthcheckConfig {
  Test: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

const HEALTH_FLAGS = new Set(['interval', 'timeout', 'start-period', 'start-interval', 'retries']);

export function healthcheck(inst: Instruction): HealthcheckConfig {
  const m = /^(\S+)\s*([\s\S]*)$/.exec(inst.rest);
  const kind = m?.[1].toUpperCase();
  if (kind === 'NONE') {
    if ((m?.[2] ?? '').trim() !== '' || Object.keys(inst.flags).length > 0) throw invalidParameter('HEALTHCHECK NONE takes no arguments');
    return { Test: ['NONE'] };
  }
  if (kind !== 'CMD') throw invalidParameter(`Unknown type "${m?.[1] ?? ''}" in HEALTHCHECK (try CMD)`);
  for (const f of Object.keys(inst.flags)) if (!HEALTH_FLAGS.has(f)) throw invalidParameter(`Unknown flag: ${f}`);
  const cmdText = (m?.[2] ?? '').trim();
  if (cmdText === '') throw invalidParameter('Missing command after HEALTHCHECK CMD');
  const json = jsonForm(cmdText);
  const out: HealthcheckConfig = { Test: json ? ['CMD', ...json] : ['CMD-SHELL', cmdText] };
  const dur = (name: string): number | undefined => {
    const v = inst.flags[name];
    if (v === undefined) return undefined;
    const d = parseDuration(v);
    if (d !== 0 && d < 1e6) throw invalidParameter(`Interval "${name}" cannot be less than 1ms`);
    return d;
  };
  const interval = dur('interval');
  const timeout = dur('timeout');
  const startPeriod = dur('start-period');
  const startInterval = dur('start-interval');
  if (interval !== undefined) out.Interval = interval;
  if (timeout !== undefined) out.Timeout = timeout;
  if (startPeriod !== undefined) out.StartPeriod = startPeriod;
  if (startInterval !== undefined) out.StartInterval = startInterval;
  if (inst.flags.retries !== undefined) {
    const r = Number(inst.flags.retries);
    if (!Number.isInteger(r) || r < 0) throw invalidParameter(`invalid retries: ${inst.flags.retries}`);
    if (r > 0) out.Retries = r;
  }
  return out;
}
