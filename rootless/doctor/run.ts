import { performance } from 'node:perf_hooks';
import { checkNotRoot, currentUser } from './identity.js';
import { checkSubIds } from './subids.js';
import { checkIdMap } from './idmap.js';
import { checkUserNamespace } from './userns.js';
import { checkRuntime } from './runtime.js';
import { checkHelper } from './helpers.js';
import { checkStorage } from './storage.js';
import { checkNetwork, checkPorts } from './network.js';
import { checkHubAgent, checkSpawner } from './hubagent.js';
import { checkCgroups } from './cgroups.js';
import { checkCgroupJoin } from './cgroup-join.js';
import { checkRuntimeDir } from './runtimedir.js';
import { checkBuildkit } from './buildkit.js';
import type { CheckContext, DoctorReport } from './types.js';

export interface RunDoctorOptions {
  /** Environment whose PATH locates every tool and whose XDG_RUNTIME_DIR/BURROW_CGROUP_ROOT apply; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Where to probe kernel overlayfs; pass the storage root so the probe hits the same filesystem. Default $TMPDIR or /tmp. */
  probeDir?: string;
}

/**
 * Check that this host and user can run the engine. Read-only apart from one temporary
 * probe directory; every probe runs concurrently so the daemon can afford it at start.
 */
export async function runDoctor(opts: RunDoctorOptions = {}): Promise<DoctorReport> {
  const started = performance.now();
  const env = opts.env ?? process.env;
  const user = currentUser(env);
  const ctx: CheckContext = { env, user, probeDir: opts.probeDir ?? (env.TMPDIR || '/tmp') };

  const [subids, idmap, userns, runtime, conmon, catatonit, python, storage, network, hubAgent, spawner, ports, cgroups, runtimeDir] = await Promise.all([
    checkSubIds(user),
    checkIdMap(ctx),
    checkUserNamespace(ctx),
    checkRuntime(ctx),
    checkHelper('conmon', 'conmon', false, 'per-container monitor', ctx),
    checkHelper('catatonit', 'catatonit', true, 'init of the namespace holder', ctx),
    // The in-root helper (docker cp, export, diff, commit, build steps, volume copy-up) and the
    // terminal relay for `exec -t` (Node cannot receive the console fd crun passes) are python3.
    checkHelper('python3', 'python3', true, 'in-root file work (cp, export, diff, commit, build) and the exec -t terminal relay', ctx),
    checkStorage(ctx),
    checkNetwork(ctx),
    checkHubAgent(ctx),
    checkSpawner(ctx),
    checkPorts(),
    checkCgroups(ctx),
    checkRuntimeDir(ctx),
  ]);

  const [buildkit, cgroupJoin] = await Promise.all([checkBuildkit(ctx, storage.driver), checkCgroupJoin(cgroups.cgroups.driver !== 'none')]);
  const checks = [
    checkNotRoot(user, env),
    ...subids.checks,
    idmap,
    userns,
    runtime.check,
    conmon.check,
    catatonit.check,
    python.check,
    storage.check,
    network.check,
    hubAgent,
    spawner,
    ports.check,
    cgroups.check,
    cgroupJoin,
    runtimeDir.check,
    buildkit,
  ];
  return {
    user,
    essentialOk: checks.every((c) => !c.essential || c.status !== 'missing'),
    checks,
    runtime: runtime.runtime,
    monitor: conmon.path,
    storageDriver: storage.driver,
    network: network.network,
    cgroups: cgroups.cgroups,
    unprivilegedPortStart: ports.unprivilegedPortStart,
    catatonit: catatonit.path,
    subuid: subids.subuid,
    subgid: subids.subgid,
    runtimeDir: runtimeDir.runtimeDir,
    durationMs: Math.round(performance.now() - started),
  };
}
