/**
 * What the running kernel offers a container, read once when the engine starts: the OCI spec is
 * checked against it at create (as a dry run) and built with it at start.
 */
import { readFile } from 'node:fs/promises';
import { ALL_CAPABILITIES } from '../translate/capabilities.js';
import type { HostFacts } from '../translate/system-info.js';

export interface KernelFacts {
  kernelVersion: string;
  /** The capabilities up to the kernel's cap_last_cap, in number order. */
  hostCapabilities: readonly string[];
  /** CPUs this process may run on (dockerd's runtime.NumCPU: the affinity mask, not the machine). */
  ncpu: number;
  seccompSupported: boolean;
}

/** Capabilities numbered 0..cap_last_cap; every one Burrow knows when the file cannot be read. */
export function capabilitiesUpTo(capLastCap: number | undefined): readonly string[] {
  return capLastCap === undefined ? ALL_CAPABILITIES : ALL_CAPABILITIES.slice(0, capLastCap + 1);
}

/** The kernel version and CPU count are the ones `docker info` reports (host-facts.ts): read once, there. */
export async function readKernelFacts(host: Pick<HostFacts, 'kernelVersion' | 'ncpu'>): Promise<KernelFacts> {
  const [lastCap, status] = await Promise.all([
    readFile('/proc/sys/kernel/cap_last_cap', 'utf8').catch(() => ''),
    readFile('/proc/self/status', 'utf8').catch(() => ''),
  ]);
  const n = Number(lastCap.trim());
  return {
    kernelVersion: host.kernelVersion,
    hostCapabilities: capabilitiesUpTo(lastCap.trim() !== '' && Number.isInteger(n) && n >= 0 ? n : undefined),
    ncpu: host.ncpu,
    // A kernel built without seccomp has no Seccomp line in /proc/<pid>/status.
    seccompSupported: /^Seccomp:/m.test(status),
  };
}
