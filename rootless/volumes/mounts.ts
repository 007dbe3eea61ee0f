import { runTool } from '../exec.js';
import { readMountInfo } from '../mountinfo.js';
import type { VolumeBacking } from '../../translate/volume-opts.js';

/** Mount points in the engine's mount namespace at or below `dir` (a real path). */
export async function mountPointsUnder(dir: string): Promise<string[]> {
  return (await readMountInfo()).map((m) => m.target).filter((path) => path === dir || path.startsWith(`${dir}/`));
}

export async function isMountPoint(path: string): Promise<boolean> {
  return (await mountPointsUnder(path)).includes(path);
}

/**
 * Mounts a tmpfs or binds a host directory onto a volume's _data. The mount lives in the namespace
 * holder's mount namespace, so it outlasts a daemon restart and is shared by every container started later.
 */
export async function mountBacking(backing: VolumeBacking, target: string): Promise<void> {
  if (backing.kind === 'tmpfs') {
    await runTool('mount', ['-t', 'tmpfs', ...(backing.options.length > 0 ? ['-o', backing.options.join(',')] : []), 'tmpfs', target]);
  } else if (backing.kind === 'bind') {
    await runTool('mount', [backing.recursive ? '--rbind' : '--bind', '--', backing.device, target]);
  }
}

/** Unmounts everything at or below `dir`, deepest first; throws if anything is still mounted after. */
export async function unmountAll(dir: string): Promise<void> {
  const points = (await mountPointsUnder(dir)).sort((a, b) => b.length - a.length);
  for (const p of points) {
    const r = await runTool('umount', ['--', p], { allowFailure: true });
    // A container started before may still hold it in its own namespace; detaching ours is enough.
    if (r.exitCode !== 0) await runTool('umount', ['-l', '--', p], { allowFailure: true });
  }
  const left = await mountPointsUnder(dir);
  if (left.length > 0) throw new Error(`could not unmount ${left.join(', ')}`);
}
