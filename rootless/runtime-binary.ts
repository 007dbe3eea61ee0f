/**
 * crun re-executes itself on every call (create, start, exec, kill, delete) unless its own binary is
 * read-only: against CVE-2019-5736 it bind-mounts /proc/self/exe read-only onto a temporary file and
 * execs that, or copies itself into a sealed memfd, then loads its libraries a second time. That is
 * 1.5–2 ms of CPU per call, five calls or more per `docker run --rm`. A container cannot write the
 * host's crun anyway (root's file, and the user namespace has no rights on it), so the engine makes
 * the protection once: the binary bound read-only into the engine's mount namespace, which crun
 * accepts as already cloned. The mount lives in the namespace holder's mount namespace, so a
 * daemon restart finds it; an upgraded crun (a new inode) is bound again.
 */
import { stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { runTool } from './exec.js';
import { rootLogger } from './log.js';
import { readMountInfo } from './mountinfo.js';
import { unmount } from './mounts.js';

/** The path every crun call should use: `binary` bound read-only at `<runtimeDir>/crun.ro`, or `binary` itself when that cannot be done. */
export async function pinnedRuntimeBinary(binary: string, runtimeDir: string): Promise<string> {
  if (basename(binary) !== 'crun') return binary; // runc protects itself its own way
  const pinned = join(runtimeDir, 'crun.ro');
  const log = rootLogger();
  try {
    const [source, current] = await Promise.all([stat(binary), stat(pinned).catch(() => undefined)]);
    const mount = (await readMountInfo()).findLast((m) => m.target === pinned);
    const fresh = mount && current && current.ino === source.ino && current.dev === source.dev && mount.options.includes('ro');
    if (!fresh) {
      if (mount) await unmount(pinned, true);
      await writeFile(pinned, '', { mode: 0o600 });
      await runTool('mount', ['--bind', '-o', 'ro', '--', binary, pinned]);
    }
    const bound = (await readMountInfo()).findLast((m) => m.target === pinned);
    if (!bound?.options.includes('ro')) throw new Error(`${pinned} is not read-only after the bind mount`);
    // crun 1.8 takes a read-only binary as cloned; later versions also want the variable their own
    // re-exec sets. Every tool inherits it (conmon passes it on to crun); runc ignores it on a
    // writable binary.
    process.env._LIBCONTAINER_CLONED_BINARY = '1';
    log.debug({ binary, pinned }, 'crun runs from a read-only bind mount (no re-exec per call)');
    return pinned;
  } catch (err) {
    log.info({ err, binary }, 'crun runs from its own path: it re-executes itself on every call');
    return binary;
  }
}
