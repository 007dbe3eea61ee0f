/**
 * A container's processes: their host pids (from its cgroup, else its init's pid namespace) and
 * `docker top`'s table, from ps narrowed to those pids as dockerd does.
 */
import { readdir, readlink } from 'node:fs/promises';
import type { ContainerRecord } from '../../translate/container-record.js';
import { internal, invalidParameter } from '../../translate/errors.js';
import { readCgroupFile, type CgroupDirs } from '../cgroups/files.js';
import { runTool } from '../exec.js';

export interface TopResult {
  /** ps's column titles. */
  titles: string[];
  /** One row per process of the container, a field per title (the last keeps its spaces). */
  processes: string[][];
}

/** Host pids of every process in the container: its cgroup's list, else the pid namespace of its init. */
export async function containerPids(rec: ContainerRecord, cg: CgroupDirs | undefined): Promise<number[]> {
  const listed = await readCgroupFile(cg?.dirs.pids ?? cg?.dirs.memory ?? cg?.dirs.freezer, 'cgroup.procs');
  if (listed !== undefined) return listed.split('\n').filter(Boolean).map(Number);
  const ns = await readlink(`/proc/${rec.state.pid}/ns/pid`).catch(() => undefined);
  if (!ns) return rec.state.pid > 0 ? [rec.state.pid] : [];
  const out: number[] = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    // Other users' processes refuse the readlink: they are not ours anyway.
    if ((await readlink(`/proc/${entry}/ns/pid`).catch(() => undefined)) === ns) out.push(Number(entry));
  }
  return out;
}

/** `docker top`: ps with the client's arguments (`-ef` by default), only the container's rows. */
export async function topProcesses(rec: ContainerRecord, pids: number[], psArgs: string | undefined): Promise<TopResult> {
  const args = (psArgs?.trim() || '-ef').split(/\s+/);
  if (args.some((a) => a.includes('\0'))) throw invalidParameter('invalid ps_args');
  // Like dockerd: narrow ps to our pids with -q, and retry without it for options (f) that refuse -q.
  let r = await runTool('ps', [...args, '-q', pids.join(',') || String(rec.state.pid)], { allowFailure: true });
  if (r.exitCode !== 0) r = await runTool('ps', args, { allowFailure: true });
  if (r.exitCode !== 0) throw internal(`Error running ps: ${r.stderr.trim() || `exit code ${r.exitCode}`}`);
  return parsePsOutput(r.stdout, new Set(pids));
}

/** dockerd's parsePSOutput: the PID column by title, the last column keeps its spaces. */
export function parsePsOutput(output: string, pids: ReadonlySet<number>): TopResult {
  const lines = output.split('\n').filter((l) => l.trim() !== '');
  const titles = (lines[0] ?? '').trim().split(/\s+/);
  const pidIndex = titles.indexOf('PID');
  if (pidIndex < 0) throw internal("Couldn't find PID field in ps output");
  const processes: string[][] = [];
  for (const line of lines.slice(1)) {
    const fields = line.trim().split(/\s+/);
    const pid = Number(fields[pidIndex]);
    if (!pids.has(pid)) continue;
    const head = fields.slice(0, titles.length - 1);
    processes.push([...head, fields.slice(titles.length - 1).join(' ')]);
  }
  return { titles, processes };
}
