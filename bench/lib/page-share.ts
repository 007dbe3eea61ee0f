/**
 * The memory a set of processes holds with every physical page counted once, whoever else maps it.
 *
 * PSS divides a shared page among all the processes on the machine that map it, so an engine's PSS
 * depends on what else runs: node's ~40 MiB of code is shared with this bench runner (node too,
 * twice), which divided that part of Burrow's PSS by up to three and nothing of the anchors'. Here a page is charged to the
 * engine once, split among the engine's own processes that map it: what the engine would hold if it
 * ran alone. The frame numbers come from /proc/PID/pagemap and are only shown to root: the bench
 * drops to an unprivileged user, and its root parent answers for it on a socket (PAGE_SHARE_ENV).
 */
import { open, readFile } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';

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

/** Undefined when the frame numbers are hidden (not root). */
async function localPageShare(pids: readonly number[]): Promise<PageShare | undefined> {
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

/** Where the root parent answers (run.ts sets it for the unprivileged bench). */
export const PAGE_SHARE_ENV = 'BURROW_BENCH_PAGE_SHARE';

function pidList(line: string): number[] {
  try {
    const v: unknown = JSON.parse(line);
    return Array.isArray(v) ? v.map(Number).filter((p) => Number.isInteger(p) && p > 0) : [];
  } catch {
    return [];
  }
}

/** The root side: one JSON line of pids in, one JSON line out ({} when hidden). */
export function servePageShare(socket: string): Promise<Server> {
  const server = createServer((conn) => {
    let buf = '';
    conn.setEncoding('utf8');
    conn.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        // A line that is not a list of pids gets the "hidden" answer rather than taking this process down.
        const pids = pidList(line);
        void (pids.length ? localPageShare(pids) : Promise.resolve(undefined)).then((r) =>
          conn.write(`${JSON.stringify(r ? { totalKiB: r.totalKiB, byPid: [...r.byPid] } : {})}\n`),
        );
      }
    });
    conn.on('error', () => undefined);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, () => resolve(server));
  });
}

function remotePageShare(socket: string, pids: readonly number[]): Promise<PageShare | undefined> {
  return new Promise((resolve) => {
    const conn = createConnection(socket);
    let buf = '';
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.write(`${JSON.stringify(pids)}\n`));
    conn.on('data', (chunk: string) => {
      buf += chunk;
      if (!buf.includes('\n')) return;
      conn.end();
      const r = JSON.parse(buf) as { totalKiB?: number; byPid?: [number, number][] };
      resolve(r.totalKiB === undefined ? undefined : { totalKiB: r.totalKiB, byPid: new Map(r.byPid) });
    });
    conn.on('error', () => resolve(undefined));
  });
}

/** Undefined when the frame numbers are hidden: not root and no root parent to ask. */
export function pageShare(pids: readonly number[]): Promise<PageShare | undefined> {
  if (process.getuid?.() === 0) return localPageShare(pids);
  const socket = process.env[PAGE_SHARE_ENV];
  return socket ? remotePageShare(socket, pids) : Promise.resolve(undefined);
}
