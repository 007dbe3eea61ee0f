import { runTool } from '../exec.js';
import { findExecutable } from './paths.js';
import { aptInstall, setupHostCommand } from './fixes.js';
import { PROBE_TIMEOUT_MS, type CheckContext, type DoctorCheck } from './types.js';

const UNSHARE_ARGS = ['--user', '--map-auto', '--map-root-user', '--mount'];

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}

/**
 * Really create the namespace the engine lives in: this is the only way to learn that the
 * kernel allows unprivileged user namespaces and that newuidmap accepts our subid ranges.
 */
export async function checkUserNamespace(ctx: CheckContext): Promise<DoctorCheck> {
  const [unshare, trueBin] = await Promise.all([findExecutable('unshare', ctx.env), findExecutable('true', ctx.env)]);
  const command = `unshare ${UNSHARE_ARGS.join(' ')} true`;
  if (!unshare) {
    return { id: 'userns', status: 'missing', detail: 'unshare not found on PATH', fix: aptInstall('util-linux'), essential: true };
  }
  const result = await runTool(unshare, [...UNSHARE_ARGS, trueBin ?? '/bin/true'], {
    env: ctx.env,
    extendEnv: false,
    allowFailure: true,
    timeoutMs: PROBE_TIMEOUT_MS,
  });
  if (result.exitCode === 0) {
    return { id: 'userns', status: 'ok', detail: `${command} works`, essential: true };
  }
  const reason = firstLine(result.stderr) || `exit code ${result.exitCode}`;
  return {
    id: 'userns',
    status: 'missing',
    detail: `${command} failed: ${reason}`,
    fix: setupHostCommand(ctx.user.name),
    essential: true,
  };
}
