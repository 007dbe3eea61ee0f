/**
 * Container capabilities as dockerd computes them (oci/caps): the default set, CapAdd/CapDrop
 * tweaks with "ALL", and the full list for --privileged.
 */
import { invalidParameter } from './errors.js';

/** dockerd's default bounding/effective/permitted set (CapEff 0xa80425fb). */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** Every capability Linux defines, in number order (0..40). */
export const ALL_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

const KNOWN = new Set(ALL_CAPABILITIES);

/** Upper-case, add the CAP_ prefix, reject unknown names (in dockerd's words, naming the field); "ALL" passes through. */
function normalize(list: readonly string[] | null | undefined, field: 'CapAdd' | 'CapDrop'): string[] {
  const out: string[] = [];
  for (const raw of list ?? []) {
    let c = raw.trim().toUpperCase();
    if (c === '') continue;
    if (c !== 'ALL') {
      if (!c.startsWith('CAP_')) c = 'CAP_' + c;
      if (!KNOWN.has(c)) throw invalidParameter(`invalid ${field}: unknown capability: "${c}"`);
    }
    if (!out.includes(c)) out.push(c);
  }
  return out;
}

/**
 * The container's capability set. `hostCaps` limits --privileged (and CapAdd ALL) to what the
 * running kernel knows, as dockerd does; without it every known capability is used.
 */
export function containerCapabilities(opts: {
  privileged?: boolean;
  capAdd?: readonly string[] | null;
  capDrop?: readonly string[] | null;
  hostCaps?: readonly string[];
}): string[] {
  const all = opts.hostCaps ? ALL_CAPABILITIES.filter((c) => opts.hostCaps?.includes(c)) : [...ALL_CAPABILITIES];
  // dockerd validates the names even when privileged would override them.
  const adds = normalize(opts.capAdd, 'CapAdd');
  const drops = normalize(opts.capDrop, 'CapDrop');
  if (opts.privileged) return all;
  if (adds.includes('ALL')) return all.filter((c) => !drops.includes(c));
  if (drops.includes('ALL')) return adds;
  const caps = DEFAULT_CAPABILITIES.filter((c) => !drops.includes(c));
  for (const c of adds) if (!caps.includes(c)) caps.push(c);
  return caps;
}
