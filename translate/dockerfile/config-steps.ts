/**
 * The instructions that only change the image config (ENV, LABEL, WORKDIR, USER, CMD, ENTRYPOINT,
 * EXPOSE, VOLUME, STOPSIGNAL, HEALTHCHECK, SHELL, ONBUILD, MAINTAINER, ARG): each returns the new
 * config and the history text dockerd records ("/bin/sh -c #(nop)  ENV a=b"). Pure.
 */
import { posix } from 'node:path';
import { invalidParameter } from '../errors.js';
import { applyChanges, type ImageContainerConfig } from '../image-changes.js';
import { argDeclarations, commandLine, healthcheck, keyValues } from './arguments.js';
import type { Instruction } from './parser.js';
import { processWord, processWords, type Lookup } from './shell-lex.js';

export const DEFAULT_SHELL = ['/bin/sh', '-c'];

export interface StageState {
  config: ImageContainerConfig;
  escape: string;
  /** ARGs declared in this stage and their values (undefined: declared without one). */
  args: Map<string, string | undefined>;
  /** Values from the request's buildargs. */
  buildArgs: Readonly<Record<string, string | null>>;
  /** Values of the ARGs declared before the first FROM. */
  metaArgs: ReadonlyMap<string, string | undefined>;
  /** CMD was set in this stage (then ENTRYPOINT keeps it). */
  cmdSet: boolean;
  author?: string;
}

export const envOf = (config: ImageContainerConfig): string[] => (Array.isArray(config.Env) ? (config.Env as string[]) : []);

export function shellOf(config: ImageContainerConfig): string[] {
  return Array.isArray(config.Shell) && (config.Shell as string[]).length > 0 ? (config.Shell as string[]) : DEFAULT_SHELL;
}

/** Variables for substitution: ENV wins over ARG, as in dockerd. */
export function lookupFor(state: Pick<StageState, 'config' | 'args'>): Lookup {
  return (name) => {
    for (const e of envOf(state.config)) {
      const eq = e.indexOf('=');
      if (eq > 0 && e.slice(0, eq) === name) return e.slice(eq + 1);
    }
    return state.args.get(name);
  };
}

/** ARG values a RUN sees (and records): declared, valued, not shadowed by ENV; sorted. */
export function runArgs(state: Pick<StageState, 'config' | 'args'>): string[] {
  const envNames = new Set(envOf(state.config).map((e) => e.split('=')[0]));
  const out: string[] = [];
  for (const [k, v] of state.args) if (v !== undefined && !envNames.has(k)) out.push(`${k}=${v}`);
  return out.sort();
}

export function setEnv(env: readonly string[], key: string, value: string): string[] {
  const out = [...env];
  const i = out.findIndex((e) => e.split('=')[0] === key);
  if (i >= 0) out[i] = `${key}=${value}`;
  else out.push(`${key}=${value}`);
  return out;
}

export const nop = (text: string): string => `/bin/sh -c #(nop)  ${text}`;

const quoted = (s: string): string => (/[\s"'\\]/.test(s) || s === '' ? JSON.stringify(s) : s);

export interface StepResult {
  config: ImageContainerConfig;
  createdBy: string;
}

/** Applies one metadata instruction to `state` (mutating args/cmdSet/author) and returns the new config. */
export function metadataStep(inst: Instruction, state: StageState): StepResult {
  const look = lookupFor(state);
  const esc = state.escape;
  let cfg: ImageContainerConfig = { ...state.config };
  const word = (): string => processWord(inst.rest, look, esc);
  switch (inst.cmd) {
    case 'ENV': {
      let env = envOf(cfg);
      const parts: string[] = [];
      // Values are substituted with the environment from before this line: `ENV a=1 b=$a` leaves b empty, as in dockerd.
      for (const [k, v] of keyValues(inst, esc, look)) {
        env = setEnv(env, k, v);
        cfg = { ...cfg, Env: env };
        parts.push(`${k}=${v}`);
      }
      return { config: cfg, createdBy: nop(`ENV ${parts.join(' ')}`) };
    }
    case 'LABEL': {
      const labels = { ...((cfg.Labels as Record<string, string> | undefined) ?? {}) };
      const parts: string[] = [];
      for (const [k, v] of keyValues(inst, esc, look)) {
        labels[k] = v;
        parts.push(`${quoted(k)}=${quoted(v)}`);
      }
      return { config: { ...cfg, Labels: labels }, createdBy: nop(`LABEL ${parts.join(' ')}`) };
    }
    case 'ARG': {
      const parts: string[] = [];
      for (const d of argDeclarations(inst, esc, look)) {
        const given = Object.prototype.hasOwnProperty.call(state.buildArgs, d.name) ? state.buildArgs[d.name] : undefined;
        const inherited = d.value === undefined ? state.metaArgs.get(d.name) : undefined;
        state.args.set(d.name, given ?? d.value ?? inherited);
        parts.push(d.value === undefined ? d.name : `${d.name}=${d.value}`);
      }
      return { config: cfg, createdBy: nop(`ARG ${parts.join(' ')}`) };
    }
    case 'WORKDIR': {
      const dir = word();
      if (dir === '') throw invalidParameter('WORKDIR requires exactly one argument');
      const prev = typeof cfg.WorkingDir === 'string' && cfg.WorkingDir !== '' ? cfg.WorkingDir : '/';
      cfg.WorkingDir = posix.resolve(prev, dir);
      return { config: cfg, createdBy: nop(`WORKDIR ${cfg.WorkingDir as string}`) };
    }
    case 'USER': {
      const user = word();
      if (user === '') throw invalidParameter('USER requires exactly one argument');
      return { config: { ...cfg, User: user }, createdBy: nop(`USER ${user}`) };
    }
    case 'STOPSIGNAL': {
      const sig = word();
      if (sig === '') throw invalidParameter('STOPSIGNAL requires exactly one argument');
      return { config: { ...cfg, StopSignal: sig }, createdBy: nop(`STOPSIGNAL ${sig}`) };
    }
    case 'CMD': {
      const cmd = commandLine(inst, shellOf(cfg));
      state.cmdSet = true;
      return { config: { ...cfg, Cmd: cmd }, createdBy: nop(`CMD ${JSON.stringify(cmd)}`) };
    }
    case 'ENTRYPOINT': {
      const ep = commandLine(inst, shellOf(cfg));
      const next: ImageContainerConfig = { ...cfg, Entrypoint: ep };
      if (!state.cmdSet) next.Cmd = null;
      return { config: next, createdBy: nop(`ENTRYPOINT ${JSON.stringify(ep)}`) };
    }
    case 'EXPOSE': {
      const ports = processWords(inst.rest, look, esc);
      if (ports.length === 0) throw invalidParameter('EXPOSE requires at least one argument');
      const next = applyChanges(cfg, [`EXPOSE ${ports.join(' ')}`]);
      return { config: next, createdBy: nop(`EXPOSE ${ports.join(' ')}`) };
    }
    case 'VOLUME': {
      const vols = inst.json ?? processWords(inst.rest, look, esc);
      if (vols.length === 0 || vols.some((v) => v.trim() === '')) throw invalidParameter('VOLUME specified can not be an empty string');
      return { config: applyChanges(cfg, [`VOLUME ${JSON.stringify(vols)}`]), createdBy: nop(`VOLUME ${JSON.stringify(vols)}`) };
    }
    case 'HEALTHCHECK': {
      const hc = healthcheck(inst);
      return { config: { ...cfg, Healthcheck: hc }, createdBy: nop(`HEALTHCHECK &{${JSON.stringify(hc.Test)}}`) };
    }
    case 'SHELL': {
      if (!inst.json || inst.json.length === 0) throw invalidParameter('SHELL requires the arguments to be in JSON form');
      return { config: { ...cfg, Shell: inst.json }, createdBy: nop(`SHELL ${JSON.stringify(inst.json)}`) };
    }
    case 'ONBUILD': {
      // The trigger was checked when the line was parsed (parser.ts).
      const onBuild = [...((cfg.OnBuild as string[] | null | undefined) ?? []), inst.rest];
      return { config: { ...cfg, OnBuild: onBuild }, createdBy: nop(`ONBUILD ${inst.rest}`) };
    }
    case 'MAINTAINER': {
      state.author = word();
      return { config: cfg, createdBy: nop(`MAINTAINER ${state.author}`) };
    }
    default:
      throw invalidParameter(`${inst.cmd} is not a metadata instruction`);
  }
}
