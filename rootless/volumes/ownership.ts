import { runTool } from '../exec.js';
import { invalidParameter } from '../../translate/errors.js';

/**
 * The `:U` mount option: hand a tree to a container user. Runs inside the engine's user namespace,
 * so uid/gid are container ids and land in the user's subuid range on the host (0 → the user).
 */
export async function chownTree(path: string, uid: number, gid: number): Promise<void> {
  if (!Number.isInteger(uid) || uid < 0 || !Number.isInteger(gid) || gid < 0) throw invalidParameter(`invalid owner ${uid}:${gid}`);
  await runTool('chown', ['-R', '--no-dereference', `${uid}:${gid}`, '--', path]);
}
