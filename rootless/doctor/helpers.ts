import { findExecutable, findOffPath } from './paths.js';
import { aptInstall } from './fixes.js';
import type { CheckContext, DoctorCheck } from './types.js';

export interface HelperResult {
  path: string | null;
  check: DoctorCheck;
}

/** A helper binary that only has to exist (conmon, catatonit); the package name is its fix. */
export async function checkHelper(
  name: string,
  pkg: string,
  essential: boolean,
  purpose: string,
  ctx: CheckContext,
): Promise<HelperResult> {
  const path = await findExecutable(name, ctx.env);
  if (path) return { path, check: { id: name, status: 'ok', detail: path, essential } };
  const offPath = await findOffPath(name, ctx.env);
  const where = offPath ? `${name} is at ${offPath}, which is not on PATH` : `${name} not found on PATH`;
  return { path, check: { id: name, status: 'missing', detail: `${where} (${purpose})`, fix: aptInstall(pkg), essential } };
}
