/**
 * The container lifecycle behind the API, split by concern: create.ts, start.ts, stop.ts (stop,
 * kill, restart), remove.ts (remove, prune, rename), supervision.ts (exits, restart policy,
 * adoption), streams.ts (logs, attach, resize), queries.ts (inspect, list). Every operation on a
 * container goes through its lock and the state machine (gate.ts, translate/container-lifecycle.ts).
 * Records persist through ContainerStore; the processes belong to conmon, so after a daemon
 * restart the service picks running containers up again from their monitors and exit files.
 */
import type {
  ContainerAttachParams,
  ContainerCreateParams,
  ContainerDetails,
  ContainerLogParams,
  ContainerPruneResult,
  ContainerService,
  ContainerView,
  InteractiveStream,
  LogStream,
  OutputStream,
  WaitCondition,
  WaitResult,
} from './interface.js';
import { ContainerCore, type ContainerServiceDeps } from './core.js';
import { createContainer } from './create.js';
import { removeLink } from './links.js';
import type { EngineExecService } from './exec-service.js';
import type { HealthMonitor } from './health.js';
import { containerCounts, inspectContainer, listContainers } from './queries.js';
import { pruneContainers, removeContainer, renameContainer } from './remove.js';
import { startContainer } from './start.js';
import { killContainer, restartContainer, stopContainer } from './stop.js';
import { attachContainer, containerLogs, containerOutput, resizeContainer } from './streams.js';
import { adoptContainers, handleExit } from './supervision.js';

export type { ContainerServiceDeps } from './core.js';

export class EngineContainerService implements ContainerService {
  private readonly core: ContainerCore;
  readonly exec: EngineExecService;
  /** Healthcheck probes; resources.ts tells it about pause and unpause. */
  readonly health: HealthMonitor;

  constructor(deps: ContainerServiceDeps) {
    this.core = new ContainerCore(deps);
    this.core.onExit = (id) => void handleExit(this.core, id);
    this.exec = this.core.exec;
    this.health = this.core.health;
  }

  init(): Promise<void> {
    return adoptContainers(this.core);
  }

  shutdown(): void {
    this.core.watcher.stop();
    this.core.health.stopAll();
    this.core.logKeeper.stop();
    this.core.restarts.stop();
  }

  /** For the container tools (rootfs-lease.ts): the lifecycle owns the rootfs mount while a container runs or starts. */
  rootfsInUse(id: string): boolean {
    return this.core.rootfsInUse(id);
  }

  counts(): { total: number; running: number } {
    return containerCounts(this.core);
  }

  async wait(ref: string, condition: WaitCondition, signal?: AbortSignal): Promise<{ result: Promise<WaitResult> }> {
    const rec = this.core.store.find(ref);
    const done = (code: number): WaitResult => ({ StatusCode: code, Error: null });
    if (condition === 'not-running' && rec.state.status !== 'running' && !this.core.gate.inPhase(rec.id, 'starting')) {
      return { result: Promise.resolve(done(rec.state.exitCode)) };
    }
    return { result: this.core.waiters.add(rec.id, condition, signal).then(done) };
  }

  /** `docker rm --link /parent/alias`: the parent's record loses the link (links.ts has dockerd's checks). */
  async removeLink(ref: string): Promise<void> {
    const byName = (n: string) => this.core.store.byName(n);
    const name = ref.startsWith('/') ? ref : `/${ref}`;
    const parent = byName(name.slice(0, name.lastIndexOf('/')));
    // Without a parent there is only dockerd's error to give; with one, its record changes under its lock.
    if (!parent) return void removeLink(ref, byName);
    await this.core.gate.must(parent.id, 'rename', async () => {
      await this.core.store.save(removeLink(ref, byName));
    });
  }

  create(params: ContainerCreateParams): Promise<{ id: string; warnings: string[] }> {
    return createContainer(this.core, params);
  }

  start(ref: string): Promise<void> {
    return startContainer(this.core, ref);
  }

  stop(ref: string, opts: { timeout?: number; signal?: string }): Promise<void> {
    return stopContainer(this.core, ref, opts);
  }

  kill(ref: string, signal?: string): Promise<void> {
    return killContainer(this.core, ref, signal);
  }

  restart(ref: string, opts: { timeout?: number; signal?: string }): Promise<void> {
    return restartContainer(this.core, ref, opts);
  }

  remove(ref: string, opts: { force: boolean; volumes: boolean }): Promise<void> {
    return removeContainer(this.core, ref, opts);
  }

  prune(filters?: string): Promise<ContainerPruneResult> {
    return pruneContainers(this.core, filters);
  }

  rename(ref: string, newName: string): Promise<void> {
    return renameContainer(this.core, ref, newName);
  }

  inspect(ref: string, opts: { size?: boolean } = {}): Promise<ContainerDetails> {
    return inspectContainer(this.core, ref, opts);
  }

  list(params: { all: boolean; limit?: number; filters?: string; size?: boolean }): Promise<ContainerView[]> {
    return listContainers(this.core, params);
  }

  logs(ref: string, params: ContainerLogParams, signal?: AbortSignal): Promise<LogStream> {
    return containerLogs(this.core, ref, params, signal);
  }

  attach(ref: string, params: ContainerAttachParams, signal?: AbortSignal): Promise<InteractiveStream> {
    return attachContainer(this.core, ref, params, signal);
  }

  output(ref: string, params: { stdout: boolean; stderr: boolean }, signal?: AbortSignal): Promise<OutputStream> {
    return containerOutput(this.core, ref, params, signal);
  }

  resize(ref: string, height: number, width: number): Promise<void> {
    return resizeContainer(this.core, ref, height, width);
  }
}
