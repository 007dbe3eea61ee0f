/**
 * Create-time checks of the HostConfig fields that pick namespaces, the runtime and device rules,
 * with dockerd's words, and the values dockerd fills in (IpcMode "private", Runtime the default).
 * A mode this engine would otherwise have to ignore is either honoured at start or refused here.
 */
import { invalidParameter } from './errors.js';
import type { HostConfigRecord } from './container-record.js';

/** `container:<ref>` → ref; undefined for any other mode. */
export function containerRef(mode: unknown): string | undefined {
  if (typeof mode !== 'string' || !mode.startsWith('container:')) return undefined;
  return mode.slice('container:'.length);
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** dockerd's IpcMode.Valid / PidMode.Valid / UTSMode.Valid, with its 400s. */
export function validateNamespaceModes(hc: HostConfigRecord, hostname: string | undefined): void {
  const ipc = str(hc.IpcMode);
  const ipcRef = containerRef(ipc);
  if (!['', 'host', 'private', 'shareable', 'none'].includes(ipc) && !ipcRef) throw invalidParameter(`invalid IPC mode: ${ipc}`);
  const pid = str(hc.PidMode);
  if (!['', 'host'].includes(pid) && !containerRef(pid)) throw invalidParameter(`invalid PID mode: ${pid}`);
  const uts = str(hc.UTSMode);
  if (!['', 'host'].includes(uts)) throw invalidParameter(`invalid UTS mode: ${uts}`);
  if (uts === 'host' && hostname) throw invalidParameter('conflicting options: hostname and the UTS mode');
}

const CGROUP_RULE = /^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/;

/**
 * DeviceCgroupRules are kept in HostConfig as given. No rootless engine can load a devices cgroup
 * (v1 needs CAP_SYS_ADMIN in the host's namespace, v2 a BPF program the same), so a rule is never
 * applied: the create answer says so in Warnings rather than pretending.
 */
export function deviceCgroupRuleWarnings(hc: HostConfigRecord): string[] {
  const rules = Array.isArray(hc.DeviceCgroupRules) ? (hc.DeviceCgroupRules as unknown[]) : [];
  for (const r of rules) {
    if (typeof r !== 'string' || !CGROUP_RULE.test(r)) throw invalidParameter(`invalid device cgroup rule format: '${String(r)}'`);
  }
  return rules.length > 0 ? ['Device cgroup rules are not applied: the devices cgroup controller is not delegated to this rootless engine; access follows the device files\' permissions'] : [];
}

/** dockerd refuses a runtime it does not know and records the default one when none was asked for. */
export function resolveRuntime(hc: HostConfigRecord, known: readonly string[], defaultRuntime: string): string {
  const asked = str(hc.Runtime);
  if (!asked) return defaultRuntime;
  // Compose files and SDKs often name dockerd's default; it means "the default" here.
  if (asked === 'runc' && !known.includes('runc')) return defaultRuntime;
  if (!known.includes(asked)) throw invalidParameter(`unknown or invalid runtime name: ${asked}`);
  return asked;
}

/** The values dockerd's adaptContainerSettings fills in, kept so inspect shows them. */
export function fillNamespaceDefaults(hc: HostConfigRecord): void {
  if (!str(hc.IpcMode)) hc.IpcMode = 'private';
}
