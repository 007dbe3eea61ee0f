/**
 * What the running kernel offers a container, and the daemon's own limits it passes on, read once
 * when the engine starts: the OCI spec is checked against them at create (as a dry run) and built
 * with them at start. None of them changes for the daemon's lifetime.
 */
import { readFile } from 'node:fs/promises';
import { ALL_CAPABILITIES } from '../translate/capabilities.js';
import type { HardLimits } from '../translate/oci-limits.js';
import type { HostFacts } from '../translate/system-info.js';

export interface KernelFacts {
  kernelVersion: string;
  /** The capabilities up to the kernel's cap_last_cap, in number order. */
  hostCapabilities: readonly string[];
  /** CPUs this process may run on (dockerd's runtime.NumCPU: the affinity mask, not the machine). */
  ncpu: number;
  seccompSupported: boolean;
  /** The daemon's own hard RLIMIT_NOFILE bounds what a container may ask for. */
  hardLimits: HardLimits;
  /** The daemon's oom_score_adj: an unprivileged container cannot go below it (oci-limits.ts). */
  daemonOomScoreAdj: number;
}

/** The hard limit of `Max open files` in /proc/self/limits' text; dockerd's default when unreadable. */
export function hardNofile(limitsText: string): number {
  const line = limitsText.split('\n').find((l) => l.startsWith('Max open files'));
  const hard = line?.trim().split(/\s+/)[4];
  return hard && /^\d+$/.test(hard) ? Number(hard) : 1048576;
}

/** Capabilities numbered 0..cap_last_cap; every one Burrow knows when the file cannot be read. */
export function capabilitiesUpTo(capLastCap: number | undefined): readonly string[] {
  return capLastCap === undefined ? ALL_CAPABILITIES : ALL_CAPABILITIES.slice(0, capLastCap + 1);
}

/** The kernel version and CPU count are the ones `docker info` reports (host-facts.ts): read once, there. */
export async function readKernelFacts(host: Pick<HostFacts, 'kernelVersion' | 'ncpu'>): Promise<KernelFacts> {
  const text = (path: string): Promise<string> => readFile(path, 'utf8').catch(() => '');
  const [lastCap, status, limits, oomAdj] = await Promise.all([
    text('/proc/sys/kernel/cap_last_cap'),
    text('/proc/self/status'),
    text('/proc/self/limits'),
    text('/proc/self/oom_score_adj'),
  ]);
  const n = Number(lastCap.trim());
  return {
    kernelVersion: host.kernelVersion,
    hostCapabilities: capabilitiesUpTo(lastCap.trim() !== '' && Number.isInteger(n) && n >= 0 ? n : undefined),
    ncpu: host.ncpu,
    // A kernel built without seccomp has no Seccomp line in /proc/<pid>/status.
    seccompSupported: /^Seccomp:/m.test(status),
    hardLimits: { nofile: hardNofile(limits) },
    daemonOomScoreAdj: Number(oomAdj.trim()) || 0,
  };
}
