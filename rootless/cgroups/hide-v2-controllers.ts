import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runTool } from '../exec.js';

const hybridControllers = '/sys/fs/cgroup/unified/cgroup.controllers';

/**
 * crun 1.8 refuses to run on a hybrid host while the cgroup2 mount lists controllers. Inside the
 * engine's private mount namespace (never on the host) an empty file is bound over that one file.
 * Idempotent: once the bind is there the file reads empty.
 */
export async function hideHybridV2Controllers(runtimeDir: string): Promise<boolean> {
  const listed = await readFile(hybridControllers, 'utf8').catch(() => '');
  if (listed.trim() === '') return false;
  const empty = join(runtimeDir, 'empty-cgroup-controllers');
  await writeFile(empty, '');
  await runTool('mount', ['--bind', empty, hybridControllers]);
  return true;
}
