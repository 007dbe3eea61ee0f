/**
 * The container lifecycle behind the API: create, start, wait, stop, kill, remove, logs, attach.
 * Records persist through ContainerStore; the processes belong to conmon, so after a daemon
 * restart the service picks running containers up again from their monitors and exit files.
 */
import { randomBytes } from 'node:crypto';
import { diskUsage } from '../fs-usage.js';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type {
  ContainerAttachParams,
  ContainerLogParams,
  ContainerService,
  InteractiveStream,
  OutputStream,
  WaitCondition,
  WaitResult,
} from '../../api/services.js';
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from '../../translate/detach-keys.js';
import { containerEventAttributes } from '../../translate/events.js';
import { shouldRestart, validateRestartPolicy } from '../../translate/restart-policy.js';
import type { EventBus } from '../events/bus.js';
import { AttachInput } from './attach-input.js';
import { EngineExecService } from './exec-service.js';
import { HealthMonitor } from './health.js';
import { RestartTimers } from './restarts.js';
import { mergeContainerConfig, processArgs, type ContainerConfig, type ImageConfig } from '../../translate/container-config.js';
import { containerInspect, containerSummary, pathAndArgs, stateStatus } from '../../translate/container-json.js';
import { startExitCode, startFailure } from '../../translate/runtime-errors.js';
import { ZERO_TIME, type ContainerRecord, type HostConfigRecord } from '../../translate/container-record.js';
import { conflict, EngineError, internal, invalidParameter, notFound } from '../../translate/errors.js';
import { labelMatches, parseFilters } from '../../translate/filters.js';
import { healthFilterValue, validateHealthConfig, validateHealthFilter } from '../../translate/health.js';
import { familiarString, parseNormalizedNamed, withDefaultTag } from '../../translate/image-ref.js';
import { generateName, normalizeName } from '../../translate/names.js';
import { buildOciSpec, DEFAULT_SHM_SIZE } from '../../translate/oci-spec.js';
import { parseSignal } from '../../translate/signals.js';
import { parseTimeFilter } from '../../translate/log-frames.js';
import type { DoctorReport } from '../doctor/types.js';
import { writeFileAtomic } from '../fs-atomic.js';
import type { ImageStore } from '../images/store.js';
import { ToolError } from '../exec.js';
import { crashPoint } from '../debug-crash.js';
import { ExitWatcher } from './exit-watcher.js';
import { clearIntent, markIntent } from './intents.js';
import { recoverContainer, unmountIdleRootfs, type RecoveryDeps } from './recovery.js';
import { releasePins } from './subpath-pins.js';
import { LogKeeper } from './log-keeper.js';
import { allSettledOrThrow, phaseTimer } from './phase-timer.js';
import { logSize, readLog } from './log-reader.js';
import { writeNetworkFiles } from './network-files.js';
import { mountRootfs, rootfsPaths, unmountRootfs } from './rootfs.js';
import { runtimeFiles, type RuntimeDriver } from './runtime.js';
import { ociSpecInput } from './spec-input.js';
import { resolveNamespaceModes, unmountShareableShm } from './namespace-modes.js';
import { deviceCgroupRuleWarnings, fillNamespaceDefaults, resolveRuntime, validateNamespaceModes } from '../../translate/host-config-modes.js';
import { containerOwner, createMountPoints, reacquireMountPoints, releaseMountPoints, resolveMountPoints } from './mount-plan.js';
import { checkNetworks, networkMode, prepareNetwork } from './network-plan.js';
import { linkSetup, registerLinks, removeLink } from './links.js';
import { inheritedMountPoints } from './volumes-from.js';
import { emitVolumeMounts } from './volume-events.js';
import type { EngineVolumeService } from '../volumes/service.js';
import type { NetworkManager } from '../../slirp/manager.js';
import type { NamespaceChoice } from '../../translate/oci-spec.js';
import type { ContainerStore } from './store.js';

export interface ContainerServiceDeps {
  store: ContainerStore;
  images: ImageStore;
  runtime: RuntimeDriver;
  /** Storage driver name as /info reports it (overlay2 or fuse-overlayfs). */
  storageDriver: string;
  report: DoctorReport;
  logger: Logger;
  events: EventBus;
  /** Thaws a paused container once a signal is sent, so it can act on it (resources.ts). */
  thawAfterSignal?: (rec: ContainerRecord) => Promise<void>;
  /** Named and anonymous volumes for Binds/Mounts/Config.Volumes; without it those are refused. */
  volumes?: EngineVolumeService;
  /** Bridge networks, published ports and DNS (slirp/); without it containers get loopback only. */
  networks?: NetworkManager;
  /** Validates HostConfig's limits and warns for those no delegated controller can enforce (resources.ts). */
  limitWarnings?: (hostConfig: HostConfigRecord) => string[];
}

interface Waiter {
  condition: WaitCondition;
  resolve: (code: number) => void;
}

const DEFAULT_STOP_TIMEOUT_S = 10;

function within<T>(p: Promise<T>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    void p.then(() => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

/** dockerd's wording for a name that is taken. */
const nameInUse = (name: string, id: string): EngineError =>
  conflict(`Conflict. The container name "${name}" is already in use by container "${id}". You have to remove (or rename) that container to be able to reuse that name.`);

export class EngineContainerService implements ContainerService {
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly exiting = new Map<string, Promise<void>>();
  private readonly removing = new Map<string, Promise<void>>();
  /** Starts in progress, each settled when its start is over (however it ends). */
  private readonly starting = new Map<string, Promise<void>>();
  private readonly watcher: ExitWatcher;
  private readonly restarts = new RestartTimers();
  /** Clients' stdin waiting for a container's attach socket (attach before start, as `docker run -i` does). */
  private readonly pendingInputs = new Map<string, AttachInput[]>();
  /** The next exit is the user's doing (stop, kill -9): no automatic restart for it. */
  private readonly cancelRestart = new Set<string>();
  /** Removals asked with `v=1`: the container's anonymous volumes go too. */
  private readonly removeVolumes = new Set<string>();
  readonly exec: EngineExecService;
  /** Healthcheck probes; resources.ts tells it about pause and unpause. */
  readonly health: HealthMonitor;
  private readonly logKeeper: LogKeeper;

  constructor(private readonly deps: ContainerServiceDeps) {
    this.watcher = new ExitWatcher(deps.runtime.exitsDir, (id) => void this.handleExit(id));
    this.logKeeper = new LogKeeper(deps.logger);
    this.exec = new EngineExecService({ store: deps.store, runtime: deps.runtime, events: deps.events });
    this.health = new HealthMonitor({
      store: deps.store,
      events: deps.events,
      logger: deps.logger,
      probe: (rec, cmd, timeoutMs, signal) => this.exec.probe(rec, cmd, timeoutMs, signal),
    });
  }

  private emit(rec: ContainerRecord, action: string, extra: Record<string, string> = {}): void {
    this.deps.events.emit('container', action, rec.id, containerEventAttributes(rec, extra));
  }

  /** Picks up where a previous daemon left off: running containers stay managed, exits that happened meanwhile are recorded. */
  async init(): Promise<void> {
    await this.deps.runtime.init();
    this.watcher.start();
    const { volumes } = this.deps;
    if (volumes) for (const rec of this.deps.store.all()) reacquireMountPoints(rec.id, rec.mounts ?? [], volumes);
    for (const rec of this.deps.store.all()) {
      const files = runtimeFiles(this.dir(rec.id));
      // Starts and commit freezes the previous daemon died in the middle of are settled first (recovery.ts).
      if ((await recoverContainer(rec, this.recoveryDeps())) === 'removed') continue;
      if (rec.state.status === 'removing') {
        await this.finishRemove(rec);
      } else if (rec.state.status === 'running') {
        this.watcher.add(rec.id);
        this.logKeeper.started(rec);
        if (await this.deps.runtime.readExit(rec.id, files)) {
          await this.handleExit(rec.id);
        } else if (!(await this.deps.runtime.monitorAlive(files))) {
          this.watcher.delete(rec.id);
          await this.logKeeper.exited(rec);
          await this.deps.runtime.delete(rec.id);
          await unmountRootfs(rootfsPaths(this.dir(rec.id)), this.deps.storageDriver);
          rec.state = { ...rec.state, status: 'exited', pid: 0, exitCode: 255, error: 'container monitor (conmon) is gone', finishedAt: new Date().toISOString() };
          await this.deps.store.save(rec);
          this.afterExit(rec);
        }
      }
    }
    await unmountIdleRootfs(this.deps.store.all(), this.recoveryDeps());
    // dockerd's restore: an adopted running container's health starts over; a paused one resumes probing at unpause.
    for (const rec of this.deps.store.all()) {
      if (rec.state.status === 'running' && !rec.state.paused) this.health.init(rec);
    }
    // dockerd's restore: containers that ran before and whose policy says so come back up.
    for (const rec of this.deps.store.all()) {
      if (rec.state.status !== 'exited' || rec.state.startedAt === ZERO_TIME || this.restarts.pending(rec.id)) continue;
      if (rec.state.restarting || shouldRestart(rec.hostConfig.RestartPolicy, { exitCode: rec.state.exitCode, restartCount: rec.restartCount, manuallyStopped: rec.manuallyStopped === true })) {
        void this.autoRestart(rec.id);
      }
    }
  }

  private recoveryDeps(): RecoveryDeps {
    return {
      runtime: this.deps.runtime,
      storageDriver: this.deps.storageDriver,
      logger: this.deps.logger,
      dir: (id) => this.dir(id),
      save: (rec) => this.deps.store.save(rec),
      releaseNetwork: (rec) => this.releaseNetwork(rec),
      remove: (rec) => this.removeRecord(rec),
    };
  }

  shutdown(): void {
    this.watcher.stop();
    this.health.stopAll();
    this.logKeeper.stop();
    this.restarts.stop();
  }

  /** For the container tools (rootfs-lease.ts): the lifecycle owns the rootfs mount while a container runs or starts. */
  rootfsInUse(id: string): boolean {
    return this.starting.has(id) || this.deps.store.get(id)?.state.status === 'running';
  }

  counts(): { total: number; running: number } {
    const all = this.deps.store.all();
    return { total: all.length, running: all.filter((r) => r.state.status === 'running').length };
  }

  private dir(id: string): string {
    return this.deps.store.dir(id);
  }

  // ---- waiting -------------------------------------------------------------------------

  /** A waiter of a client that hung up (signal aborted) is dropped so it cannot pile up. */
  private addWaiter(id: string, condition: WaitCondition, signal?: AbortSignal): Promise<number> {
    return new Promise((resolve) => {
      const waiter: Waiter = { condition, resolve };
      this.waiters.set(id, [...(this.waiters.get(id) ?? []), waiter]);
      signal?.addEventListener('abort', () => {
        const list = this.waiters.get(id)?.filter((w) => w !== waiter);
        if (list && list.length > 0) this.waiters.set(id, list);
        else this.waiters.delete(id);
      }, { once: true });
    });
  }

  private notify(id: string, event: 'exit' | 'removed', code: number): void {
    const list = this.waiters.get(id) ?? [];
    const keep = list.filter((w) => {
      if (event === 'removed' || w.condition !== 'removed') {
        w.resolve(code);
        return false;
      }
      return true;
    });
    if (keep.length > 0) this.waiters.set(id, keep);
    else this.waiters.delete(id);
  }

  async wait(ref: string, condition: WaitCondition, signal?: AbortSignal): Promise<{ result: Promise<WaitResult> }> {
    const rec = this.deps.store.find(ref);
    const done = (code: number): WaitResult => ({ StatusCode: code, Error: null });
    if (condition === 'not-running' && rec.state.status !== 'running' && !this.starting.has(rec.id)) {
      return { result: Promise.resolve(done(rec.state.exitCode)) };
    }
    return { result: this.addWaiter(rec.id, condition, signal).then(done) };
  }

  // ---- create --------------------------------------------------------------------------

  async create(params: { name?: string; body: unknown }): Promise<{ Id: string; Warnings: string[] }> {
    const body = params.body === undefined ? {} : params.body;
    if (!isObject(body)) throw invalidParameter('invalid JSON: container config must be an object');
    const { HostConfig, NetworkingConfig, ...configFields } = body;
    const request = configFields as ContainerConfig;
    const hostConfig: HostConfigRecord = isObject(HostConfig) ? (HostConfig as HostConfigRecord) : {};
    if (!request.Image) throw invalidParameter('config.Image is required');
    validateRestartPolicy(hostConfig.RestartPolicy, hostConfig.AutoRemove === true);
    LogKeeper.validate(hostConfig);
    validateHealthConfig(request.Healthcheck);
    const found = this.deps.images.lookup(request.Image);
    if (!found) throw notFound(`No such image: ${this.familiar(request.Image)}`);
    const imageConfig = (this.deps.images.config(found.id).config ?? {}) as ImageConfig;
    const config = mergeContainerConfig(request, imageConfig);
    if (processArgs(config).length === 0) throw invalidParameter('no command specified');
    const mode = hostConfig.NetworkMode ?? '';
    const netMode = networkMode(mode);
    const networkingConfig = isObject(NetworkingConfig) ? NetworkingConfig : null;
    if (this.deps.networks) checkNetworks(netMode, networkingConfig, this.deps.networks);
    else if (netMode.kind === 'networks' && netMode.primary !== 'bridge') throw notFound(`network ${mode} not found`);
    validateNamespaceModes(hostConfig, request.Hostname);
    const runtimeName = this.deps.report.runtime?.name ?? 'crun';
    hostConfig.Runtime = resolveRuntime(hostConfig, [runtimeName], runtimeName);
    fillNamespaceDefaults(hostConfig);
    const warnings: string[] = [...(this.deps.limitWarnings?.(hostConfig) ?? []), ...deviceCgroupRuleWarnings(hostConfig)];
    const ports = hostConfig.PortBindings;
    if (!this.deps.networks && ((ports && Object.keys(ports).length > 0) || hostConfig.PublishAllPorts)) {
      warnings.push('Published ports are not supported by this engine: the container has a private network namespace with only loopback');
    }

    let name: string;
    if (params.name) {
      name = normalizeName(params.name);
    } else {
      name = `/${generateName((n) => this.deps.store.byName(`/${n}`) !== undefined)}`;
    }
    const taken = this.deps.store.byName(name);
    if (taken) throw nameInUse(name, taken.id);
    registerLinks(hostConfig, name, (n) => this.deps.store.byName(`/${n}`));

    const id = randomBytes(32).toString('hex');
    const dir = this.dir(id);
    await mkdir(dir, { recursive: true, mode: 0o711 });
    const paths = {
      root: dir,
      log: runtimeFiles(dir).log,
      hosts: join(dir, 'hosts'),
      hostname: join(dir, 'hostname'),
      resolvConf: join(dir, 'resolv.conf'),
    };
    const rec: ContainerRecord = {
      id,
      name,
      created: new Date().toISOString(),
      image: request.Image,
      imageId: found.id,
      config,
      hostConfig,
      networkingConfig,
      state: { status: 'created', pid: 0, exitCode: 0, oomKilled: false, error: '', startedAt: ZERO_TIME, finishedAt: ZERO_TIME },
      restartCount: 0,
      paths,
      driver: this.deps.storageDriver,
    };
    try {
      rec.mounts = await this.createMounts(id, config, hostConfig);
      await writeNetworkFiles(paths, config.Hostname || id.slice(0, 12), mode === 'host', Array.isArray(hostConfig.ExtraHosts) ? (hostConfig.ExtraHosts as string[]) : []);
      // Someone may have taken the name while the files were written.
      const late = this.deps.store.byName(name);
      if (late) throw nameInUse(name, late.id);
      await this.deps.store.save(rec);
    } catch (err) {
      if (this.deps.volumes && rec.mounts) await releaseMountPoints(id, rec.mounts, this.deps.volumes, true);
      await this.deps.store.remove(id).catch(() => undefined);
      throw err;
    }
    this.emit(rec, 'create');
    return { Id: id, Warnings: warnings };
  }

  private async createMounts(id: string, config: ContainerRecord['config'], hostConfig: HostConfigRecord): Promise<ContainerRecord['mounts']> {
    const sources = {
      binds: hostConfig.Binds,
      mounts: hostConfig.Mounts as Parameters<typeof createMountPoints>[1]['mounts'],
      configVolumes: config.Volumes as Record<string, unknown> | null | undefined,
      volumeDriver: typeof hostConfig.VolumeDriver === 'string' ? hostConfig.VolumeDriver : undefined,
      inherited: inheritedMountPoints(hostConfig.VolumesFrom, (ref) => this.deps.store.find(ref)),
    };
    const { volumes } = this.deps;
    if (!volumes) {
      if (sources.binds?.length || (Array.isArray(sources.mounts) && sources.mounts.length)) throw invalidParameter('this engine has no volume support');
      return [];
    }
    return createMountPoints(id, sources, volumes);
  }

  /** Mounts and the network namespace for one start; the network is released again if the start fails. */
  private async prepareStart(rec: ContainerRecord, rootfs: string, rootfsReady: Promise<void> = Promise.resolve()): Promise<{ mounts: Awaited<ReturnType<typeof resolveMountPoints>>; network?: NamespaceChoice; env?: string[] }> {
    const { volumes, networks } = this.deps;
    const points = rec.mounts ?? [];
    const mounts = volumes && points.length > 0 ? await rootfsReady.then(async () => resolveMountPoints(points, rootfs, await containerOwner(rec.config.User ?? '', rootfs, points), volumes, this.dir(rec.id))) : [];
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
        const other = this.deps.store.find(ref);
        if (other.state.status !== 'running') throw conflict(`cannot join network of a non running container: ${other.id}`);
        return other.id;
      },
    );
    if (!net.prepared) return { mounts, network: net.namespace };
    rec.networkSettings = net.prepared.settings as ContainerRecord['networkSettings'];
    const links = linkSetup(rec, (n) => this.deps.store.byName(`/${n}`));
    await writeFileAtomic(rec.paths.hosts, net.prepared.hostsFile + links.hosts.map((l) => `${l}\n`).join(''), 0o644);
    await writeFileAtomic(rec.paths.resolvConf, net.prepared.resolvConf, 0o644);
    return { mounts, network: net.namespace, ...(links.env.length ? { env: links.env } : {}) };
  }

  private familiar(image: string): string {
    try {
      return familiarString(withDefaultTag(parseNormalizedNamed(image)));
    } catch {
      return image;
    }
  }

  // ---- start ---------------------------------------------------------------------------

  async start(ref: string): Promise<void> {
    const rec = this.deps.store.find(ref);
    if (rec.state.status === 'running' || this.starting.has(rec.id)) throw new EngineError('not-modified', 'container already started');
    if (rec.state.status === 'removing' || this.removing.has(rec.id)) throw conflict(`cannot start container ${rec.id}: removal in progress`);
    // A start by the user begins a fresh restart history, as dockerd resets its restart manager.
    this.restarts.reset(rec.id);
    this.cancelRestart.delete(rec.id);
    rec.manuallyStopped = false;
    rec.restartCount = 0;
    rec.state = { ...rec.state, restarting: false };
    const settled = this.markStarting(rec.id);
    try {
      await this.startRecord(rec);
    } catch (err) {
      const raw = err instanceof Error ? err.message : String(err);
      const command = pathAndArgs(rec).path;
      const failure = startFailure(raw, command);
      rec.state = { ...rec.state, error: failure?.message ?? raw, exitCode: startExitCode(raw, command) };
      await this.deps.store.save(rec).catch(() => undefined);
      if (rec.hostConfig.AutoRemove) void this.removeRecord(rec).catch(() => undefined);
      if (failure) throw invalidParameter(failure.message);
      if (err instanceof EngineError) throw err;
      if (err instanceof ToolError) throw internal(err.message);
      throw err;
    } finally {
      settled();
    }
    // An exit seen while starting was ignored (the record was not "running" yet): take it now.
    if (this.deps.runtime.hasExited(rec.id)) void this.handleExit(rec.id);
  }

  private async startRecord(rec: ContainerRecord): Promise<void> {
    const dir = this.dir(rec.id);
    const files = runtimeFiles(dir);
    const fs = rootfsPaths(dir);
    const { runtime } = this.deps;
    const timer = phaseTimer(this.deps.logger, 'container start phases', rec.id);
    // Durable before the first step outside the record: a daemon that dies from here on leaves a
    // start that the next one finishes or rolls back (recovery.ts).
    await markIntent(dir, 'starting');
    crashPoint('start:after-mark');
    await runtime.delete(rec.id);
    // The overlay mount and the log files do not depend on the network set-up: they run alongside it.
    const rootfsReady = mountRootfs(fs, this.deps.images.layerDirs(rec.imageId), this.deps.storageDriver);
    const logReady = this.logKeeper.beforeStart(rec);
    let mounted = false;
    try {
      const [prepared, , logSizeMax] = await allSettledOrThrow([this.prepareStart(rec, fs.merged, rootfsReady), rootfsReady, logReady] as const);
      timer.mark('mountAndNetwork');
      crashPoint('start:after-mount');
      emitVolumeMounts(this.deps.events, rec, 'mount');
      mounted = true;
      // Link variables come first so the container's own Env wins, as in dockerd.
      const specRec = prepared.env ? { ...rec, config: { ...rec.config, Env: [...prepared.env, ...(rec.config.Env ?? [])] } } : rec;
      const ns = await resolveNamespaceModes(rec, { find: (ref) => this.deps.store.find(ref), dir: (id) => this.dir(id), defaultShmSize: DEFAULT_SHM_SIZE });
      // A /dev/shm the user mounted wins over the shareable one, as in dockerd.
      const mounts = [...prepared.mounts, ...ns.mounts.filter((m) => !prepared.mounts.some((p) => p.destination === m.destination))];
      const { spec } = buildOciSpec(
        await ociSpecInput(specRec, fs.merged, { report: this.deps.report, mounts, network: prepared.network, ...(ns.pid ? { pid: ns.pid } : {}), ...(ns.ipc ? { ipc: ns.ipc } : {}), ...(ns.uts ? { uts: ns.uts } : {}) }),
      );
      await writeFileAtomic(join(files.bundle, 'config.json'), JSON.stringify(spec));
      timer.mark('spec');
      this.watcher.add(rec.id);
      const tty = rec.config.Tty === true;
      // dockerd closes a container's stdin at the client's EOF only for StdinOnce without a TTY.
      const pid = await runtime.create(rec.id, rec.name.slice(1), files, { tty, stdin: rec.config.OpenStdin === true, stdinOnce: rec.config.StdinOnce === true && !tty, logSizeMax });
      timer.mark('conmonCreate');
      // The container's mounts are made: the volume subpaths pinned for them are no longer needed.
      await releasePins(dir);
      crashPoint('start:after-runtime-create');
      this.connectInputs(rec.id);
      await runtime.start(rec.id);
      timer.mark('runtimeStart');
      crashPoint('start:after-runtime-start');
      rec.state = { status: 'running', pid, exitCode: 0, oomKilled: false, error: '', startedAt: new Date().toISOString(), finishedAt: rec.state.finishedAt };
      await this.deps.store.save(rec);
      // The container runs: a marker that cannot be removed must not fail (and so undo) the start;
      // recovery only removes a marker beside a running record.
      await clearIntent(dir, 'starting').catch((err: unknown) => this.deps.logger.warn({ err, id: rec.id }, 'clearing the start marker failed'));
      this.health.init(rec);
      this.emit(rec, 'start');
      this.logKeeper.started(rec);
      timer.mark('save');
      timer.done();
    } catch (err) {
      this.watcher.delete(rec.id);
      await runtime.delete(rec.id);
      await runtime.clearExit(rec.id);
      await this.releaseNetwork(rec);
      await releasePins(dir);
      await unmountRootfs(fs, this.deps.storageDriver);
      await unmountShareableShm(dir);
      // Left behind, the marker would only make the next daemon repeat this (idempotent) rollback.
      await clearIntent(dir, 'starting').catch(() => undefined);
      if (mounted) emitVolumeMounts(this.deps.events, rec, 'unmount');
      throw err;
    }
  }

  // ---- exit ----------------------------------------------------------------------------

  /** Frees addresses, published ports and the netns; the container's inspect keeps no stale IP. */
  private async releaseNetwork(rec: ContainerRecord): Promise<void> {
    if (!this.deps.networks) return;
    await this.deps.networks.releaseContainerNetwork(rec.id).catch((err: unknown) => this.deps.logger.warn({ err, id: rec.id }, 'releasing the container network failed'));
    rec.networkSettings = undefined;
  }

  private handleExit(id: string): Promise<void> {
    const busy = this.exiting.get(id);
    if (busy) return busy;
    const p = this.recordExit(id)
      .catch((err: unknown) => this.deps.logger.error({ err, id }, 'recording a container exit failed'))
      .finally(() => this.exiting.delete(id));
    this.exiting.set(id, p);
    return p;
  }

  private async recordExit(id: string): Promise<void> {
    const rec = this.deps.store.get(id);
    if (!rec || rec.state.status !== 'running' || this.starting.has(id)) return;
    const files = runtimeFiles(this.dir(id));
    const info = await this.deps.runtime.readExit(id, files);
    if (!info) return;
    this.watcher.delete(id);
    this.health.stop(id);
    const timer = phaseTimer(this.deps.logger, 'container exit phases', id);
    // The processes are gone: the runtime state, the network and the rootfs mount are cleaned up side by side.
    await Promise.all([
      this.deps.runtime.delete(id),
      this.releaseNetwork(rec),
      unmountRootfs(rootfsPaths(this.dir(id)), this.deps.storageDriver),
      unmountShareableShm(this.dir(id)),
      this.logKeeper.exited(rec),
    ]);
    timer.mark('cleanup');
    emitVolumeMounts(this.deps.events, rec, 'unmount');
    await this.deps.runtime.clearExit(id);
    rec.state = { ...rec.state, status: 'exited', pid: 0, exitCode: info.exitCode, oomKilled: info.oomKilled, finishedAt: new Date().toISOString() };
    await this.deps.store.save(rec);
    timer.mark('save');
    timer.done();
    if (info.oomKilled) this.emit(rec, 'oom');
    const ranMs = Date.now() - Date.parse(rec.state.startedAt);
    this.emit(rec, 'die', { exitCode: String(info.exitCode), execDuration: String(Math.max(0, Math.round(ranMs / 1000))) });
    this.exec.forget(id);
    this.notify(id, 'exit', info.exitCode);
    if (rec.hostConfig.AutoRemove) await this.removeRecord(rec);
    else this.afterExit(rec);
  }

  // ---- restart policy ------------------------------------------------------------------

  /** Schedules the restart the policy asks for, with dockerd's back-off. */
  private afterExit(rec: ContainerRecord): void {
    const cancelled = this.cancelRestart.delete(rec.id);
    const facts = { exitCode: rec.state.exitCode, restartCount: rec.restartCount, manuallyStopped: rec.manuallyStopped === true };
    if (cancelled || !shouldRestart(rec.hostConfig.RestartPolicy, facts)) return;
    rec.state = { ...rec.state, restarting: true };
    void this.deps.store.save(rec).catch(() => undefined);
    const ranMs = rec.state.startedAt === ZERO_TIME ? 0 : Date.parse(rec.state.finishedAt) - Date.parse(rec.state.startedAt);
    this.restarts.schedule(rec.id, ranMs, () => void this.autoRestart(rec.id));
  }

  private async autoRestart(id: string): Promise<void> {
    const rec = this.deps.store.get(id);
    if (!rec || rec.state.status === 'running' || this.starting.has(id) || this.removing.has(id)) return;
    rec.restartCount += 1;
    const settled = this.markStarting(id);
    try {
      await this.startRecord(rec);
      rec.state = { ...rec.state, restarting: false };
      await this.deps.store.save(rec);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.deps.logger.warn({ id, err: message }, 'automatic restart failed');
      rec.state = { ...rec.state, restarting: false, error: message, finishedAt: new Date().toISOString() };
      await this.deps.store.save(rec).catch(() => undefined);
      this.afterExit(rec);
    } finally {
      settled();
    }
    if (this.deps.runtime.hasExited(id)) void this.handleExit(id);
  }

  /** Records a start in progress; the returned function ends it (and wakes whoever waits on it). */
  private markStarting(id: string): () => void {
    let settle!: () => void;
    this.starting.set(id, new Promise<void>((resolve) => (settle = resolve)));
    return () => {
      this.starting.delete(id);
      settle();
    };
  }

  /** Waits (bounded) while a start of the container is in progress: told when it ends, never polled. */
  private async settleStart(id: string): Promise<void> {
    const start = this.starting.get(id);
    if (start) await within(start, 30_000);
  }

  /** A stop while waiting out the back-off ends the restarting. */
  private async cancelRestarting(rec: ContainerRecord): Promise<boolean> {
    if (!rec.state.restarting && !this.restarts.pending(rec.id)) return false;
    this.restarts.reset(rec.id);
    rec.state = { ...rec.state, restarting: false };
    await this.deps.store.save(rec);
    return true;
  }

  /** Resolves once the container's next exit has been recorded. */
  private nextExit(id: string): Promise<number> {
    return this.addWaiter(id, 'next-exit');
  }

  // ---- signals -------------------------------------------------------------------------

  private async signal(rec: ContainerRecord, sig: number): Promise<void> {
    try {
      await this.deps.runtime.kill(rec.id, sig);
    } catch (err) {
      // It exited between our look and the signal; the exit watcher records it.
      if (!this.deps.runtime.hasExited(rec.id) && rec.state.status === 'running') throw internal(err instanceof Error ? err.message : String(err));
    }
    if (rec.state.paused) await this.deps.thawAfterSignal?.(rec);
  }

  async stop(ref: string, opts: { timeout?: number; signal?: string }): Promise<void> {
    const rec = this.deps.store.find(ref);
    // An automatic restart under way finishes first; the stop then applies to what it started.
    await this.settleStart(rec.id);
    if (rec.state.status !== 'running') {
      if (await this.cancelRestarting(rec)) {
        rec.manuallyStopped = true;
        await this.deps.store.save(rec);
        this.emit(rec, 'stop');
        return;
      }
      throw new EngineError('not-modified', 'container already stopped');
    }
    rec.manuallyStopped = true;
    await this.deps.store.save(rec);
    await this.stopRecord(rec, opts);
    this.emit(rec, 'stop');
  }

  private async stopRecord(rec: ContainerRecord, opts: { timeout?: number; signal?: string }): Promise<void> {
    this.cancelRestart.add(rec.id);
    const sig = parseSignal(opts.signal || rec.config.StopSignal || 'SIGTERM');
    const timeout = opts.timeout ?? rec.config.StopTimeout ?? DEFAULT_STOP_TIMEOUT_S;
    const exited = this.nextExit(rec.id);
    this.emit(rec, 'kill', { signal: String(sig) });
    await this.signal(rec, sig);
    if (timeout >= 0 && !(await within(exited, timeout * 1000))) {
      this.emit(rec, 'kill', { signal: '9' });
      await this.signal(rec, 9);
      await this.deps.runtime.kill(rec.id, 9).catch(() => undefined);
      if (!(await within(exited, 30_000))) throw internal(`container ${rec.id} did not exit after SIGKILL`);
    } else if (timeout < 0) {
      await exited;
    }
  }

  async kill(ref: string, signal?: string): Promise<void> {
    const rec = this.deps.store.find(ref);
    const sig = parseSignal(signal || 'SIGKILL');
    if (rec.state.restarting) throw conflict(`Container ${rec.id} is restarting, wait until the container is running`);
    if (rec.state.status !== 'running') throw conflict(`Container ${rec.id} is not running`);
    const exited = this.nextExit(rec.id);
    // dockerd's ExitOnNext: a SIGKILL from the user is not a failure to restart from.
    if (sig === 9) this.cancelRestart.add(rec.id);
    this.emit(rec, 'kill', { signal: String(sig) });
    await this.signal(rec, sig);
    // dockerd returns from a SIGKILL only once the container is gone, so `kill; inspect` sees it exited.
    if (sig === 9) await within(exited, 10_000);
  }

  async restart(ref: string, opts: { timeout?: number; signal?: string }): Promise<void> {
    const rec = this.deps.store.find(ref);
    await this.cancelRestarting(rec);
    if (rec.state.status === 'running') await this.stopRecord(rec, opts);
    const exiting = this.exiting.get(rec.id);
    if (exiting) await exiting;
    if (!this.deps.store.get(rec.id)) throw notFound(`No such container: ${ref}`);
    await this.start(rec.id);
    this.emit(rec, 'restart');
  }

  // ---- remove --------------------------------------------------------------------------

  async remove(ref: string, opts: { force: boolean; volumes: boolean }): Promise<void> {
    const rec = this.deps.store.find(ref);
    // A start in progress is let finish first (dockerd's container lock does the same): removed
    // under it, its record and directory would be written back by its last steps.
    if (this.starting.has(rec.id)) {
      if (!opts.force) throw conflict(`You cannot remove a running container ${rec.id}. Stop the container before attempting removal or force remove`);
      await this.settleStart(rec.id);
      if (!this.deps.store.get(rec.id)) return;
    }
    if (opts.volumes) this.removeVolumes.add(rec.id);
    const pending = this.removing.get(rec.id);
    if (pending) return pending;
    if (rec.state.status === 'running') {
      if (!opts.force) {
        throw conflict(`You cannot remove a running container ${rec.id}. Stop the container before attempting removal or force remove`);
      }
      const exited = this.nextExit(rec.id);
      this.cancelRestart.add(rec.id);
      await this.signal(rec, 9);
      await within(exited, 30_000);
      const auto = this.removing.get(rec.id) ?? this.exiting.get(rec.id);
      if (auto) await auto;
      const again = this.removing.get(rec.id);
      if (again) await again;
      if (!this.deps.store.get(rec.id)) return;
    }
    await this.removeRecord(rec);
  }

  private removeRecord(rec: ContainerRecord): Promise<void> {
    const busy = this.removing.get(rec.id);
    if (busy) return busy;
    const p = (async () => {
      rec.state = { ...rec.state, status: 'removing' };
      if (this.removeVolumes.has(rec.id)) rec.removeVolumes = true;
      await this.deps.store.save(rec);
      crashPoint('rm:after-mark');
      await this.finishRemove(rec);
    })().finally(() => this.removing.delete(rec.id));
    this.removing.set(rec.id, p);
    return p;
  }

  private async finishRemove(rec: ContainerRecord): Promise<void> {
    this.restarts.reset(rec.id);
    this.cancelRestart.delete(rec.id);
    this.pendingInputs.delete(rec.id);
    this.exec.forget(rec.id);
    this.health.stop(rec.id);
    this.watcher.delete(rec.id);
    await Promise.all([
      this.deps.runtime.delete(rec.id),
      this.deps.runtime.clearExit(rec.id),
      this.releaseNetwork(rec),
      unmountRootfs(rootfsPaths(this.dir(rec.id)), this.deps.storageDriver),
      unmountShareableShm(this.dir(rec.id)),
    ]);
    if (this.deps.volumes && rec.mounts) {
      // dockerd's --rm takes the anonymous volumes along, as `rm -v` does.
      await releaseMountPoints(rec.id, rec.mounts, this.deps.volumes, this.removeVolumes.has(rec.id) || rec.removeVolumes === true || rec.hostConfig.AutoRemove === true);
    }
    this.removeVolumes.delete(rec.id);
    await this.deps.store.remove(rec.id);
    this.emit(rec, 'destroy');
    this.notify(rec.id, 'removed', rec.state.exitCode);
  }

  async prune(filters?: string): Promise<{ ContainersDeleted: string[]; SpaceReclaimed: number }> {
    const f = parseFilters(filters, ['until', 'label', 'label!']);
    const until = f.get('until')?.map((u) => parseTimeFilter(u, new Date()));
    const deleted: string[] = [];
    let space = 0;
    for (const rec of this.deps.store.all()) {
      if (rec.state.status === 'running' || this.starting.has(rec.id) || this.removing.has(rec.id)) continue;
      const labels = rec.config.Labels ?? {};
      if (!(f.get('label') ?? []).every((l) => labelMatches(labels, l))) continue;
      if ((f.get('label!') ?? []).some((l) => labelMatches(labels, l))) continue;
      if (until?.some((u) => u !== undefined && Date.parse(rec.created) / 1000 >= u)) continue;
      space += await diskUsage(rootfsPaths(this.dir(rec.id)).upper);
      await this.removeRecord(rec);
      deleted.push(rec.id);
    }
    return { ContainersDeleted: deleted, SpaceReclaimed: space };
  }

  async removeLink(ref: string): Promise<void> {
    await this.deps.store.save(removeLink(ref, (n) => this.deps.store.byName(n)));
  }

  async rename(ref: string, newName: string): Promise<void> {
    const rec = this.deps.store.find(ref);
    if (!newName) throw invalidParameter('Neither old nor new names may be empty');
    const name = normalizeName(newName);
    if (name === rec.name) throw invalidParameter('Renaming a container with the same name as its current name');
    const taken = this.deps.store.byName(name);
    if (taken) throw nameInUse(name, taken.id);
    const oldName = rec.name.slice(1);
    rec.name = name;
    await this.deps.store.save(rec);
    this.emit(rec, 'rename', { oldName });
  }

  // ---- reading -------------------------------------------------------------------------

  async inspect(ref: string, opts: { size?: boolean } = {}): Promise<Record<string, unknown>> {
    const rec = this.deps.store.find(ref);
    const json = containerInspect(rec, this.exec.idsOf(rec.id));
    return opts.size ? { ...json, ...(await this.sizes(rec)) } : json;
  }

  /** dockerd's SizeRw (the writable layer) and SizeRootFs (that plus the image's layers). */
  private async sizes(rec: ContainerRecord): Promise<{ SizeRw: number; SizeRootFs: number }> {
    const rw = await diskUsage(rootfsPaths(this.dir(rec.id)).upper);
    const image = this.deps.images.has(rec.imageId) ? this.deps.images.size(rec.imageId) : 0;
    return { SizeRw: rw, SizeRootFs: rw + image };
  }

  async list(params: { all: boolean; limit?: number; filters?: string; size?: boolean }): Promise<Record<string, unknown>[]> {
    const f = parseFilters(params.filters, ['id', 'name', 'label', 'label!', 'status', 'exited', 'ancestor', 'before', 'since', 'network', 'health', 'volume', 'expose', 'publish', 'isolation', 'is-task']);
    for (const s of f.get('status') ?? []) {
      if (!['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'].includes(s)) {
        throw invalidParameter(`invalid filter 'status=${s}'`);
      }
    }
    const exited = (f.get('exited') ?? []).map((e) => {
      const n = Number(e);
      if (!Number.isInteger(n)) throw invalidParameter(`invalid filter 'exited=${e}'`);
      return n;
    });
    const health = f.get('health');
    if (health) validateHealthFilter(health);
    const ancestors = (f.get('ancestor') ?? []).map((a) => this.deps.images.lookup(a)?.id ?? a);
    // A limit means the last N created in any state, as dockerd's list does (`docker ps -n 3`).
    const all = params.all || (params.limit ?? 0) > 0 || (f.get('status')?.length ?? 0) > 0 || exited.length > 0;
    let recs = this.deps.store.all().sort((a, b) => Date.parse(b.created) - Date.parse(a.created));
    recs = recs.filter((r) => {
      if (!all && r.state.status !== 'running') return false;
      const ids = f.get('id');
      if (ids && !ids.some((i) => r.id.startsWith(i))) return false;
      const names = f.get('name');
      if (names && !names.some((n) => matchesName(r.name, n))) return false;
      if (!(f.get('label') ?? []).every((l) => labelMatches(r.config.Labels ?? {}, l))) return false;
      if ((f.get('label!') ?? []).some((l) => labelMatches(r.config.Labels ?? {}, l))) return false;
      const statuses = f.get('status');
      if (statuses && !statuses.includes(stateStatus(r))) return false;
      if (exited.length > 0 && !(r.state.status === 'exited' && exited.includes(r.state.exitCode))) return false;
      if (ancestors.length > 0 && !ancestors.some((a) => a === r.imageId || a === r.image)) return false;
      if (health && !health.includes(healthFilterValue(r.health))) return false;
      return true;
    });
    if (params.limit !== undefined && params.limit > 0) recs = recs.slice(0, params.limit);
    const now = new Date();
    if (!params.size) return recs.map((r) => containerSummary(r, now));
    return Promise.all(recs.map(async (r) => ({ ...containerSummary(r, now), ...(await this.sizes(r)) })));
  }

  async logs(ref: string, params: ContainerLogParams, signal?: AbortSignal): Promise<OutputStream> {
    if (!params.stdout && !params.stderr) throw invalidParameter('Bad parameters: you must choose at least one stream');
    const rec = this.deps.store.find(ref);
    this.logKeeper.checkReadable(rec);
    const now = new Date();
    let tail: number | undefined;
    if (params.tail !== undefined && params.tail !== '' && params.tail !== 'all') {
      const n = Number(params.tail);
      tail = Number.isInteger(n) && n >= 0 ? n : undefined;
    }
    const follow = params.follow && (rec.state.status === 'running' || this.starting.has(rec.id));
    const chunks = readLog(rec.paths.log, {
      tty: rec.config.Tty === true,
      stdout: params.stdout,
      stderr: params.stderr,
      timestamps: params.timestamps,
      tail,
      since: parseTimeFilter(params.since, now),
      until: parseTimeFilter(params.until, now),
      ...(follow ? { followUntil: this.addWaiter(rec.id, 'not-running', signal) } : {}),
      ...(signal ? { signal } : {}),
    });
    return { tty: rec.config.Tty === true, chunks };
  }

  async attach(ref: string, params: ContainerAttachParams, signal?: AbortSignal): Promise<InteractiveStream> {
    const rec = this.deps.store.find(ref);
    const tty = rec.config.Tty === true;
    const detachKeys = parseDetachKeys(params.detachKeys || DEFAULT_DETACH_KEYS);
    let stdin: AttachInput | undefined;
    if (params.stdin && rec.config.OpenStdin) {
      stdin = new AttachInput();
      if (rec.state.status === 'running' && !this.starting.has(rec.id)) stdin.connect(this.deps.runtime.attachSocket(runtimeFiles(this.dir(rec.id))));
      else this.pendingInputs.set(rec.id, [...(this.pendingInputs.get(rec.id) ?? []).filter((i) => !i.closed), stdin]);
    }
    this.emit(rec, 'attach');
    // An attach before start (docker run) follows the run that is about to begin.
    const until = this.addWaiter(rec.id, 'next-exit', signal);
    const from = params.logs ? 0 : await logSize(rec.paths.log);
    const chunks = params.stream || params.logs
      ? readLog(rec.paths.log, {
          tty,
          stdout: params.stdout,
          stderr: params.stderr,
          timestamps: false,
          fromOffset: from,
          ...(params.stream ? { followUntil: until } : {}),
          ...(signal ? { signal } : {}),
        })
      : (async function* () {})();
    return { tty, chunks, ...(stdin ? { stdin, detachKeys } : {}) };
  }

  /** conmon's attach socket exists once the container is created: hand it to clients that attached early. */
  private connectInputs(id: string): void {
    const inputs = this.pendingInputs.get(id) ?? [];
    this.pendingInputs.delete(id);
    const path = this.deps.runtime.attachSocket(runtimeFiles(this.dir(id)));
    for (const input of inputs) input.connect(path);
  }

  async resize(ref: string, height: number, width: number): Promise<void> {
    const rec = this.deps.store.find(ref);
    if (rec.state.status !== 'running') throw conflict(`Container ${rec.id} is not running`);
    if (rec.config.Tty !== true) return;
    await this.deps.runtime.resize(runtimeFiles(this.dir(rec.id)), height, width);
  }
}

/** dockerd matches name filters as regular expressions against "/name". */
function matchesName(name: string, filter: string): boolean {
  try {
    return new RegExp(filter).test(name);
  } catch {
    return name.includes(filter);
  }
}
