/**
 * What the container lifecycle modules share: the engine's dependencies, the gate (lock, phases,
 * state machine), the exit waiters and watcher, restart timers, logs, health and exec. The modules
 * (create, start, stop, remove, supervision, streams, queries) are functions over one ContainerCore.
 */
import type { Logger } from 'pino';
import type { ContainerRecord, HostConfigRecord } from '../../translate/container-record.js';
import { internal } from '../../translate/errors.js';
import { containerEventAttributes } from '../../translate/events.js';
import { familiarString, parseNormalizedNamed, withDefaultTag } from '../../translate/image-ref.js';
import type { DoctorReport } from '../doctor/types.js';
import type { EventBus } from '../events/bus.js';
import type { ImageStore } from '../images/store.js';
import type { EngineVolumeService } from '../volumes/service.js';
import type { NetworkManager } from '../../slirp/manager.js';
import type { AttachInput } from './attach-input.js';
import { EngineExecService } from './exec-service.js';
import { ExitWatcher } from './exit-watcher.js';
import type { ContainerGate } from './gate.js';
import { HealthMonitor } from './health.js';
import { LogKeeper } from './log-keeper.js';
import { RestartTimers } from './restarts.js';
import type { RuntimeDriver } from './runtime.js';
import type { ContainerStore } from './store.js';
import { ExitWaiters } from './waiters.js';
import type { KernelFacts } from '../kernel-facts.js';

export interface ContainerServiceDeps {
  store: ContainerStore;
  /** Locks, phases and the state machine, shared with exec, resources and the container tools. */
  gate: ContainerGate;
  images: ImageStore;
  runtime: RuntimeDriver;
  /** Storage driver name as /info reports it (overlay2 or fuse-overlayfs). */
  storageDriver: string;
  report: DoctorReport;
  /** The running kernel's facts the OCI spec is checked against (at create) and built with (at start). */
  kernel: KernelFacts;
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
  /** Resolves once the container tools no longer borrow the container's rootfs (rootfs-lease.ts): a removal waits for a copy under way. */
  rootfsIdle?: (id: string) => Promise<void>;
}

export class ContainerCore {
  readonly store: ContainerStore;
  readonly gate: ContainerGate;
  readonly waiters = new ExitWaiters();
  readonly watcher: ExitWatcher;
  readonly restarts = new RestartTimers();
  readonly exec: EngineExecService;
  readonly health: HealthMonitor;
  readonly logKeeper: LogKeeper;
  /** Clients' stdin waiting for a container's attach socket (attach before start, as `docker run -i` does). */
  readonly pendingInputs = new Map<string, AttachInput[]>();
  /** The next exit is the user's doing (stop, kill -9, rm -f): no automatic restart for it. */
  readonly cancelRestart = new Set<string>();
  /** Stopped by `docker restart`: the exit does not remove an AutoRemove container (dockerd's HasBeenManuallyRestarted). */
  readonly manualRestarts = new Set<string>();
  /** Removals asked with `v=1`: the container's anonymous volumes go too. */
  readonly removeVolumes = new Set<string>();
  /** Exit recordings queued or under way, one per container. */
  readonly exiting = new Map<string, Promise<void>>();
  /** Set by supervision.ts: records the exit conmon reported for a container. */
  onExit: (id: string) => void = () => undefined;

  constructor(readonly deps: ContainerServiceDeps) {
    this.store = deps.store;
    this.gate = deps.gate;
    this.watcher = new ExitWatcher(deps.runtime.exitsDir, (id) => this.onExit(id));
    this.logKeeper = new LogKeeper(deps.logger);
    this.exec = new EngineExecService({ store: deps.store, gate: deps.gate, runtime: deps.runtime, events: deps.events, kernel: deps.kernel });
    this.health = new HealthMonitor({
      store: deps.store,
      events: deps.events,
      logger: deps.logger,
      probe: (rec, cmd, timeoutMs, signal) => this.exec.probe(rec, cmd, timeoutMs, signal),
    });
  }

  get logger(): Logger {
    return this.deps.logger;
  }

  dir(id: string): string {
    return this.store.dir(id);
  }

  emit(rec: ContainerRecord, action: string, extra: Record<string, string> = {}): void {
    this.deps.events.emit('container', action, rec.id, containerEventAttributes(rec, extra));
  }

  /** The lifecycle owns the rootfs mount while a container runs or starts (rootfs-lease.ts). */
  rootfsInUse(id: string): boolean {
    return this.gate.inPhase(id, 'starting') || this.store.get(id)?.state.status === 'running';
  }

  /** Frees addresses, published ports and the netns; the container's inspect keeps no stale IP. */
  async releaseNetwork(rec: ContainerRecord): Promise<void> {
    if (!this.deps.networks) return;
    await this.deps.networks.releaseContainerNetwork(rec.id).catch((err: unknown) => this.logger.warn({ err, id: rec.id }, 'releasing the container network failed'));
    rec.networkSettings = undefined;
  }

  familiar(image: string): string {
    try {
      return familiarString(withDefaultTag(parseNormalizedNamed(image)));
    } catch {
      return image;
    }
  }

  /** Sends a signal; a container that exited between the look and the signal is left to the exit watcher. */
  async signal(rec: ContainerRecord, sig: number): Promise<void> {
    try {
      await this.deps.runtime.kill(rec.id, sig);
    } catch (err) {
      if (!(await this.exitedMeanwhile(rec.id))) throw internal(err instanceof Error ? err.message : String(err));
    }
    if (rec.state.paused) await this.deps.thawAfterSignal?.(rec);
  }

  /** The record says running but the processes are gone (RuntimeDriver.processesGone). */
  async exitedMeanwhile(id: string): Promise<boolean> {
    const rec = this.store.get(id);
    return !rec || rec.state.status !== 'running' || (await this.deps.runtime.processesGone(id).catch(() => false));
  }
}
