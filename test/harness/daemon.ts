import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'node:http';

export const repoRoot = resolve(import.meta.dirname, '..', '..');
export const burrowBin = join(repoRoot, 'bin', 'burrow');

export interface RunningDaemon {
  socket: string;
  dockerHost: string;
  runtimeDir: string;
  dataRoot: string;
  pid: number;
  /** Everything the daemon printed, for assertions and for failure reports. */
  output(): string;
  /** SIGTERM and wait: the clean shutdown path. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait: the crash path. */
  kill(): Promise<void>;
  /** Settles when the daemon process ends on its own or otherwise (a crash hook's SIGKILL). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface DaemonStartOptions {
  /** A private directory: the socket, runtime files and data root go under it. */
  dir: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

export function pingSocket(socket: string): Promise<boolean> {
  return new Promise((resolvePing) => {
    const req = request({ socketPath: socket, path: '/_ping', method: 'GET', timeout: 1000 }, (res) => {
      res.resume();
      resolvePing(res.statusCode === 200);
    });
    req.on('error', () => resolvePing(false));
    req.on('timeout', () => {
      req.destroy();
      resolvePing(false);
    });
    req.end();
  });
}

function waitExit(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((r) => child.once('exit', (code) => r(code)));
}

/** Starts `burrow daemon` as the current (unprivileged) user on a private socket and waits until it answers. */
export async function startDaemon(opts: DaemonStartOptions): Promise<RunningDaemon> {
  const runtimeParent = join(opts.dir, 'xdg-run');
  const dataRoot = join(opts.dir, 'data');
  await mkdir(runtimeParent, { recursive: true, mode: 0o700 });
  const socket = join(runtimeParent, 'burrow', 'docker.sock');
  const child = spawn(burrowBin, ['daemon', '--host', `unix://${socket}`, '--data-root', dataRoot, ...(opts.args ?? [])], {
    env: { ...process.env, XDG_RUNTIME_DIR: runtimeParent, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  let output = '';
  child.stdout?.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (output += b.toString()));
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  while (!(await pingSocket(socket))) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`burrow daemon exited (${child.exitCode ?? child.signalCode}) before answering:\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`burrow daemon did not answer on ${socket} in time:\n${output}`);
    }
    await sleep(50);
  }
  // The ready line and the first ping reply travel on different pipes; wait for the line too.
  while (!output.includes('export DOCKER_HOST=') && Date.now() < deadline) await sleep(20);
  return {
    socket,
    dockerHost: `unix://${socket}`,
    runtimeDir: join(runtimeParent, 'burrow'),
    dataRoot,
    pid: child.pid ?? -1,
    output: () => output,
    exited,
    stop: async () => {
      child.kill('SIGTERM');
      return waitExit(child);
    },
    kill: async () => {
      child.kill('SIGKILL');
      await waitExit(child);
    },
  };
}
