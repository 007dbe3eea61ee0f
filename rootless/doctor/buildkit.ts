/**
 * BuildKit (`docker buildx build`, Compose builds): optional, the classic builder works without it.
 * It needs buildkitd and runc (its OCI worker runs steps with `run --keep`, which crun lacks); the
 * snapshotter follows the storage driver.
 */
import { findBuildkitd, snapshotterFor } from '../buildkit/find.js';
import { aptInstall, scriptCommand } from './fixes.js';
import { findExecutable } from './paths.js';
import type { CheckContext, DoctorCheck, StorageDriver } from './types.js';

export async function checkBuildkit(ctx: CheckContext, storage: StorageDriver | null): Promise<DoctorCheck> {
  const [buildkitd, runc] = await Promise.all([findBuildkitd(ctx.env), findExecutable('runc', ctx.env)]);
  const base = { id: 'buildkit', essential: false } as const;
  if (!buildkitd) {
    return { ...base, status: 'degraded', detail: 'buildkitd not installed: docker buildx build and Compose builds need it; the classic builder (DOCKER_BUILDKIT=0) works', fix: scriptCommand('install-buildkit.sh') };
  }
  if (!runc) return { ...base, status: 'degraded', detail: `${buildkitd} found, but BuildKit runs its steps with runc, which is not on PATH`, fix: aptInstall('runc') };
  const snapshotter = snapshotterFor(storage === 'overlay' ? 'overlay2' : (storage ?? ''), ctx.env);
  return { ...base, status: 'ok', detail: `${buildkitd}; steps run with ${runc}; snapshotter ${snapshotter}` };
}
