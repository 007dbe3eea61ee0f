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
import type { ExecCreateBody } from '../openapi/exec.js';
import type { ExecDetails } from '../rootless/containers/interface.js';

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

/** The validated ExecCreate body (openapi/exec.ts) → what the engine keeps (dockerd: 400 "No exec command specified"). */
export function parseExecRequest(body: ExecCreateBody | undefined): ExecRequest {
  const cmd = body?.Cmd ?? [];
  if (!body || cmd.length === 0) throw invalidParameter('No exec command specified');
  const size = body.ConsoleSize;
  const req: ExecRequest = {
    Cmd: cmd,
    Env: body.Env ?? null,
    Privileged: body.Privileged === true,
    Tty: body.Tty === true,
    AttachStdin: body.AttachStdin === true,
    AttachStdout: body.AttachStdout === true,
    AttachStderr: body.AttachStderr === true,
  };
  const wd = body.WorkingDir;
  if (wd) {
    if (!wd.startsWith('/')) throw invalidParameter(`exec: working directory "${wd}" must be absolute`);
    req.WorkingDir = wd;
  }
  if (body.User) req.User = body.User;
  if (body.DetachKeys) req.DetachKeys = body.DetachKeys;
  if (size?.length === 2) req.ConsoleSize = [size[0], size[1]];
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

/** GET /exec/{id}/json: ExitCode null until the process has exited, user only when one was asked for. */
export function execInspectJson(d: ExecDetails): Record<string, unknown> {
  const r = d.request;
  return {
    ID: d.id,
    Running: d.running,
    ExitCode: d.exitCode,
    ProcessConfig: {
      tty: r.Tty === true,
      entrypoint: r.Cmd[0] ?? '',
      arguments: r.Cmd.slice(1),
      privileged: r.Privileged === true,
      ...(r.User ? { user: r.User } : {}),
    },
    OpenStdin: r.AttachStdin === true,
    OpenStderr: r.AttachStderr === true,
    OpenStdout: r.AttachStdout === true,
    CanRemove: false,
    ContainerID: d.containerId,
    DetachKeys: r.DetachKeys ?? '',
    Pid: d.pid,
  };
}
