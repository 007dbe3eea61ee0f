/** Child processes for the bench: CLI runs with byte-counted output, and /proc scans for RSS. */
import { spawn } from 'node:child_process';
import { readdir, readFile, readlink } from 'node:fs/promises';

export interface CmdResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Bytes written to stdout (also when not captured). */
  stdoutBytes: number;
}

export interface CmdOptions {
  env?: NodeJS.ProcessEnv;
  /** Keep stdout in memory (default true); false only counts it. */
  capture?: boolean;
  timeoutMs?: number;
  cwd?: string;
  input?: string;
}

export function runCmd(cmd: string, args: readonly string[], opts: CmdOptions = {}): Promise<CmdResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...args], {
      env: { ...process.env, ...opts.env },
      cwd: opts.cwd,
      stdio: [opts.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    const capture = opts.capture ?? true;
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let stdoutBytes = 0;
    child.stdout?.on('data', (b: Buffer) => {
      stdoutBytes += b.length;
      if (capture) out.push(b);
    });
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 300_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), stdoutBytes });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Like runCmd, but a non-zero exit becomes an Error carrying the tool's stderr. */
export async function mustRun(cmd: string, args: readonly string[], opts: CmdOptions = {}): Promise<CmdResult> {
  const r = await runCmd(cmd, args, opts);
  if (r.code !== 0) {
    const why = (r.stderr.trim() || r.stdout.trim() || `exit ${r.code ?? r.signal}`).split('\n').slice(-3).join(' | ');
    throw new Error(`${[cmd, ...args].slice(0, 4).join(' ')}: ${why}`);
  }
  return r;
}

export interface ProcInfo {
  pid: number;
  ppid: number;
  comm: string;
  rssKiB: number;
  userns: string;
}

/** Every process we can see: pid, parent, command name, RSS and user namespace. */
export async function listProcesses(): Promise<ProcInfo[]> {
  const out: ProcInfo[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat.slice(close + 2).split(' ');
      const ppid = Number(fields[1]);
      const status = await readFile(`/proc/${name}/status`, 'utf8');
      const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
      const userns = await readlink(`/proc/${name}/ns/user`).catch(() => '');
      out.push({ pid: Number(name), ppid, comm, rssKiB: m ? Number(m[1]) : 0, userns });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** The user namespace of a process, as `user:[inode]`. */
export async function usernsOf(pid: number): Promise<string> {
  return readlink(`/proc/${pid}/ns/user`);
}

/**
 * An engine's processes: everything under its launcher pids plus everything living in its user
 * namespaces (monitors that daemonised and were reparented away from the daemon).
 */
export function engineProcesses(all: readonly ProcInfo[], rootPids: readonly number[], usernses: readonly string[]): ProcInfo[] {
  const byParent = new Map<number, ProcInfo[]>();
  for (const p of all) {
    const list = byParent.get(p.ppid) ?? [];
    list.push(p);
    byParent.set(p.ppid, list);
  }
  const picked = new Map<number, ProcInfo>();
  const stack = all.filter((p) => rootPids.includes(p.pid) || (p.userns !== '' && usernses.includes(p.userns)));
  while (stack.length > 0) {
    const p = stack.pop();
    if (p === undefined || picked.has(p.pid)) continue;
    picked.set(p.pid, p);
    for (const c of byParent.get(p.pid) ?? []) stack.push(c);
  }
  return [...picked.values()];
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function waitGone(pids: readonly number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(pidAlive)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/** SIGTERM, then SIGKILL after `graceMs`, for processes the bench started (by pid). */
export async function terminate(pids: readonly number[], graceMs = 5000): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // gone
    }
  }
  if (await waitGone(pids, graceMs)) return;
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  await waitGone(pids, 2000);
}
