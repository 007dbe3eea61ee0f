import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { release } from 'node:os';
import { join } from 'node:path';
import { runTool } from '../exec.js';
import { deviceUsable } from './devices.js';
import { findExecutable } from './paths.js';
import { aptInstall } from './fixes.js';
import { PROBE_TIMEOUT_MS, type CheckContext, type DoctorCheck, type StorageDriver } from './types.js';

export interface StorageResult {
  driver: StorageDriver | null;
  check: DoctorCheck;
}

type Probe = { ok: true } | { ok: false; reason: string };

/**
 * Mount a real overlay with userxattr inside a throwaway user+mount namespace. The mount
 * disappears with the namespace when mount(8) exits, so only the directories need cleaning.
 * Relative paths (cwd = probe dir) keep odd characters in the temp path out of the option string.
 */
async function probeKernelOverlay(ctx: CheckContext): Promise<Probe> {
  const [unshare, mount] = await Promise.all([findExecutable('unshare', ctx.env), findExecutable('mount', ctx.env)]);
  if (!unshare || !mount) return { ok: false, reason: `${unshare ? 'mount' : 'unshare'} not found on PATH` };
  let dir: string;
  try {
    dir = await mkdtemp(join(ctx.probeDir, 'burrow-doctor-'));
  } catch (err) {
    return { ok: false, reason: `cannot create a probe directory in ${ctx.probeDir}: ${(err as Error).message}` };
  }
  try {
    await Promise.all(['lower', 'upper', 'work', 'merged'].map((d) => mkdir(join(dir, d))));
    const r = await runTool(
      unshare,
      ['--user', '--map-root-user', '--mount', mount, '-t', 'overlay', 'overlay', '-o', 'lowerdir=lower,upperdir=upper,workdir=work,userxattr', 'merged'],
      { cwd: dir, env: ctx.env, extendEnv: false, allowFailure: true, timeoutMs: PROBE_TIMEOUT_MS },
    );
    if (r.exitCode === 0) return { ok: true };
    return { ok: false, reason: r.stderr.trim().split('\n')[0] || `exit code ${r.exitCode}` };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function probeFuse(ctx: CheckContext): Promise<Probe & { binary: string | null; deviceOk: boolean }> {
  const [binary, device] = await Promise.all([findExecutable('fuse-overlayfs', ctx.env), deviceUsable('/dev/fuse')]);
  if (!binary) return { ok: false, reason: 'fuse-overlayfs not found on PATH', binary, deviceOk: device.ok };
  if (!device.ok) return { ok: false, reason: device.reason, binary, deviceOk: false };
  return { ok: true, binary, deviceOk: true };
}

/**
 * What makes kernel overlay work in a user namespace: Linux 5.11 or later (with `userxattr`), and
 * an upper directory on a filesystem that keeps user xattrs (ext4, xfs, btrfs; tmpfs from 6.6).
 * `release` is the kernel's (os.release()).
 */
export function kernelOverlayFix(release: string): string {
  const [major = 0, minor = 0] = (/^(\d+)\.(\d+)/.exec(release) ?? []).slice(1).map(Number);
  if (major < 5 || (major === 5 && minor < 11)) {
    return 'sudo apt-get install linux-image-$(dpkg --print-architecture) && sudo reboot  # overlay in a user namespace needs Linux 5.11+';
  }
  return 'burrow daemon --data-root <a directory on ext4, xfs or btrfs>';
}

export async function checkStorage(ctx: CheckContext): Promise<StorageResult> {
  const [kernel, fuse] = await Promise.all([probeKernelOverlay(ctx), probeFuse(ctx)]);
  const fuseNote = fuse.ok ? `fuse-overlayfs fallback available (${fuse.binary})` : `no fuse-overlayfs fallback: ${fuse.reason}`;
  if (kernel.ok) {
    return {
      driver: 'overlay',
      check: { id: 'storage', status: 'ok', detail: `overlay (kernel, userxattr, in ${ctx.probeDir}); ${fuseNote}`, essential: true },
    };
  }
  if (fuse.ok) {
    return {
      driver: 'fuse-overlayfs',
      check: {
        id: 'storage',
        status: 'degraded',
        detail: `fuse-overlayfs (${fuse.binary}); kernel overlay with userxattr failed: ${kernel.reason}`,
        fix: kernelOverlayFix(release()),
        essential: true,
      },
    };
  }
  const fixes: string[] = [];
  if (!fuse.binary) fixes.push(aptInstall('fuse-overlayfs'));
  if (!fuse.deviceOk) fixes.push('sudo chmod 666 /dev/fuse');
  return {
    driver: null,
    check: {
      id: 'storage',
      status: 'missing',
      detail: `kernel overlay with userxattr failed: ${kernel.reason}; ${fuseNote}`,
      fix: fixes.join(' && '),
      essential: true,
    },
  };
}
