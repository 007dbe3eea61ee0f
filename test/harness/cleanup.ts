import { readdir, readFile, rm } from 'node:fs/promises';
import { runTool } from '../../rootless/exec.js';

/**
 * SIGKILLs the test user's processes that name a path under `dir`. A daemon stopped (or killed)
 * with endpoints still attached leaves its network hub's pasta running on purpose, for the next
 * daemon; a test that throws its daemon's dir away has no next daemon.
 */
async function killProcessesUnder(dir: string): Promise<void> {
  const uid = process.getuid?.();
  for (const entry of await readdir('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    if (uid !== undefined && !new RegExp(`^Uid:\\s+${uid}\\s`, 'm').test(status)) continue;
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (!argv.some((a) => a.startsWith(`${dir}/`) || a.includes(`=${dir}/`))) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
}

/** Image layers and volumes hold files owned by subuids (e.g. a 0700 /home/nobody): only a mapped root may delete them. */
export async function removeTree(dir: string): Promise<void> {
  await killProcessesUnder(dir);
  const ok = await rm(dir, { recursive: true, force: true }).then(
    () => true,
    () => false,
  );
  if (!ok) await runTool('unshare', ['--user', '--map-auto', '--map-root-user', 'rm', '-rf', dir], { allowFailure: true });
}
