/** Gathers the host facts the pure OCI translation needs for one container start. */
import { readFile } from 'node:fs/promises';
import { readFileInRoot } from '../read-in-root.js';
import type { DoctorReport } from '../doctor/types.js';
import type { ContainerRecord } from '../../translate/container-record.js';
import type { NamespaceChoice, OciSpecInput, ResolvedMount } from '../../translate/oci-spec.js';
import type { HardLimits } from '../../translate/oci-limits.js';

async function readText(path: string): Promise<string> {
  return readFile(path, 'utf8').catch(() => '');
}

/** The daemon's own hard RLIMIT_NOFILE bounds what a container may ask for. */
async function hardLimits(): Promise<HardLimits> {
  const text = await readText('/proc/self/limits');
  const line = text.split('\n').find((l) => l.startsWith('Max open files'));
  const hard = line?.trim().split(/\s+/)[4];
  return { nofile: hard && /^\d+$/.test(hard) ? Number(hard) : 1048576 };
}

export function networkChoice(rec: ContainerRecord): NamespaceChoice {
  return rec.hostConfig.NetworkMode === 'host' ? { mode: 'host' } : { mode: 'private' };
}

export interface SpecHostFacts {
  report: DoctorReport;
  /** Resolved volumes, binds and tmpfs mounts. */
  mounts?: ResolvedMount[];
  /** The network namespace the network plan decided on (default: networkChoice). */
  network?: NamespaceChoice;
}

export async function ociSpecInput(rec: ContainerRecord, rootfs: string, facts: SpecHostFacts): Promise<OciSpecInput> {
  const { report } = facts;
  const cg = report.cgroups;
  const mapped = report.subuid.reduce((n, r) => n + r.count, 0);
  const [etcPasswd, etcGroup, limits, oomAdj] = await Promise.all([
    // Read in the rootfs: an image whose /etc/passwd is a symlink out of it names nothing of the host's.
    readFileInRoot(rootfs, '/etc/passwd'),
    readFileInRoot(rootfs, '/etc/group'),
    hardLimits(),
    readText('/proc/self/oom_score_adj'),
  ]);
  return {
    containerId: rec.id,
    config: rec.config,
    hostConfig: rec.hostConfig,
    rootfs,
    etcPasswd,
    etcGroup,
    networkFiles: { hosts: rec.paths.hosts, hostname: rec.paths.hostname, resolvConf: rec.paths.resolvConf },
    ...(facts.mounts?.length ? { mounts: facts.mounts } : {}),
    namespaces: { network: facts.network ?? networkChoice(rec), uts: rec.hostConfig.NetworkMode === 'host' && !rec.config.Hostname ? { mode: 'host' } : { mode: 'private' } },
    ...(cg.driver === 'cgroupfs' && cg.cgroupParent
      ? {
          cgroup: {
            parent: cg.cgroupParent,
            controllers: { memory: cg.controllers.memory, cpu: cg.controllers.cpu, cpuset: cg.controllers.cpuset, pids: cg.controllers.pids, blkio: cg.controllers.io },
          },
        }
      : {}),
    ...(report.catatonit ? { initPath: report.catatonit } : {}),
    hardLimits: limits,
    daemonOomScoreAdj: Number(oomAdj.trim()) || 0,
    arch: process.arch,
    ...(mapped > 0 ? { maxMappedId: mapped } : {}),
  };
}
