/**
 * ExecCreate request + the container's OCI process → the process spec `crun exec --process` runs,
 * as dockerd builds it (daemon/exec_linux.go): the container's security settings, the exec's own
 * args/env/cwd/user/tty, all capabilities for Privileged.
 */
import { ALL_CAPABILITIES } from './capabilities.js';
import { resolveUser } from './container-config.js';
import { invalidParameter } from './errors.js';
import { replaceOrAppendEnv } from './oci-spec.js';
import type { OciProcess } from './oci-types.js';

/** The ExecCreate body as the engine keeps it. */
export interface ExecRequest {
  Cmd: string[];
  Env?: string[] | null;
  WorkingDir?: string;
  User?: string;
  Privileged?: boolean;
  Tty?: boolean;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  DetachKeys?: string;
  ConsoleSize?: [number, number] | null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

const stringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

/** Validates the raw ExecCreate body (dockerd: 400 "No exec command specified"). */
export function parseExecRequest(body: unknown): ExecRequest {
  if (!isObject(body)) throw invalidParameter('invalid JSON: exec config must be an object');
  const cmd = body.Cmd;
  if (typeof cmd === 'string' && cmd !== '') return parseExecRequest({ ...body, Cmd: [cmd] });
  if (!stringList(cmd) || cmd.length === 0) throw invalidParameter('No exec command specified');
  if (body.Env !== undefined && body.Env !== null && !stringList(body.Env)) throw invalidParameter('invalid Env: must be a list of strings');
  const str = (k: string): string | undefined => (typeof body[k] === 'string' ? (body[k] as string) : undefined);
  const bool = (k: string): boolean => body[k] === true;
  const size = body.ConsoleSize;
  const req: ExecRequest = {
    Cmd: cmd,
    Env: (body.Env as string[] | null | undefined) ?? null,
    Privileged: bool('Privileged'),
    Tty: bool('Tty'),
    AttachStdin: bool('AttachStdin'),
    AttachStdout: bool('AttachStdout'),
    AttachStderr: bool('AttachStderr'),
  };
  const wd = str('WorkingDir');
  if (wd) {
    if (!wd.startsWith('/')) throw invalidParameter(`exec: working directory "${wd}" must be absolute`);
    req.WorkingDir = wd;
  }
  const user = str('User');
  if (user) req.User = user;
  const keys = str('DetachKeys');
  if (keys) req.DetachKeys = keys;
  if (Array.isArray(size) && size.length === 2 && size.every((n) => typeof n === 'number' && n >= 0)) req.ConsoleSize = [size[0] as number, size[1] as number];
  return req;
}

export interface ExecProcessInput {
  /** The running container's process from its config.json. */
  container: OciProcess;
  /** The container's Config.User, used when the exec names none. */
  containerUser: string;
  request: ExecRequest;
  /** The container's /etc/passwd and /etc/group, for a named user. */
  etcPasswd: string;
  etcGroup: string;
  consoleSize?: { height: number; width: number };
  /** Capabilities the running kernel knows (cap_last_cap), which bound Privileged. */
  hostCapabilityCount?: number;
}

export function buildExecProcess(input: ExecProcessInput): OciProcess {
  const { container, request } = input;
  const userSpec = request.User || input.containerUser;
  const user = resolveUser(userSpec, input.etcPasswd, input.etcGroup);
  let env = replaceOrAppendEnv(container.env, request.Env ?? []);
  // A TTY exec in a container made without one still needs a terminal type.
  if (request.Tty && !env.some((kv) => kv.startsWith('TERM='))) env = [...env, 'TERM=xterm'];
  // dockerd sets HOME from the exec user's passwd entry when the container's env does not fix it.
  if (!env.some((kv) => kv.startsWith('HOME='))) env = [...env, `HOME=${user.home || '/'}`];
  const proc: OciProcess = {
    ...container,
    terminal: request.Tty === true,
    args: [...request.Cmd],
    env,
    cwd: request.WorkingDir || container.cwd || '/',
    user: {
      uid: user.uid,
      gid: user.gid,
      ...(user.additionalGids.length > 0 ? { additionalGids: user.additionalGids } : {}),
    },
  };
  delete proc.consoleSize;
  if (request.Tty && input.consoleSize && input.consoleSize.height > 0) proc.consoleSize = input.consoleSize;
  if (request.Privileged) {
    const all = ALL_CAPABILITIES.slice(0, input.hostCapabilityCount ?? ALL_CAPABILITIES.length);
    proc.capabilities = { bounding: all, effective: all, permitted: all };
  }
  // With an unchanged user the container's own supplementary groups (GroupAdd) still apply.
  if (!request.User && container.user.additionalGids) proc.user.additionalGids = container.user.additionalGids;
  return proc;
}
