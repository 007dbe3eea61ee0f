import { CGROUP_CONTROLLERS, cgroupRootFromEnv, detectCgroups, type CgroupFacts } from '../cgroups/detect.js';
import { setupHostCommand } from './fixes.js';
import type { CheckContext, DoctorCheck } from './types.js';

export interface CgroupResult {
  cgroups: CgroupFacts;
  check: DoctorCheck;
}

/** Not essential: without a delegation containers still run, only resource limits are refused. */
export async function checkCgroups(ctx: CheckContext): Promise<CgroupResult> {
  const cgroups = await detectCgroups({
    user: ctx.user.name,
    uid: ctx.user.uid,
    root: cgroupRootFromEnv(ctx.env),
  });
  const usable = CGROUP_CONTROLLERS.filter((c) => cgroups.controllers[c]);
  const notes = cgroups.notes.length > 0 ? `; ${cgroups.notes.join('; ')}` : '';
  if (cgroups.driver === 'none') {
    const gaps = cgroups.missing.length > 0 ? `; not writable: ${cgroups.missing.join(' ')}` : '';
    return {
      cgroups,
      check: {
        id: 'cgroups',
        status: 'degraded',
        detail: `${cgroups.mode}, nothing delegated to ${ctx.user.name}: containers run without resource limits${gaps}${notes}`,
        fix: setupHostCommand(ctx.user.name),
        essential: false,
      },
    };
  }
  const missingControllers = CGROUP_CONTROLLERS.filter((c) => !cgroups.controllers[c] && c !== 'hugetlb');
  // Notes on a working driver mean a caveat the runtime will trip over (v2: engine outside the subtree).
  const status = usable.length === 0 || cgroups.notes.length > 0 ? 'degraded' : 'ok';
  const lacking = missingControllers.length > 0 ? ` (not usable: ${missingControllers.join(' ')})` : '';
  return {
    cgroups,
    check: {
      id: 'cgroups',
      status,
      detail: `${cgroups.mode}, ${cgroups.cgroupParent} delegated: ${usable.join(' ') || 'no controllers'}${lacking}${notes}`,
      ...(usable.length === 0 ? { fix: setupHostCommand(ctx.user.name) } : {}),
      essential: false,
    },
  };
}
