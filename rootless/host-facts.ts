import { readFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { availableParallelism, hostname, machine, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from './fs-atomic.js';
import type { HostFacts } from '../translate/system-info.js';

export type { HostFacts };

const goArchByMachine: Record<string, string> = { x86_64: 'amd64', aarch64: 'arm64', armv7l: 'arm', ppc64le: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', i686: '386' };

export function goArch(unameMachine: string): string {
  return goArchByMachine[unameMachine] ?? unameMachine;
}

/** The fields of /etc/os-release, unquoted. */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]] = m[2].replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1');
  }
  return out;
}

export async function hostFacts(): Promise<HostFacts> {
  const osRelease = parseOsRelease(await readFile('/etc/os-release', 'utf8').catch(() => ''));
  const m = machine();
  return {
    hostname: hostname(),
    kernelVersion: release(),
    operatingSystem: osRelease.PRETTY_NAME ?? 'Linux',
    osVersion: osRelease.VERSION_ID ?? '',
    architecture: m,
    goArch: goArch(m),
    ncpu: availableParallelism(),
    memTotal: totalmem(),
  };
}

/** dockerd's engine ID is a UUID created once and kept; ours is kept per user under the data root. */
export async function engineId(dataRoot: string): Promise<string> {
  const path = join(dataRoot, 'engine-id');
  const existing = (await readFile(path, 'utf8').catch(() => '')).trim();
  if (existing) return existing;
  const id = randomUUID();
  await writeFileAtomic(path, `${id}\n`, 0o644);
  return id;
}
