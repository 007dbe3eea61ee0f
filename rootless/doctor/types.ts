import type { CgroupFacts } from '../cgroups/detect.js';
import type { SubIdRange } from '../subid.js';

/** ok: works; degraded: works with a caveat or a slower fallback; missing: does not work. */
export type CheckStatus = 'ok' | 'missing' | 'degraded';

interface CheckBase {
  /** Stable key, also the table's first column. */
  id: string;
  detail: string;
  /** The engine refuses to start while an essential check is missing. */
  essential: boolean;
}

export interface PassedCheck extends CheckBase {
  status: 'ok';
  fix?: undefined;
}

/** A check that is missing or degraded always says how to fix it: the type makes a bare failure a compile error. */
export interface FailedCheck extends CheckBase {
  status: Exclude<CheckStatus, 'ok'>;
  /** The exact command an administrator (or the user) runs to fix it. */
  fix: string;
}

export type DoctorCheck = PassedCheck | FailedCheck;

export interface RuntimeFact {
  name: 'crun' | 'runc';
  path: string;
  version: string;
}

export interface NetworkFact {
  /** The hub's uplink while no container is on an IPv6 network. */
  name: 'pasta' | 'slirp4netns';
  path: string;
  /** pasta's path, for the swap once a container joins an IPv6 network (slirp4netns's IPv6 stalled here). */
  ipv6Path?: string;
}

export type StorageDriver = 'overlay' | 'fuse-overlayfs';

export interface DoctorUser {
  name: string;
  uid: number;
  gid: number;
}

export interface DoctorReport {
  user: DoctorUser;
  essentialOk: boolean;
  checks: DoctorCheck[];
  runtime: RuntimeFact | null;
  /** conmon's path. */
  monitor: string | null;
  storageDriver: StorageDriver | null;
  network: NetworkFact | null;
  cgroups: CgroupFacts;
  /** net.ipv4.ip_unprivileged_port_start; -1 when unreadable. */
  unprivilegedPortStart: number;
  catatonit: string | null;
  subuid: SubIdRange[];
  subgid: SubIdRange[];
  /** XDG_RUNTIME_DIR when usable, else the /tmp/burrow-$UID fallback. */
  runtimeDir: string;
  durationMs: number;
}

/** What every check gets: the environment whose PATH names the tools, and who we are. */
export interface CheckContext {
  env: NodeJS.ProcessEnv;
  user: DoctorUser;
  /** A directory on the filesystem Burrow will store layers on, for the overlay probe. */
  probeDir: string;
}

/** Time limit for any single probe; a hung helper must not hang the doctor. */
export const PROBE_TIMEOUT_MS = 5000;
