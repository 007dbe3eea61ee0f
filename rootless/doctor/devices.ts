import { open } from 'node:fs/promises';

/**
 * Open the node read-write, as fuse-overlayfs and slirp4netns/pasta will. A permission-bit
 * check is not enough: inside a user namespace root-owned 0600 nodes fail anyway.
 */
export async function deviceUsable(path: string): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    const handle = await open(path, 'r+');
    await handle.close();
    return { ok: true };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { ok: false, reason: e.code === 'ENOENT' ? `${path} does not exist` : `${path}: ${e.code ?? e.message}` };
  }
}
