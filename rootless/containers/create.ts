/** POST /containers/create: the request checked as dockerd checks it, then the record, its files and mounts. */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { mergeContainerConfig, processArgs, type ImageConfig } from '../../translate/container-config.js';
import { ZERO_TIME, type ContainerRecord, type HostConfigRecord } from '../../translate/container-record.js';
import { containerErrors, invalidParameter, notFound } from '../../translate/errors.js';
import { validateHealthConfig } from '../../translate/health.js';
import { deviceCgroupRuleWarnings, fillNamespaceDefaults, resolveRuntime, validateNamespaceModes } from '../../translate/host-config-modes.js';
import { generateName, normalizeName } from '../../translate/names.js';
import { validateRestartPolicy } from '../../translate/restart-policy.js';
import type { ContainerCore } from './core.js';
import type { ContainerCreateParams } from './interface.js';
import { registerLinks } from './links.js';
import { LogKeeper } from './log-keeper.js';
import { createMountPoints, releaseMountPoints } from './mount-plan.js';
import { writeNetworkFiles } from './network-files.js';
import { checkNetworks, networkMode } from './network-plan.js';
import { runtimeFiles } from './runtime.js';
import { createTimeSpecInput } from './spec-input.js';
import { buildOciSpec } from '../../translate/oci-spec.js';
import { inheritedMountPoints } from './volumes-from.js';

/** Stands for the id a container does not have yet in the dry run's spec (its hostname, its cgroup). */
const DRY_RUN_ID = '0'.repeat(64);

export async function createContainer(core: ContainerCore, params: ContainerCreateParams): Promise<{ id: string; warnings: string[] }> {
  const { deps, store } = core;
  // The spec is the request parsed once (translate/container-spec.ts); the record keeps its HostConfig.
  const { config: request, hostConfig, networkingConfig } = params.spec;
  validateRestartPolicy(hostConfig.RestartPolicy, hostConfig.AutoRemove === true);
  LogKeeper.validate(hostConfig);
  validateHealthConfig(request.Healthcheck);
  const found = deps.images.lookup(request.Image);
  if (!found) throw notFound(`No such image: ${core.familiar(request.Image)}`);
  const imageConfig = (deps.images.config(found.id).config ?? {}) as ImageConfig;
  const config = mergeContainerConfig(request, imageConfig);
  if (processArgs(config).length === 0) throw invalidParameter('no command specified');
  const mode = hostConfig.NetworkMode ?? '';
  const netMode = networkMode(mode);
  if (deps.networks) checkNetworks(netMode, networkingConfig, deps.networks);
  else if (netMode.kind === 'networks' && netMode.primary !== 'bridge') throw notFound(`network ${mode} not found`);
  validateNamespaceModes(hostConfig, request.Hostname);
  const runtimeName = deps.report.runtime?.name ?? 'crun';
  hostConfig.Runtime = resolveRuntime(hostConfig, [runtimeName], runtimeName);
  fillNamespaceDefaults(hostConfig);
  const warnings: string[] = [...(deps.limitWarnings?.(hostConfig) ?? []), ...deviceCgroupRuleWarnings(hostConfig)];
  // The OCI spec built once here as a dry run: what would fail at start is refused now with the
  // same 400 (dockerd's create-time checks), and what it warns of comes back in Warnings.
  const dryRun = buildOciSpec(await createTimeSpecInput({ id: DRY_RUN_ID, config, hostConfig }, { report: deps.report, kernel: deps.kernel }));
  for (const w of dryRun.warnings) if (!warnings.includes(w)) warnings.push(w);
  const ports = hostConfig.PortBindings;
  if (!deps.networks && ((ports && Object.keys(ports).length > 0) || hostConfig.PublishAllPorts)) {
    warnings.push('Published ports are not supported by this engine: the container has a private network namespace with only loopback');
  }

  const name = params.name ? normalizeName(params.name) : `/${generateName((n) => store.byName(`/${n}`) !== undefined)}`;
  const taken = store.byName(name);
  if (taken) throw containerErrors.nameInUse(name, taken.id);
  registerLinks(hostConfig, name, (n) => store.byName(`/${n}`));

  const id = randomBytes(32).toString('hex');
  const dir = core.dir(id);
  await mkdir(dir, { recursive: true, mode: 0o711 });
  const paths = { root: dir, log: runtimeFiles(dir).log, hosts: join(dir, 'hosts'), hostname: join(dir, 'hostname'), resolvConf: join(dir, 'resolv.conf') };
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
    driver: deps.storageDriver,
  };
  try {
    rec.mounts = await createMounts(core, id, config, hostConfig);
    await writeNetworkFiles(paths, config.Hostname || id.slice(0, 12), mode === 'host', hostConfig.ExtraHosts ?? []);
    // Someone may have taken the name while the files were written; the check and the add are one step.
    const late = store.byName(name);
    if (late) throw containerErrors.nameInUse(name, late.id);
    await store.add(rec);
  } catch (err) {
    if (deps.volumes && rec.mounts) await releaseMountPoints(id, rec.mounts, deps.volumes, true);
    await store.remove(id).catch((e: unknown) => core.logger.warn({ err: e, id }, 'removing a failed create left files behind'));
    throw err;
  }
  core.emit(rec, 'create');
  return { id, warnings };
}

async function createMounts(core: ContainerCore, id: string, config: ContainerRecord['config'], hostConfig: HostConfigRecord): Promise<ContainerRecord['mounts']> {
  const sources = {
    binds: hostConfig.Binds,
    mounts: hostConfig.Mounts,
    configVolumes: config.Volumes,
    volumeDriver: hostConfig.VolumeDriver,
    inherited: inheritedMountPoints(hostConfig.VolumesFrom, (ref) => core.store.find(ref)),
  };
  const { volumes } = core.deps;
  if (!volumes) {
    if (sources.binds?.length || (Array.isArray(sources.mounts) && sources.mounts.length)) throw invalidParameter('this engine has no volume support');
    return [];
  }
  return createMountPoints(id, sources, volumes);
}
