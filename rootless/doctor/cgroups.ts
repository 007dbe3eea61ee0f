import { posix } from 'node:path';
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
  const lacking = missingControllers.length > 0 ? ` (not usable: ${missingControllers.join(' ')})` : '';
  const detail = `${cgroups.mode}, ${cgroups.cgroupParent} delegated: ${usable.join(' ') || 'no controllers'}${lacking}${notes}`;
  if (usable.length === 0) {
    return { cgroups, check: { id: 'cgroups', status: 'degraded', detail, fix: setupHostCommand(ctx.user.name), essential: false } };
  }
  // Notes on a working driver mean a caveat the runtime will trip over: on v2, the engine outside
  // the administrator-made subtree, where it may not move containers. A leaf of its own inside
  // (the subtree itself must stay free of processes once controllers are enabled below it) fixes it.
  if (cgroups.notes.length > 0) {
    const leaf = posix.join(cgroups.root, cgroups.cgroupParent, 'engine');
    const fix = `sudo mkdir -p ${leaf} && echo $$ | sudo tee ${leaf}/cgroup.procs, then start burrow from that shell`;
    return { cgroups, check: { id: 'cgroups', status: 'degraded', detail, fix, essential: false } };
  }
  return { cgroups, check: { id: 'cgroups', status: 'ok', detail, essential: false } };
}
