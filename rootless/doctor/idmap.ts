import { stat } from 'node:fs/promises';
import { runTool } from '../exec.js';
import { findExecutable, findOffPath } from './paths.js';
import { aptInstall } from './fixes.js';
import { PROBE_TIMEOUT_MS, type CheckContext, type DoctorCheck } from './types.js';

type Privilege = 'setuid root' | 'file capabilities' | null;

/** newuidmap must write another process's uid_map with ids we do not own: setuid root or cap_setuid. */
async function privilegeOf(path: string, env: NodeJS.ProcessEnv): Promise<Privilege> {
  const st = await stat(path);
  if (st.uid === 0 && (st.mode & 0o4000) !== 0) return 'setuid root';
  // Only consulted when the setuid bit is absent, which is rare, so the extra exec is fine.
  const getcap = (await findExecutable('getcap', env)) ?? (await findOffPath('getcap', env));
  if (!getcap) return null;
  const r = await runTool(getcap, [path], { env, extendEnv: false, allowFailure: true, timeoutMs: PROBE_TIMEOUT_MS });
  return /cap_set[ug]id/.test(r.stdout) ? 'file capabilities' : null;
}

export async function checkIdMap(ctx: CheckContext): Promise<DoctorCheck> {
  const names = ['newuidmap', 'newgidmap'] as const;
  const paths = await Promise.all(names.map((n) => findExecutable(n, ctx.env)));
  const problems: string[] = [];
  const fixes: string[] = [];
  const found: string[] = [];
  for (const [i, name] of names.entries()) {
    const path = paths[i];
    if (!path) {
      problems.push(`${name} not found on PATH`);
      if (!fixes.includes(aptInstall('uidmap'))) fixes.push(aptInstall('uidmap'));
      continue;
    }
    const privilege = await privilegeOf(path, ctx.env);
    if (!privilege) {
      problems.push(`${path} is neither setuid root nor file-capable`);
      fixes.push(`sudo chmod u+s ${path}`);
      continue;
    }
    found.push(`${path} (${privilege})`);
  }
  if (problems.length > 0) {
    return { id: 'idmap', status: 'missing', detail: problems.join('; '), fix: fixes.join(' && '), essential: true };
  }
  return { id: 'idmap', status: 'ok', detail: found.join(', '), essential: true };
}
