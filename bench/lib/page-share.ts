/**
 * The memory a set of processes holds with every physical page counted once, whoever else maps it.
 *
 * PSS divides a shared page among all the processes on the machine that map it, so an engine's PSS
 * depends on what else runs: node's ~40 MiB of code is shared with this bench runner (also node),
 * which halved that part of Burrow's PSS and of no other engine's. Here a page is charged to the
 * engine once, split among the engine's own processes that map it: what the engine would hold if it
 * ran alone. The frame numbers come from /proc/PID/pagemap and are only shown to root.
 */
import { open, readFile } from 'node:fs/promises';

const PAGE = 4096;

/** Address ranges of a process's mappings that have resident pages (from smaps). */
async function residentRanges(pid: number): Promise<[number, number][]> {
  const text = await readFile(`/proc/${pid}/smaps`, 'utf8').catch(() => '');
  const out: [number, number][] = [];
  let range: [number, number] | undefined;
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (m) {
      range = [parseInt(m[1] as string, 16), parseInt(m[2] as string, 16)];
      continue;
    }
    if (range && line.startsWith('Rss:') && !/^Rss:\s+0 kB/.test(line)) out.push(range);
  }
  return out;
}

/** The physical frames a process has present, or undefined when they cannot be read (not root). */
async function framesOf(pid: number): Promise<Set<number> | undefined> {
  const ranges = await residentRanges(pid);
  const fh = await open(`/proc/${pid}/pagemap`, 'r').catch(() => undefined);
  if (!fh) return new Set();
  const frames = new Set<number>();
  let hidden = false;
  try {
    for (const [start, end] of ranges) {
      const pages = (end - start) / PAGE;
      const buf = Buffer.alloc(pages * 8);
      const { bytesRead } = await fh.read(buf, 0, buf.length, (start / PAGE) * 8);
      for (let off = 0; off + 8 <= bytesRead; off += 8) {
        const hi = buf.readUInt32LE(off + 4);
        if ((hi & 0x80000000) === 0) continue; // not present
        const pfn = (hi & 0x7fffff) * 2 ** 32 + buf.readUInt32LE(off);
        if (pfn === 0) hidden = true;
        else frames.add(pfn);
      }
    }
  } catch {
    // the process exited meanwhile: what was read stands
  } finally {
    await fh.close();
  }
  return hidden && frames.size === 0 ? undefined : frames;
}

export interface PageShare {
  /** Distinct resident pages over all the processes, in KiB. */
  totalKiB: number;
  /** Each process's part: a page mapped by k of the processes counts 1/k to each. */
  byPid: Map<number, number>;
}

/** Undefined when the frame numbers are hidden (the bench does not run as root). */
export async function pageShare(pids: readonly number[]): Promise<PageShare | undefined> {
  const sets = new Map<number, Set<number>>();
  for (const pid of pids) {
    const f = await framesOf(pid);
    if (f === undefined) return undefined;
    sets.set(pid, f);
  }
  const mappers = new Map<number, number>();
  for (const f of sets.values()) for (const pfn of f) mappers.set(pfn, (mappers.get(pfn) ?? 0) + 1);
  const byPid = new Map<number, number>();
  for (const [pid, f] of sets) {
    let kib = 0;
    for (const pfn of f) kib += PAGE / 1024 / (mappers.get(pfn) as number);
    byPid.set(pid, kib);
  }
  return { totalKiB: (mappers.size * PAGE) / 1024, byPid };
}
