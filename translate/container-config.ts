/**
 * A ContainerCreate body's `Config` merged with the image config the way dockerd does
 * (daemon/create.go mergeAndVerifyConfig + merge), and dockerd's user/group lookup
 * (moby/sys/user GetExecUser semantics) over an image's /etc/passwd and /etc/group.
 */
import type { ContainerConfigBody, HealthConfigBody } from '../openapi/containers.js';
import { EngineError, invalidParameter } from './errors.js';

export type HealthConfig = HealthConfigBody;

/** Container configuration as the API carries it (ContainerConfig in the swagger), derived from its schema. */
export type ContainerConfig = ContainerConfigBody;

/** The `config` of an image (ImageConfig in the swagger / OCI image config). */
export interface ImageConfig {
  User?: string;
  ExposedPorts?: Record<string, object> | null;
  Env?: string[] | null;
  Cmd?: string[] | null;
  Healthcheck?: HealthConfig | null;
  ArgsEscaped?: boolean | null;
  Volumes?: Record<string, object> | null;
  WorkingDir?: string;
  Entrypoint?: string[] | null;
  OnBuild?: string[] | null;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  Shell?: string[] | null;
}

/**
 * The merged config. Fields dockerd leaves empty in `inspect` stay empty here (WorkingDir,
 * StopSignal); use effectiveWorkingDir/effectiveStopSignal for the values that apply.
 */
export type MergedContainerConfig = Omit<ContainerConfig, keyof MergedFields> & MergedFields;

/** The fields the merge fills or normalizes (strslices become lists; null stays where inspect shows null). */
interface MergedFields {
  Env: string[];
  Cmd: string[] | null;
  Entrypoint: string[] | null;
  Labels: Record<string, string>;
  WorkingDir: string;
  User: string;
  Shell?: string[] | null;
  ExposedPorts?: Record<string, object> | null;
  Volumes?: Record<string, object> | null;
  Healthcheck?: HealthConfig | null;
  ArgsEscaped?: boolean | null;
  StopSignal?: string;
}

export const DEFAULT_STOP_SIGNAL = 'SIGTERM';

/** Go's strslice accepts a bare string for a one-element list. */
function strSlice(v: string[] | string | null | undefined): string[] | null {
  if (v === undefined || v === null) return null;
  return typeof v === 'string' ? [v] : [...v];
}

const envKey = (kv: string): string => {
  const i = kv.indexOf('=');
  return i < 0 ? kv : kv.slice(0, i);
};

function mergeEnv(user: string[] | null | undefined, image: string[] | null | undefined): string[] {
  if (!user || user.length === 0) return [...(image ?? [])];
  const merged = [...user];
  const userKeys = new Set(user.map(envKey));
  for (const kv of image ?? []) if (!userKeys.has(envKey(kv))) merged.push(kv);
  return merged;
}

function mergeSet(
  user: Record<string, object | null> | null | undefined,
  image: Record<string, object> | null | undefined,
): Record<string, object> | null {
  if (!user || Object.keys(user).length === 0) return image ? { ...image } : null;
  // A null value (Go's nil struct pointer) is a key all the same: dockerd stores it as {}.
  const set: Record<string, object> = {};
  for (const key of Object.keys(user)) set[key] = {};
  return { ...set, ...(image ?? {}) };
}

function mergeHealthcheck(user: HealthConfig | null | undefined, image: HealthConfig | null | undefined): HealthConfig | null {
  if (!image) return user ?? null;
  if (!user) return { ...image };
  const out: HealthConfig = { ...user };
  if (!out.Test || out.Test.length === 0) out.Test = image.Test;
  if (!out.Interval) out.Interval = image.Interval;
  if (!out.Timeout) out.Timeout = image.Timeout;
  if (!out.StartPeriod) out.StartPeriod = image.StartPeriod;
  if (!out.StartInterval) out.StartInterval = image.StartInterval;
  if (!out.Retries) out.Retries = image.Retries;
  return out;
}

/**
 * Merge like dockerd. Throws invalidParameter when neither Entrypoint nor Cmd remains
 * ("no command specified") or WorkingDir is relative.
 */
export function mergeContainerConfig(request: ContainerConfig, image: ImageConfig | null | undefined): MergedContainerConfig {
  const img: ImageConfig = image ?? {};
  const reqEntrypoint = strSlice(request.Entrypoint);
  let cmd = strSlice(request.Cmd);
  let entrypoint = reqEntrypoint;
  let argsEscaped: boolean | null | undefined = request.ArgsEscaped;

  // A request Entrypoint (even [""]) replaces the image's and discards the image Cmd; an
  // explicit empty list [] drops the image Entrypoint but still takes the image Cmd.
  if (!reqEntrypoint || reqEntrypoint.length === 0) {
    if (!cmd || cmd.length === 0) {
      cmd = img.Cmd ? [...img.Cmd] : cmd;
      argsEscaped = img.ArgsEscaped;
    }
    if (reqEntrypoint === null) entrypoint = img.Entrypoint ? [...img.Entrypoint] : null;
  }
  if (entrypoint && entrypoint.length === 1 && entrypoint[0] === '') entrypoint = null;
  if ((!entrypoint || entrypoint.length === 0) && (!cmd || cmd.length === 0)) {
    throw invalidParameter('no command specified');
  }

  const labels: Record<string, string> = { ...(img.Labels ?? {}), ...(request.Labels ?? {}) };
  const workingDir = request.WorkingDir || img.WorkingDir || '';
  if (request.WorkingDir && !request.WorkingDir.startsWith('/')) {
    throw invalidParameter(`the working directory '${request.WorkingDir}' is invalid, it needs to be an absolute path`);
  }

  const { Shell: shell, ...fields } = request;
  const merged: MergedContainerConfig = {
    ...fields,
    User: request.User || img.User || '',
    ExposedPorts: mergeSet(request.ExposedPorts, img.ExposedPorts),
    Env: mergeEnv(request.Env, img.Env),
    Labels: labels,
    Cmd: cmd,
    Entrypoint: entrypoint,
    Healthcheck: mergeHealthcheck(request.Healthcheck, img.Healthcheck),
    WorkingDir: workingDir ? cleanPath(workingDir) : '',
    Volumes: mergeSet(request.Volumes, img.Volumes),
    // Go's strslice: a bare string is a one-element Shell, which the health probe runs.
    ...(shell !== undefined ? { Shell: strSlice(shell) } : {}),
    StopSignal: request.StopSignal || img.StopSignal || '',
  };
  if (argsEscaped !== undefined) merged.ArgsEscaped = argsEscaped;
  else delete merged.ArgsEscaped;
  if (!merged.Healthcheck) delete merged.Healthcheck;
  if (!merged.StopSignal) delete merged.StopSignal;
  return merged;
}

/** Lexical path clean (Go filepath.Clean) for absolute paths. */
export function cleanPath(p: string): string {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return '/' + out.join('/');
}

export const effectiveWorkingDir = (c: Pick<ContainerConfig, 'WorkingDir'>): string => c.WorkingDir || '/';
export const effectiveStopSignal = (c: Pick<ContainerConfig, 'StopSignal'>): string => c.StopSignal || DEFAULT_STOP_SIGNAL;

/** The process arguments dockerd runs: Entrypoint followed by Cmd. */
export function processArgs(c: Pick<MergedContainerConfig, 'Entrypoint' | 'Cmd'>): string[] {
  return [...(c.Entrypoint ?? []), ...(c.Cmd ?? [])];
}

// ---- user resolution -------------------------------------------------------------------

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  /** Home directory from passwd, "/" when the user has no entry (dockerd's default). */
  home: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const MAX_ID = 2147483647;
const RANGE_ERROR = 'uids and gids must be in range 0-' + MAX_ID;
/** Like Go's strconv.Atoi: optional sign, decimal digits. */
const NUMERIC = /^[+-]?\d+$/;

function lines(file: string): string[][] {
  return file
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

const toInt = (s: string | undefined): number => {
  const n = Number.parseInt(s ?? '', 10);
  return Number.isNaN(n) ? 0 : n;
};

export function parsePasswd(file: string): PasswdEntry[] {
  return lines(file).map((f) => ({ name: f[0] ?? '', uid: toInt(f[2]), gid: toInt(f[3]), home: f[5] ?? '' }));
}

export function parseGroup(file: string): GroupEntry[] {
  return lines(file).map((f) => ({
    name: f[0] ?? '',
    gid: toInt(f[2]),
    members: (f[3] ?? '').split(',').map((m) => m.trim()).filter((m) => m !== ''),
  }));
}

function checkRange(id: number): number {
  if (id < 0 || id > MAX_ID) throw invalidParameter(RANGE_ERROR);
  return id;
}

/**
 * Resolve `user` ("", "name", "uid", "name:group", "uid:gid", …) against the image's passwd and
 * group files, as dockerd does at start. Numeric ids need no entry; a numeric id is never taken
 * as a name. Supplementary groups come from /etc/group only when the user matched an entry and
 * no group was given explicitly.
 */
export function resolveUser(user: string, passwd: string, group: string): ResolvedUser {
  const sep = user.indexOf(':');
  const userArg = sep < 0 ? user : user.slice(0, sep);
  const groupArg = sep < 0 ? '' : user.slice(sep + 1);
  const result: ResolvedUser = { uid: 0, gid: 0, additionalGids: [], home: '/' };

  const users = parsePasswd(passwd);
  const userNumeric = NUMERIC.test(userArg);
  const match = users.find((u) => {
    if (userArg === '') return u.uid === result.uid;
    if (userNumeric) return u.uid === Number.parseInt(userArg, 10);
    return u.name === userArg;
  });
  let matchedName = '';
  if (match) {
    matchedName = match.name;
    result.uid = match.uid;
    result.gid = match.gid;
    result.home = match.home;
  } else if (userArg !== '') {
    if (!userNumeric) throw userLookupError(`unable to find user ${userArg}: no matching entries in passwd file`);
    result.uid = checkRange(Number.parseInt(userArg, 10));
  }

  if (groupArg === '' && matchedName === '') return result;
  const groups = parseGroup(group);
  if (groupArg !== '') {
    const groupNumeric = NUMERIC.test(groupArg);
    const g = groups.find((e) => (groupNumeric ? e.gid === Number.parseInt(groupArg, 10) : e.name === groupArg));
    if (g) result.gid = g.gid;
    else if (!groupNumeric) throw userLookupError(`unable to find group ${groupArg}: no matching entries in group file`);
    else result.gid = checkRange(Number.parseInt(groupArg, 10));
  } else {
    result.additionalGids = groups.filter((g) => g.members.includes(matchedName)).map((g) => g.gid);
  }
  return result;
}

/**
 * HostConfig.GroupAdd → gids: names must exist in /etc/group, numbers need not. Order kept,
 * duplicates dropped.
 */
export function resolveAdditionalGroups(names: readonly string[], group: string): number[] {
  const groups = parseGroup(group);
  const out: number[] = [];
  for (const name of names) {
    const g = groups.find((e) => e.name === name || String(e.gid) === name);
    let gid: number;
    if (g) gid = g.gid;
    else if (NUMERIC.test(name)) gid = checkRange(Number.parseInt(name, 10));
    else throw userLookupError(`Unable to find group ${name}: no matching entries in group file`);
    if (!out.includes(gid)) out.push(gid);
  }
  return out;
}

/**
 * dockerd reports lookup failures when the container starts, as a plain (500) error; the
 * caller can rethrow as it likes, the message is dockerd's.
 */
function userLookupError(message: string): EngineError {
  return new EngineError('internal', message);
}
