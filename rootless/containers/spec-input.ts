/** Gathers the host facts the pure OCI translation needs for one container start. */
import { readFileInRoot } from '../read-in-root.js';
import type { DoctorReport } from '../doctor/types.js';
import type { ContainerRecord } from '../../translate/container-record.js';
import type { IpcChoice, NamespaceChoice, OciSpecInput, ResolvedMount } from '../../translate/oci-spec-input.js';
import { accessibleHostDevices, devicesFacts } from './host-devices.js';
import type { KernelFacts } from '../kernel-facts.js';
import { readMountInfo } from '../mountinfo.js';

export function networkChoice(rec: ContainerRecord): NamespaceChoice {
  return rec.hostConfig.NetworkMode === 'host' ? { mode: 'host' } : { mode: 'private' };
}

export interface SpecHostFacts {
  report: DoctorReport;
  kernel: KernelFacts;
  /** Resolved volumes, binds and tmpfs mounts. */
  mounts?: ResolvedMount[];
  /** The network namespace the network plan decided on (default: networkChoice). */
  network?: NamespaceChoice;
  /** PidMode/IpcMode/UTSMode as resolved for this start (namespace-modes.ts); private when absent. */
  pid?: NamespaceChoice;
  ipc?: IpcChoice;
  uts?: NamespaceChoice;
}

/** The host's mqueue mount, bound in with the host's IPC namespace (its own cannot be mounted there). */
async function hostMqueue(): Promise<string | undefined> {
  return (await readMountInfo()).some((m) => m.target === '/dev/mqueue') ? '/dev/mqueue' : undefined;
}

/** The engine's side of the spec input: the same for every container of this daemon, read once (kernel-facts.ts). */
function engineSpecInput(facts: SpecHostFacts) {
  const { report, kernel } = facts;
  const cg = report.cgroups;
  const mapped = report.subuid.reduce((n, r) => n + r.count, 0);
  return {
    ...(cg.driver === 'cgroupfs' && cg.cgroupParent
      ? {
          cgroup: {
            parent: cg.cgroupParent,
            controllers: { memory: cg.controllers.memory, cpu: cg.controllers.cpu, cpuset: cg.controllers.cpuset, pids: cg.controllers.pids, blkio: cg.controllers.io },
          },
        }
      : {}),
    ...(report.catatonit ? { initPath: report.catatonit } : {}),
    hardLimits: kernel.hardLimits,
    daemonOomScoreAdj: kernel.daemonOomScoreAdj,
    arch: process.arch,
    ...(mapped > 0 ? { maxMappedId: mapped } : {}),
    kernelVersion: kernel.kernelVersion,
    hostCapabilities: kernel.hostCapabilities,
    ncpu: kernel.ncpu,
    seccompSupported: kernel.seccompSupported,
  };
}

/**
 * The spec input of a container at create, for the dry run that refuses there what would fail at
 * start. What dockerd itself settles only at start is left out: the user and extra groups (looked
 * up in the container's own files), the host devices (opened at start) and the mounts (resolved
 * at start; create has checked their config already).
 */
export async function createTimeSpecInput(rec: Pick<ContainerRecord, 'id' | 'config' | 'hostConfig'>, facts: SpecHostFacts): Promise<OciSpecInput> {
  const { Devices: _devices, GroupAdd: _groups, ...hostConfig } = rec.hostConfig;
  return {
    containerId: rec.id,
    config: { ...rec.config, User: '' },
    hostConfig,
    rootfs: '/',
    etcPasswd: '',
    etcGroup: '',
    namespaces: { network: networkChoice(rec as ContainerRecord) },
    ...engineSpecInput(facts),
  };
}

export async function ociSpecInput(rec: ContainerRecord, rootfs: string, facts: SpecHostFacts): Promise<OciSpecInput> {
  const privileged = rec.hostConfig.Privileged === true;
  const [etcPasswd, etcGroup, hostDevices, privilegedDevices, mqueue] = await Promise.all([
    // Read in the rootfs: an image whose /etc/passwd is a symlink out of it names nothing of the host's.
    readFileInRoot(rootfs, '/etc/passwd'),
    readFileInRoot(rootfs, '/etc/group'),
    devicesFacts(rec.hostConfig.Devices),
    privileged ? accessibleHostDevices() : Promise.resolve([]),
    facts.ipc?.mode === 'host' ? hostMqueue() : Promise.resolve(undefined),
  ]);
  const netHostUts = rec.hostConfig.NetworkMode === 'host' && !rec.config.Hostname;
  return {
    containerId: rec.id,
    config: rec.config,
    hostConfig: rec.hostConfig,
    rootfs,
    etcPasswd,
    etcGroup,
    networkFiles: { hosts: rec.paths.hosts, hostname: rec.paths.hostname, resolvConf: rec.paths.resolvConf },
    ...(facts.mounts?.length ? { mounts: facts.mounts } : {}),
    namespaces: {
      network: facts.network ?? networkChoice(rec),
      uts: facts.uts ?? (netHostUts ? { mode: 'host' } : { mode: 'private' }),
      ...(facts.pid ? { pid: facts.pid } : {}),
      ...(facts.ipc ? { ipc: facts.ipc } : {}),
    },
    hostDevices,
    ...(privileged ? { privilegedDevices } : {}),
    ...(mqueue ? { hostMqueue: mqueue } : {}),
    ...engineSpecInput(facts),
  };
}
