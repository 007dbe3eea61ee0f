import { readFile } from 'node:fs/promises';

/** A block of subordinate ids: start, start+1, …, start+count-1. */
export interface SubIdRange {
  start: number;
  count: number;
}

/** One line of /etc/subuid or /etc/subgid; owner is a user name or a numeric uid. */
export interface SubIdEntry extends SubIdRange {
  owner: string;
}

export interface SubIdUser {
  name: string;
  uid: number;
}

export interface SubIds {
  subuid: SubIdRange[];
  subgid: SubIdRange[];
}

export const SUBUID_FILE = '/etc/subuid';
export const SUBGID_FILE = '/etc/subgid';

const DECIMAL = /^\d+$/;

/**
 * Every well-formed entry of a subuid/subgid file. Malformed lines are skipped rather than
 * rejected, as shadow's own readers do, so one bad line cannot lock every user out.
 */
export function parseSubIdEntries(text: string): SubIdEntry[] {
  const entries: SubIdEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(':');
    if (fields.length !== 3) continue;
    const [owner, start, count] = fields;
    if (!owner || !DECIMAL.test(start) || !DECIMAL.test(count)) continue;
    const entry = { owner, start: Number(start), count: Number(count) };
    if (!Number.isSafeInteger(entry.start) || !Number.isSafeInteger(entry.count) || entry.count === 0) continue;
    entries.push(entry);
  }
  return entries;
}

/** The ranges that belong to a user, matched by name or by numeric uid (newuidmap accepts both). */
export function rangesFor(entries: readonly SubIdEntry[], user: SubIdUser): SubIdRange[] {
  return entries
    .filter((e) => e.owner === user.name || (DECIMAL.test(e.owner) && Number(e.owner) === user.uid))
    .map(({ start, count }) => ({ start, count }));
}

export function parseSubIds(text: string, user: SubIdUser): SubIdRange[] {
  return rangesFor(parseSubIdEntries(text), user);
}

/** Total number of ids in the ranges; a container needs 65536 to map every uid a Docker image may use. */
export function subIdCount(ranges: readonly SubIdRange[]): number {
  return ranges.reduce((sum, r) => sum + r.count, 0);
}

/** A range of `count` ids above every existing entry and at least `min`, so it collides with nobody. */
export function suggestFreeRange(entries: readonly SubIdEntry[], count = 65536, min = 100000): SubIdRange {
  const start = entries.reduce((top, e) => Math.max(top, e.start + e.count), min);
  return { start, count };
}

export function formatRange(r: SubIdRange): string {
  return `${r.start}-${r.start + r.count - 1}`;
}

async function readOptional(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

export interface SubIdFiles {
  subuid?: string;
  subgid?: string;
}

/** All entries of both files; a missing file reads as empty (no user has ranges yet). */
export async function readSubIdEntries(files: SubIdFiles = {}): Promise<{ subuid: SubIdEntry[]; subgid: SubIdEntry[] }> {
  const [uidText, gidText] = await Promise.all([
    readOptional(files.subuid ?? SUBUID_FILE),
    readOptional(files.subgid ?? SUBGID_FILE),
  ]);
  return { subuid: parseSubIdEntries(uidText), subgid: parseSubIdEntries(gidText) };
}

export async function readSubIds(user: SubIdUser, files: SubIdFiles = {}): Promise<SubIds> {
  const all = await readSubIdEntries(files);
  return { subuid: rangesFor(all.subuid, user), subgid: rangesFor(all.subgid, user) };
}
