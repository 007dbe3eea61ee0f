/**
 * Starting a container: the user's start (under the container's lock, checked by the state
 * machine) and the one start sequence the restart policy shares: mark the intent, mount the rootfs
 * and volumes, set up the network, write the OCI spec, create under conmon, start, record.
 */
import { join } from 'node:path';
import type { ContainerRecord } from '../../translate/container-record.js';
import { pathAndArgs } from '../../translate/container-json.js';
import { EngineError, internal, invalidParameter, containerErrors } from '../../translate/errors.js';
import { buildOciSpec, DEFAULT_SHM_SIZE } from '../../translate/oci-spec.js';
import type { NamespaceChoice } from '../../translate/oci-spec-input.js';
import { startExitCode, startFailure } from '../../translate/runtime-errors.js';
import { crashPoint } from '../debug-crash.js';
import { ToolError } from '../exec.js';
import { writeFileAtomic } from '../fs-atomic.js';
import type { ContainerCore } from './core.js';
import { clearIntent, markIntent } from './intents.js';
import { linkSetup } from './links.js';
import { containerOwner, resolveMountPoints } from './mount-plan.js';
import { resolveNamespaceModes, unmountShareableShm } from './namespace-modes.js';
import { networkMode, prepareNetwork } from './network-plan.js';
import { allSettledOrThrow, phaseTimer } from './phase-timer.js';
import { removeRecord } from './remove.js';
import { mountRootfs, rootfsPaths, unmountRootfs } from './rootfs.js';
import { runtimeFiles } from './runtime.js';
import { ociSpecInput } from './spec-input.js';
import { connectInputs } from './streams.js';
import { releasePins } from './subpath-pins.js';
import { emitVolumeMounts } from './volume-events.js';

/** POST /containers/{id}/start. An exit that happens during the start is recorded right after it (the watcher queues on the lock). */
export async function startContainer(core: ContainerCore, ref: string): Promise<void> {
  await core.gate.must(ref, 'start', (rec) => userStart(core, rec));
}

/** The user's start, under the lock: a fresh restart history, as dockerd resets its restart manager. */
export async function userStart(core: ContainerCore, rec: ContainerRecord): Promise<void> {
  core.restarts.reset(rec.id);
  core.cancelRestart.delete(rec.id);
  rec.manuallyStopped = false;
  rec.restartCount = 0;
  rec.state = { ...rec.state, restarting: false };
  try {
    await startRecord(core, rec);
  } catch (err) {
    const raw = err instanceof Error ? err.message : String(err);
    const command = pathAndArgs(rec).path;
    const failure = startFailure(raw, command);
    rec.state = { ...rec.state, error: failure?.message ?? raw, exitCode: startExitCode(raw, command) };
    await core.store.save(rec).catch((e: unknown) => core.logger.warn({ err: e, id: rec.id }, 'saving a failed start failed'));
    if (rec.hostConfig.AutoRemove) await removeRecord(core, rec).catch((e: unknown) => core.logger.warn({ err: e, id: rec.id }, 'removing an AutoRemove container after its failed start failed'));
    if (failure) throw invalidParameter(failure.message);
    if (err instanceof EngineError) throw err;
    if (err instanceof ToolError) throw internal(err.message);
    throw err;
  }
}

/** Mounts and the network namespace for one start; the network is released again if the start fails. */
async function prepareStart(
  core: ContainerCore,
  rec: ContainerRecord,
  rootfs: string,
  rootfsReady: Promise<void>,
): Promise<{ mounts: Awaited<ReturnType<typeof resolveMountPoints>>; network?: NamespaceChoice; env?: string[] }> {
  const { volumes, networks } = core.deps;
  const points = rec.mounts ?? [];
  const mounts =
    volumes && points.length > 0 ? await rootfsReady.then(async () => resolveMountPoints(points, rootfs, await containerOwner(rec.config.User ?? '', rootfs, points), volumes, core.dir(rec.id))) : [];
  const mode = networkMode(rec.hostConfig.NetworkMode);
  if (!networks || mode.kind === 'none') return { mounts };
  const net = await prepareNetwork(
    {
      id: rec.id,
      name: rec.name.slice(1),
      hostname: rec.config.Hostname || rec.id.slice(0, 12),
      mode,
      networkingConfig: rec.networkingConfig,
      ...(rec.joinNetworks ? { joins: rec.joinNetworks } : {}),
      portBindings: rec.hostConfig.PortBindings,
      exposedPorts: Object.keys(rec.config.ExposedPorts ?? {}),
      publishAll: rec.hostConfig.PublishAllPorts === true,
      extraHosts: Array.isArray(rec.hostConfig.ExtraHosts) ? (rec.hostConfig.ExtraHosts as string[]) : null,
    },
    networks,
    (ref) => {
      const other = core.store.find(ref);
      if (other.state.status !== 'running') throw containerErrors.joinNotRunning(other.id);
      return other.id;
    },
  );
  if (!net.prepared) return { mounts, network: net.namespace };
  rec.networkSettings = net.prepared.settings as ContainerRecord['networkSettings'];
  const links = linkSetup(rec, (n) => core.store.byName(`/${n}`));
  await writeFileAtomic(rec.paths.hosts, net.prepared.hostsFile + links.hosts.map((l) => `${l}\n`).join(''), 0o644);
  await writeFileAtomic(rec.paths.resolvConf, net.prepared.resolvConf, 0o644);
  return { mounts, network: net.namespace, ...(links.env.length ? { env: links.env } : {}) };
}

/** One start, under the container's lock, in the `starting` phase; a failure is rolled back before it is thrown. */
export async function startRecord(core: ContainerCore, rec: ContainerRecord): Promise<void> {
  const leave = core.gate.enter(rec.id, 'starting');
  try {
    await startSteps(core, rec);
  } finally {
    leave();
  }
}

async function startSteps(core: ContainerCore, rec: ContainerRecord): Promise<void> {
  const dir = core.dir(rec.id);
  const files = runtimeFiles(dir);
  const fs = rootfsPaths(dir);
  const { runtime } = core.deps;
  const timer = phaseTimer(core.logger, 'container start phases', rec.id);
  // Durable before the first step outside the record: a daemon that dies from here on leaves a
  // start that the next one finishes or rolls back (recovery.ts).
  await markIntent(dir, 'starting');
  crashPoint('start:after-mark');
  await runtime.delete(rec.id);
  // The overlay mount and the log files do not depend on the network set-up: they run alongside it.
  const rootfsReady = mountRootfs(fs, core.deps.images.layerDirs(rec.imageId), core.deps.storageDriver);
  const logReady = core.logKeeper.beforeStart(rec);
  let mounted = false;
  try {
    const [prepared, , logSizeMax] = await allSettledOrThrow([prepareStart(core, rec, fs.merged, rootfsReady), rootfsReady, logReady] as const);
    timer.mark('mountAndNetwork');
    crashPoint('start:after-mount');
    emitVolumeMounts(core.deps.events, rec, 'mount');
    mounted = true;
    // Link variables come first so the container's own Env wins, as in dockerd.
    const specRec = prepared.env ? { ...rec, config: { ...rec.config, Env: [...prepared.env, ...(rec.config.Env ?? [])] } } : rec;
    const ns = await resolveNamespaceModes(rec, { find: (ref) => core.store.find(ref), dir: (id) => core.dir(id), defaultShmSize: DEFAULT_SHM_SIZE });
    // A /dev/shm the user mounted wins over the shareable one, as in dockerd.
    const mounts = [...prepared.mounts, ...ns.mounts.filter((m) => !prepared.mounts.some((p) => p.destination === m.destination))];
    const { spec } = buildOciSpec(
      await ociSpecInput(specRec, fs.merged, {
        report: core.deps.report,
        kernel: core.deps.kernel,
        mounts,
        network: prepared.network,
        ...(ns.pid ? { pid: ns.pid } : {}),
        ...(ns.ipc ? { ipc: ns.ipc } : {}),
        ...(ns.uts ? { uts: ns.uts } : {}),
      }),
    );
    const seccompToLearn = runtime.seccomp.prepare(spec);
    await writeFileAtomic(join(files.bundle, 'config.json'), JSON.stringify(spec));
    timer.mark('spec');
    core.watcher.add(rec.id);
    const tty = rec.config.Tty === true;
    // dockerd closes a container's stdin at the client's EOF only for StdinOnce without a TTY.
    const pid = await runtime.create(rec.id, rec.name.slice(1), files, { tty, stdin: rec.config.OpenStdin === true, stdinOnce: rec.config.StdinOnce === true && !tty, logSizeMax });
    timer.mark('conmonCreate');
    if (seccompToLearn) await runtime.seccomp.learn(seccompToLearn, rec.id);
    // The container's mounts are made: the volume subpaths pinned for them are no longer needed.
    await releasePins(dir);
    crashPoint('start:after-runtime-create');
    connectInputs(core, rec.id);
    // Running from the moment crun lets the process go, in memory: the process may ask about itself
    // (docker ps through a bind-mounted socket, as Ryuk does) before `crun start` has returned here.
    const created = rec.state;
    rec.state = { status: 'running', pid, exitCode: 0, oomKilled: false, error: '', startedAt: new Date().toISOString(), finishedAt: created.finishedAt };
    try {
      await runtime.start(rec.id);
    } catch (err) {
      rec.state = created;
      throw err;
    }
    timer.mark('runtimeStart');
    crashPoint('start:after-runtime-start');
    await core.store.save(rec);
    // The container runs: a marker that cannot be removed must not fail (and so undo) the start;
    // recovery only removes a marker beside a running record.
    await clearIntent(dir, 'starting').catch((err: unknown) => core.logger.warn({ err, id: rec.id }, 'clearing the start marker failed'));
    core.health.init(rec);
    core.emit(rec, 'start');
    core.logKeeper.started(rec);
    timer.mark('save');
    timer.done();
  } catch (err) {
    core.watcher.delete(rec.id);
    await runtime.delete(rec.id);
    await runtime.clearExit(rec.id);
    await core.releaseNetwork(rec);
    await releasePins(dir);
    await unmountRootfs(fs, core.deps.storageDriver);
    await unmountShareableShm(dir);
    // Left behind, the marker would only make the next daemon repeat this (idempotent) rollback.
    await clearIntent(dir, 'starting').catch((e: unknown) => core.logger.debug({ err: e, id: rec.id }, 'clearing the start marker after a rollback failed'));
    if (mounted) emitVolumeMounts(core.deps.events, rec, 'unmount');
    throw err;
  }
}
