import { runTool } from '../exec.js';
import { findExecutable, findOffPath } from './paths.js';
import { aptInstall } from './fixes.js';
import { PROBE_TIMEOUT_MS, type CheckContext, type DoctorCheck, type RuntimeFact } from './types.js';

/** crun first: 2-3x faster than runc for run and exec on this class of host. */
const RUNTIMES = ['crun', 'runc'] as const;

export interface RuntimeResult {
  runtime: RuntimeFact | null;
  check: DoctorCheck;
}

/** "crun version 1.8.1" / "runc version 1.1.5+ds1" → the version word. */
export function parseRuntimeVersion(stdout: string): string | undefined {
  return /version\s+(\S+)/.exec(stdout)?.[1];
}

async function probe(name: RuntimeFact['name'], ctx: CheckContext): Promise<RuntimeFact | string> {
  const path = await findExecutable(name, ctx.env);
  if (!path) {
    const offPath = await findOffPath(name, ctx.env);
    return offPath ? `${name} is at ${offPath}, which is not on PATH` : `${name} not found on PATH`;
  }
  // Running --version also proves the binary executes (right arch, libraries present).
  const r = await runTool(path, ['--version'], { env: ctx.env, extendEnv: false, allowFailure: true, timeoutMs: PROBE_TIMEOUT_MS });
  const version = parseRuntimeVersion(r.stdout);
  if (r.exitCode !== 0 || !version) return `${path} --version failed: ${r.stderr.trim().split('\n')[0] || `exit code ${r.exitCode}`}`;
  return { name, path, version };
}

export async function checkRuntime(ctx: CheckContext): Promise<RuntimeResult> {
  const problems: string[] = [];
  let runtime: RuntimeFact | null = null;
  // In order, so runc is only executed when crun is unusable.
  for (const name of RUNTIMES) {
    const r = await probe(name, ctx);
    if (typeof r !== 'string') {
      runtime = r;
      break;
    }
    problems.push(r);
  }
  if (!runtime) {
    return {
      runtime,
      check: { id: 'runtime', status: 'missing', detail: `no OCI runtime: ${problems.join('; ')}`, fix: aptInstall('crun'), essential: true },
    };
  }
  const detail = `${runtime.name} ${runtime.version} (${runtime.path})`;
  if (runtime.name !== 'crun') {
    return {
      runtime,
      check: { id: 'runtime', status: 'degraded', detail: `${detail}; crun is preferred (faster)`, fix: aptInstall('crun'), essential: true },
    };
  }
  return { runtime, check: { id: 'runtime', status: 'ok', detail, essential: true } };
}
