/**
 * The config a committed image gets, as dockerd's commit builds it: the request's config (or the
 * container's), the `changes` Dockerfile lines applied, then the container's config merged under
 * it (daemon/commit.go merge). Pure.
 */
import { applyChanges, type ImageContainerConfig } from './image-changes.js';

type Dict = Record<string, unknown>;

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const dict = (v: unknown): Dict => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Dict) : {});
const emptyList = (v: unknown): boolean => !Array.isArray(v) || v.length === 0;
const emptyDict = (v: unknown): boolean => Object.keys(dict(v)).length === 0;

/** dockerd's merge(userConf, imageConf): fills what the user left unset from the container's config. */
export function mergeUnder(user: ImageContainerConfig, base: ImageContainerConfig): ImageContainerConfig {
  const out: Dict = { ...user };
  if (!out.User) out.User = base.User ?? '';
  if (emptyDict(out.ExposedPorts)) out.ExposedPorts = base.ExposedPorts;
  else out.ExposedPorts = { ...dict(base.ExposedPorts), ...dict(out.ExposedPorts) };
  if (emptyList(out.Env)) {
    out.Env = base.Env;
  } else {
    const env = strings(out.Env);
    const keys = new Set(env.map((e) => e.split('=')[0]));
    out.Env = [...env, ...strings(base.Env).filter((e) => !keys.has(e.split('=')[0]))];
  }
  out.Labels = { ...dict(base.Labels), ...dict(out.Labels) };
  if (emptyList(out.Entrypoint)) {
    if (emptyList(out.Cmd)) out.Cmd = base.Cmd;
    if (out.Entrypoint === undefined || out.Entrypoint === null) out.Entrypoint = base.Entrypoint;
  }
  if (!out.Healthcheck && base.Healthcheck) out.Healthcheck = base.Healthcheck;
  if (!out.WorkingDir) out.WorkingDir = base.WorkingDir ?? '';
  if (emptyDict(out.Volumes)) out.Volumes = base.Volumes;
  else out.Volumes = { ...dict(out.Volumes), ...dict(base.Volumes) };
  if (!out.StopSignal && base.StopSignal) out.StopSignal = base.StopSignal;
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out;
}

/** `requested` is the commit body (undefined or null when the client sent none). */
export function commitConfig(containerConfig: ImageContainerConfig, requested: ImageContainerConfig | undefined, changes: readonly string[]): ImageContainerConfig {
  const start = requested ?? containerConfig;
  return mergeUnder(applyChanges(start, changes), containerConfig);
}

/** What `docker history` shows as CREATED BY for a commit: the container's command. */
export function commitCreatedBy(containerConfig: ImageContainerConfig): string {
  return strings(containerConfig.Cmd).join(' ');
}
