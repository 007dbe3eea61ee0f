import { formatRange, readSubIdEntries, rangesFor, subIdCount, suggestFreeRange, type SubIdFiles, type SubIdRange } from '../subid.js';
import type { DoctorCheck, DoctorUser } from './types.js';

/** 65536 ids map uid 0-65535 in the container, which is what images (nobody = 65534) assume. */
const WANTED = 65536;

export interface SubIdResult {
  subuid: SubIdRange[];
  subgid: SubIdRange[];
  checks: DoctorCheck[];
}

function rangeCheck(kind: 'subuid' | 'subgid', ranges: SubIdRange[], fix: string): DoctorCheck {
  const total = subIdCount(ranges);
  const listed = ranges.map(formatRange).join(', ');
  if (total === 0) {
    return { id: kind, status: 'missing', detail: `no ${kind} range in /etc/${kind}`, fix, essential: true };
  }
  if (total < WANTED) {
    return {
      id: kind,
      status: 'degraded',
      detail: `${listed} (${total} ids; images using ids >= ${total + 1} will fail)`,
      fix,
      essential: true,
    };
  }
  return { id: kind, status: 'ok', detail: `${listed} (${total} ids)`, essential: true };
}

export async function checkSubIds(user: DoctorUser, files: SubIdFiles = {}): Promise<SubIdResult> {
  const all = await readSubIdEntries(files);
  const subuid = rangesFor(all.subuid, user);
  const subgid = rangesFor(all.subgid, user);
  // Suggest a range above every existing one, so following the advice cannot overlap another user.
  const uidFix = `sudo usermod --add-subuids ${formatRange(suggestFreeRange(all.subuid, WANTED))} ${user.name}`;
  const gidFix = `sudo usermod --add-subgids ${formatRange(suggestFreeRange(all.subgid, WANTED))} ${user.name}`;
  return {
    subuid,
    subgid,
    checks: [rangeCheck('subuid', subuid, uidFix), rangeCheck('subgid', subgid, gidFix)],
  };
}
