import { stat } from 'node:fs/promises';
import type { CheckContext, DoctorCheck } from './types.js';

export interface RuntimeDirResult {
  runtimeDir: string;
  check: DoctorCheck;
}

export function fallbackRuntimeDir(uid: number): string {
  return `/tmp/burrow-${uid}`;
}

/** Sockets and state go to XDG_RUNTIME_DIR; anything not private to the user is not safe for them. */
export async function checkRuntimeDir(ctx: CheckContext): Promise<RuntimeDirResult> {
  const { name, uid } = ctx.user;
  const fallback = fallbackRuntimeDir(uid);
  const fix = `sudo install -d -m 0700 -o ${name} -g ${ctx.user.gid} /run/user/${uid} && export XDG_RUNTIME_DIR=/run/user/${uid}`;
  const dir = ctx.env.XDG_RUNTIME_DIR;
  if (!dir) {
    return {
      runtimeDir: fallback,
      check: { id: 'runtime-dir', status: 'degraded', detail: `XDG_RUNTIME_DIR unset: Burrow falls back to ${fallback}`, fix, essential: false },
    };
  }
  const st = await stat(dir).catch(() => null);
  const problem = !st ? 'does not exist' : !st.isDirectory() ? 'is not a directory' : st.uid !== uid ? `is owned by uid ${st.uid}` : null;
  if (problem) {
    return {
      runtimeDir: fallback,
      check: { id: 'runtime-dir', status: 'degraded', detail: `XDG_RUNTIME_DIR=${dir} ${problem}: Burrow falls back to ${fallback}`, fix, essential: false },
    };
  }
  return { runtimeDir: dir, check: { id: 'runtime-dir', status: 'ok', detail: `XDG_RUNTIME_DIR=${dir}`, essential: false } };
}
