/**
 * Where Burrow finds buildkitd and which snapshotter it gives it; shared by the engine and `burrow
 * doctor`, which must not load the rest.
 */
import { access, constants as fsConstants } from 'node:fs/promises';
import { join } from 'node:path';
import { findExecutable } from '../doctor/paths.js';

/** Where scripts/install-buildkit.sh installs it. */
const TOOLS_DIR = '/usr/local/lib/burrow-tools';

/** BURROW_BUILDKITD (empty: none), then the install script's directory, then PATH; null: no BuildKit here. */
export async function findBuildkitd(env: NodeJS.ProcessEnv): Promise<string | null> {
  if (env.BURROW_BUILDKITD !== undefined) return env.BURROW_BUILDKITD === '' ? null : env.BURROW_BUILDKITD;
  const installed = join(TOOLS_DIR, 'buildkitd');
  if (await access(installed, fsConstants.X_OK).then(() => true, () => false)) return installed;
  return findExecutable('buildkitd', env);
}

export type Snapshotter = 'overlayfs' | 'fuse-overlayfs' | 'native';

/**
 * buildkitd's snapshotter for Burrow's storage driver, as rootless BuildKit picks it: kernel overlay,
 * else fuse-overlayfs, else plain copies. BURROW_BUILDKIT_SNAPSHOTTER chooses one by hand.
 */
export function snapshotterFor(storageDriver: string, env: NodeJS.ProcessEnv = {}): Snapshotter {
  const chosen = env.BURROW_BUILDKIT_SNAPSHOTTER;
  if (chosen === 'overlayfs' || chosen === 'fuse-overlayfs' || chosen === 'native') return chosen;
  if (storageDriver === 'overlay2') return 'overlayfs';
  return storageDriver === 'fuse-overlayfs' ? 'fuse-overlayfs' : 'native';
}
