import { rm } from 'node:fs/promises';
import { runTool } from '../../rootless/exec.js';

/** Image layers and volumes hold files owned by subuids (e.g. a 0700 /home/nobody): only a mapped root may delete them. */
export async function removeTree(dir: string): Promise<void> {
  const ok = await rm(dir, { recursive: true, force: true }).then(
    () => true,
    () => false,
  );
  if (!ok) await runTool('unshare', ['--user', '--map-auto', '--map-root-user', 'rm', '-rf', dir], { allowFailure: true });
}
