import { userInfo } from 'node:os';
import type { DoctorCheck, DoctorUser } from './types.js';
import { setupHostCommand } from './fixes.js';

export function currentUser(env: NodeJS.ProcessEnv): DoctorUser {
  const uid = process.getuid?.() ?? -1;
  const gid = process.getgid?.() ?? -1;
  try {
    return { name: userInfo().username, uid, gid };
  } catch {
    // No passwd entry (e.g. an arbitrary uid in a container): newuidmap will refuse too,
    // but the report should still say who we are.
    return { name: env.USER ?? env.LOGNAME ?? String(uid), uid, gid };
  }
}

/** Root gets a refusal, not a degraded mode: running rootful would defeat the engine's point. */
export function checkNotRoot(user: DoctorUser, env: NodeJS.ProcessEnv): DoctorCheck {
  if (user.uid !== 0) {
    return { id: 'user', status: 'ok', detail: `${user.name} (uid ${user.uid}), not root`, essential: true };
  }
  const target = env.SUDO_USER && env.SUDO_USER !== 'root' ? env.SUDO_USER : '<user>';
  return {
    id: 'user',
    status: 'missing',
    detail: 'running as root: Burrow is the rootless engine and runs as an unprivileged user',
    fix: `${setupHostCommand(target)}, then run burrow as ${target}`,
    essential: true,
  };
}
