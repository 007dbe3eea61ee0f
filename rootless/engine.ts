import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { EngineServices } from './engine-services.js';
import { EngineDiskUsage } from './disk-usage.js';
import { startSpawner, stopSpawner } from './exec.js';
import { readKernelFacts } from './kernel-facts.js';
import { limitWarnings, type EngineCounts, type EngineFacts } from '../translate/system-info.js';
import type { DoctorReport } from './doctor/types.js';
import { findExecutable } from './doctor/paths.js';
import { hideHybridV2Controllers } from './cgroups/hide-v2-controllers.js';
import { chooseStorageDriver } from './storage/probe.js';
import { engineId, hostFacts } from './host-facts.js';
import type { EnginePaths } from './paths.js';
import { BURROW_VERSION } from './version.js';
import { ImageStore } from './images/store.js';
import { Puller } from './images/pull.js';
import { EngineImageService } from './images/service.js';
import { ImageTransfer } from './images/transfer.js';
import { RegistryAccess } from './registry/access.js';
import { loadRegistrySettings } from './config-file.js';
import { hostPlatform } from '../translate/platform.js';
import { ContainerStore } from './containers/store.js';
import { ContainerGate } from './containers/gate.js';
import { RuntimeDriver } from './containers/runtime.js';
import { pinnedRuntimeBinary } from './runtime-binary.js';
import { EngineContainerService } from './containers/service.js';
import { EngineBuildService } from './build/service.js';
import { EngineBuildkit } from './buildkit/service.js';
import { withBuildkitCache } from './buildkit/cache.js';
import { EngineContainerTools } from './containers/tools.js';
import { RootfsLeases } from './containers/rootfs-lease.js';
import { ContainerResources } from './containers/resources.js';
import { isPaused } from '../translate/container-json.js';
import { EventBus } from './events/bus.js';
import { EngineEventService } from './events/service.js';
import { tagEvent, withImageEvents } from './events/image-events.js';
import { wireResourceEvents } from './events/resource-events.js';
import { networkHooks } from './containers/network-connect.js';
import { EngineVolumeService } from './volumes/service.js';
import { NetworkManager } from '../slirp/manager.js';
import type { DefaultBridgeIPv6 } from '../slirp/network-records.js';
import { EngineNetworkService } from '../slirp/service.js';

export interface EngineStartOptions {
  paths: EnginePaths;
  report: DoctorReport;
  logger: Logger;
  debug: boolean;
  /** The daemon's --ipv6 / --fixed-cidr-v6. */
  defaultBridgeIPv6?: DefaultBridgeIPv6;
}

export interface Engine {
  facts: EngineFacts;
  services: EngineServices;
  /** For the containers work: layerDirs(imageId) and config(imageId). */
  imageStore: ImageStore;
  /** For the containers work: ensure/acquire/release/prepareForMount/copyUp/chown of volumes. */
  volumes: EngineVolumeService;
  /** For the containers work: prepareContainerNetwork/releaseContainerNetwork/connect/disconnect (networks.manager), setContainerLookup. */
  networks: EngineNetworkService;
  /** Stops the engine's own work; true when nothing is left running in the namespace (the holder may go). */
  shutdown(): Promise<boolean>;
}

/** Everything the daemon does once it is inside its user+mount namespace, before it listens. */
export async function startEngine(opts: EngineStartOptions): Promise<Engine> {
  const { paths, report, logger } = opts;
  // First: every tool from here on is started by the small helper, not forked from the daemon.
  startSpawner({ socket: join(paths.runtimeDir, 'spawner.sock') });
  await mkdir(paths.dataRoot, { recursive: true, mode: 0o700 });
  if (await hideHybridV2Controllers(paths.runtimeDir)) logger.debug('hid cgroup2 controllers from crun in the engine mount namespace');
  const storage = await chooseStorageDriver(join(paths.dataRoot, 'tmp'), (await findExecutable('fuse-overlayfs', process.env)) ?? undefined);
  const [host, id] = await Promise.all([hostFacts(), engineId(paths.dataRoot)]);
  const kernel = await readKernelFacts(host);
  const registrySettings = await loadRegistrySettings(paths.configDir);
  const cg = report.cgroups;
  const limits = {
    memory: cg.features.memoryLimit,
    swap: cg.features.swapLimit,
    cpuCfsPeriod: cg.features.cpuCfsPeriod,
    cpuCfsQuota: cg.features.cpuCfsQuota,
    cpuShares: cg.features.cpuShares,
    cpuSet: cg.features.cpuSet,
    pids: cg.features.pidsLimit,
    oomKillDisable: cg.features.oomKillDisable,
  };
  const runtime = report.runtime;
  const runtimes: EngineFacts['runtimes'] = {};
  if (runtime) runtimes[runtime.name] = { path: runtime.path, version: runtime.version };
  const facts: EngineFacts = {
    engineVersion: BURROW_VERSION,
    engineId: id,
    ...host,
    dockerRootDir: paths.dataRoot,
    storageDriver: storage.name,
    driverStatus: storage.driverStatus,
    cgroupDriver: cg.driver,
    cgroupVersion: cg.mode === 'v2' ? '2' : '1',
    limits,
    runtimes,
    defaultRuntime: runtime?.name ?? '',
    initBinary: report.catatonit ?? '',
    // Every container not run --privileged or with seccomp=unconfined gets translate/seccomp-default.ts.
    seccompProfile: 'builtin',
    warnings: limitWarnings(limits),
    debug: opts.debug,
    registry: registrySettings,
  };
  const volumes = await EngineVolumeService.open(join(paths.dataRoot, 'volumes'), logger);
  // The hub netns and its uplink start on a container's first network use, not here.
  const networks = new EngineNetworkService(
    await NetworkManager.open({
      dataRoot: paths.dataRoot,
      runtimeDir: paths.runtimeDir,
      engineId: id,
      ...(opts.defaultBridgeIPv6 ? { defaultBridgeIPv6: opts.defaultBridgeIPv6 } : {}),
      ...(report.network ? { uplink: { kind: report.network.name, path: report.network.path, ...(report.network.ipv6Path ? { ipv6Path: report.network.ipv6Path } : {}) } } : {}),
    }),
  );
  const imageStore = await ImageStore.open(join(paths.dataRoot, 'images'));
  const registryAccess = new RegistryAccess(registrySettings);
  const images = new EngineImageService(
    imageStore,
    new Puller(imageStore, hostPlatform(), 3, registryAccess, logger),
    storage.name,
    new ImageTransfer({
      store: imageStore,
      access: registryAccess,
      host: hostPlatform(),
      // Called only once the daemon serves, after `containers` below exists.
      usedImages: async () => new Set((await containers.list({ all: true })).map((c) => c.record.imageId)),
    }),
  );
  images.setImageUsers((imageId) => containerStore.all().filter((r) => r.imageId === imageId).map((r) => ({ id: r.id, running: r.state.status === 'running' })));
  const events = new EventBus();
  wireResourceEvents(events, networks.manager, volumes);
  const containerStore = await ContainerStore.open(join(paths.dataRoot, 'containers'));
  const runtimeBinary = runtime?.path ? await pinnedRuntimeBinary(runtime.path, paths.runtimeDir) : 'crun';
  const runtimeDriver = new RuntimeDriver({ conmon: report.monitor ?? 'conmon', runtime: runtimeBinary, runtimeDir: paths.runtimeDir });
  // One lock and state machine per container, shared by the lifecycle, exec, resources and tools.
  const gate = new ContainerGate(containerStore);
  const resources = new ContainerResources({
    store: containerStore, gate, report, runtime: runtimeDriver.execCommand, events, memTotal: host.memTotal, ncpu: host.ncpu, logger,
    processesGone: (id) => runtimeDriver.processesGone(id),
    // Called only once the daemon serves requests, after `containers` exists.
    pausedChanged: (rec) => containers.health.update(rec),
  });
  // The container tools' borrows of a rootfs, which a removal waits for.
  const leases = new RootfsLeases({
    images: imageStore,
    dir: (id) => containerStore.dir(id),
    // Called only once a borrow is given back, after `containers` exists.
    inUse: (id) => containers.rootfsInUse(id),
    underLock: (id, work) => gate.locks.run(id, work),
  });
  const containers = new EngineContainerService({
    store: containerStore,
    gate,
    images: imageStore,
    runtime: runtimeDriver,
    thawAfterSignal: (rec) => resources.thawAfterSignal(rec),
    limitWarnings: (hc) => resources.limitWarnings(hc),
    rootfsIdle: (id) => leases.idle(id),
    volumes,
    networks: networks.manager,
    storageDriver: storage.name,
    report,
    kernel,
    logger,
    events,
  });
  await containers.init();
  // Containers that kept running across a daemon restart get their published ports and DNS back.
  await networks.manager.restore().catch((err: unknown) => logger.warn({ err }, 'restoring container networks failed'));
  networks.setContainerLookup({
    lookup: async (ref) => {
      try {
        const rec = containerStore.find(ref);
        return { id: rec.id, name: rec.name.slice(1), running: rec.state.status === 'running' };
      } catch {
        return undefined;
      }
    },
    // No `references`: dockerd's prune and rm remove a network only stopped containers name (their start then fails).
    ...networkHooks(containerStore, networks.manager, (id, work) => gate.locks.run(id, work)),
  });
  const counts = (): EngineCounts => {
    const c = containers.counts();
    const paused = containerStore.all().filter(isPaused).length;
    return { containers: c.total, running: c.running - paused, paused, stopped: c.total - c.running, images: imageStore.count(), eventListeners: events.listenerCount, fds: 0 };
  };
  const containerTools = new EngineContainerTools({
    store: containerStore,
    gate,
    images: imageStore,
    leases,
    logger,
    volumes,
    whileFrozen: (rec, work) => resources.whileFrozen(rec, work),
    events,
  });
  const diskUsage = new EngineDiskUsage({
    store: imageStore,
    images,
    containers,
    volumes,
    buildCache: async () => (await services.build?.diskUsage()) ?? [],
  });
  const services: EngineServices = {
    exec: containers.exec,
    events: new EngineEventService(events),
    system: {
      info: async () => ({ facts, counts: counts(), at: new Date() }),
      version: () => facts,
      diskUsage: (kinds) => diskUsage.report(kinds),
    },
    images: withImageEvents(images, events),
    containers,
    volumes,
    networks,
    resources,
    containerTools,
  };
  services.build = await EngineBuildService.open({
    store: imageStore,
    images: services.images,
    containers,
    containersRoot: join(paths.dataRoot, 'containers'),
    storageDriver: storage.name,
    host: hostPlatform(),
    cacheFile: join(paths.dataRoot, 'build-cache.json'),
    usedImages: async () => new Set((await containers.list({ all: true })).map((c) => c.record.imageId)),
    tagged: (imageId, ref) => tagEvent(events, imageId, ref),
  });
  // BuildKit (docker buildx's default driver) where buildkitd is installed; it starts on first use.
  const buildkit = await EngineBuildkit.open({
    dataRoot: paths.dataRoot,
    runtimeDir: paths.runtimeDir,
    storageDriver: storage.name,
    store: imageStore,
    // The unwrapped loader: a landing is no `docker load` (no `load` event); its names are `tag` events, as dockerd's moby exporter sends.
    load: (body, quiet, emit) => images.load(body, quiet, emit),
    tagged: (imageId, names) => names.forEach((n) => tagEvent(events, imageId, n)),
    logger,
    env: process.env,
  });
  if (buildkit) {
    services.buildkit = buildkit;
    // `docker info` says which snapshotter BuildKit's steps use, under the storage driver's lines.
    facts.driverStatus = [...facts.driverStatus, ['BuildKit snapshotter', buildkit.snapshotter]];
    if (services.build) services.build = withBuildkitCache(services.build, buildkit.cache);
  }
  return {
    facts,
    services,
    imageStore,
    volumes,
    networks,
    shutdown: async () => {
      containers.shutdown();
      await buildkit?.shutdown().catch((err: unknown) => logger.warn({ err }, 'stopping buildkitd failed'));
      await networks.manager.shutdown().catch((err: unknown) => logger.warn({ err }, 'network shutdown failed'));
      stopSpawner();
      // Running containers keep the namespace holder (and their mounts) alive for the next daemon.
      return containers.counts().running === 0;
    },
  };
}
