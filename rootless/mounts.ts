/**
 * The engine's own overlay mounts (container root filesystems): mount(2) and umount2(2) done by the
 * spawner, which lives in the daemon's mount namespace, instead of a mount(8) process each (a
 * process start on every container start and exit). Without the spawner, mount(8) and umount(8) run
 * as before. Failures read alike either way: ToolError with "mount: <target>: <reason>".
 */
import { liveSpawner, runTool, ToolError, type ToolResult } from './exec.js';
import { rootLogger } from './log.js';

const text = (b: Buffer): string => b.toString('utf8').trim();

export async function mountOverlay(target: string, data: string): Promise<void> {
  const helper = liveSpawner();
  if (!helper) {
    await runTool('mount', ['-t', 'overlay', 'overlay', '-o', data, target]);
    return;
  }
  rootLogger().debug({ target, data }, 'mount(2) overlay');
  const r = await helper.op({ op: 'mount', target, fstype: 'overlay', data });
  if (r.code !== 0) throw new ToolError('mount', ['-t', 'overlay', 'overlay', '-o', data, target], r.code ?? undefined, text(r.stderr), text(r.stderr));
}

/** Never throws, as `umount` with allowFailure: the caller checks the mount table afterwards. */
export async function unmount(target: string, lazy = false): Promise<ToolResult> {
  const helper = liveSpawner();
  if (!helper) return runTool('umount', [...(lazy ? ['-l'] : []), target], { allowFailure: true });
  rootLogger().debug({ target, lazy }, 'umount2(2)');
  const r = await helper.op({ op: 'umount', target, lazy }).catch((err: unknown) => ({ code: 32, stderr: Buffer.from(String(err)) }));
  return { stdout: '', stderr: text(r.stderr), exitCode: r.code ?? -1 };
}
