/**
 * copyUIDGID: the owner dockerd gives extracted files, the container's configured user looked up
 * in the container's own /etc/passwd and /etc/group (read in scope, never the host's).
 */
import { readFile } from 'node:fs/promises';
import { invalidParameter } from '../../translate/errors.js';
import { resolveInScope } from './scoped-path.js';

async function table(root: string, path: string): Promise<string[][]> {
  const text = await readFile(await resolveInScope(root, path), 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => l.split(':'));
}

/** undefined when the container has no User: the archive's own owners are kept, as dockerd does. */
export async function containerOwner(root: string, user: string | undefined): Promise<{ uid: number; gid: number } | undefined> {
  if (!user) return undefined;
  const [u, g] = user.split(':', 2) as [string, string | undefined];
  const passwd = await table(root, '/etc/passwd');
  const entry = passwd.find((p) => p[0] === u) ?? (/^\d+$/.test(u) ? passwd.find((p) => p[2] === u) : undefined);
  let uid: number;
  let gid: number;
  if (entry) {
    uid = Number(entry[2]);
    gid = Number(entry[3]);
  } else if (/^\d+$/.test(u)) {
    uid = Number(u);
    gid = uid;
  } else {
    throw invalidParameter(`unable to find user ${u}: no matching entries in passwd file`);
  }
  if (g !== undefined && g !== '') {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const group = (await table(root, '/etc/group')).find((e) => e[0] === g);
      if (!group) throw invalidParameter(`unable to find group ${g}: no matching entries in group file`);
      gid = Number(group[2]);
    }
  }
  return { uid, gid };
}
