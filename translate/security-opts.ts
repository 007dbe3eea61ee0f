/**
 * HostConfig.SecurityOpt parsed with dockerd's rules (daemon parseSecurityOpt), reduced to what
 * a rootless engine does with them: no-new-privileges and seccomp are honoured, SELinux labels
 * and AppArmor profiles are ignored with a warning (the engine has neither).
 */
import { invalidParameter } from './errors.js';
import type { DockerSeccompProfile } from './seccomp-default.js';

export type SeccompChoice = { kind: 'default' } | { kind: 'unconfined' } | { kind: 'custom'; profile: DockerSeccompProfile };

export interface SecurityOptions {
  noNewPrivileges: boolean;
  seccomp: SeccompChoice;
  writableCgroups: boolean;
  warnings: string[];
}

function parseBool(key: string, v: string): boolean {
  if (/^(1|t|true)$/i.test(v)) return true;
  if (/^(0|f|false)$/i.test(v)) return false;
  throw invalidParameter(`invalid --security-opt 2: "${key}=${v}"`);
}

function parseSeccomp(value: string): SeccompChoice {
  if (value === 'unconfined') return { kind: 'unconfined' };
  if (value === 'builtin' || value === '') return { kind: 'default' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (err) {
    throw invalidParameter(`Decoding seccomp profile failed: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || typeof (parsed as { defaultAction?: unknown }).defaultAction !== 'string') {
    throw invalidParameter('Decoding seccomp profile failed: the profile needs a defaultAction');
  }
  return { kind: 'custom', profile: parsed as DockerSeccompProfile };
}

export function parseSecurityOpts(opts: readonly string[] | null | undefined): SecurityOptions {
  const out: SecurityOptions = { noNewPrivileges: false, seccomp: { kind: 'default' }, writableCgroups: false, warnings: [] };
  let labelWarned = false;
  const warnLabel = (): void => {
    if (!labelWarned) out.warnings.push('SELinux label options are ignored: this rootless engine does not support SELinux');
    labelWarned = true;
  };
  for (const opt of opts ?? []) {
    if (opt === 'no-new-privileges') {
      out.noNewPrivileges = true;
      continue;
    }
    if (opt === 'disable') {
      warnLabel();
      continue;
    }
    // "key=value"; the legacy "key:value" form is still accepted by dockerd.
    let sep = opt.indexOf('=');
    if (sep < 0) sep = opt.indexOf(':');
    if (sep < 0) throw invalidParameter(`invalid --security-opt 1: "${opt}"`);
    const key = opt.slice(0, sep);
    const value = opt.slice(sep + 1);
    switch (key) {
      case 'label':
        warnLabel();
        break;
      case 'apparmor':
        if (value !== 'unconfined') out.warnings.push(`AppArmor profile "${value}" is ignored: this rootless engine does not support AppArmor`);
        break;
      case 'seccomp':
        out.seccomp = parseSeccomp(value);
        break;
      case 'no-new-privileges':
        out.noNewPrivileges = parseBool(key, value);
        break;
      case 'writable-cgroups':
        out.writableCgroups = parseBool(key, value);
        break;
      default:
        throw invalidParameter(`invalid --security-opt 2: "${opt}"`);
    }
  }
  return out;
}
