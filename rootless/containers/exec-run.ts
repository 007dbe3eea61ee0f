/**
 * One exec process: `crun exec` kept as the daemon's child so its exit status is the process's.
 * Without a TTY its stdio are pipes; with one, the console relay owns the pty.
 */
import { readFile } from 'node:fs/promises';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { OutputChunk, SessionInput } from './interface.js';
import { ChunkQueue } from './chunk-queue.js';
import { startConsoleRelay, type ConsoleRelay } from './console-relay.js';
import { StartFailureGate } from './exec-start-failure.js';
import { spawnStreamedTool, type DrivenChild } from '../exec.js';

export interface ExecLaunch {
  runtime: string;
  /** Global runtime args (--root). */
  runtimeArgs: string[];
  containerId: string;
  processFile: string;
  pidFile: string;
  tty: boolean;
  /** Where the console relay listens (TTY only). */
  consoleSocket: string;
  attach: { stdin: boolean; stdout: boolean; stderr: boolean };
  /** The command (Cmd[0]), for dockerd's words when it cannot be started. */
  command?: string;
}

export interface RunningExec {
  /** What the process writes (with a TTY, the pty's bytes as `stdout`). Ends after the exit is known. */
  output: ChunkQueue<OutputChunk>;
  stdin?: SessionInput;
  exitCode: Promise<number>;
  pid(): Promise<number>;
  resize(rows: number, cols: number): void;
  /** SIGKILL to the process itself: killing `crun exec` would leave it running in the container. */
  kill(): Promise<void>;
}

const SIGNALS = constants.signals as Record<string, number>;

function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal ? (SIGNALS[signal] ?? 0) : 0);
}

/** Resolves when the stream has ended, or after `ms` (a background child may hold it open). */
function drained(s: Readable | null | undefined, ms: number): Promise<void> {
  if (!s || s.readableEnded || s.destroyed) return Promise.resolve();
  return new Promise((r) => {
    const t = setTimeout(r, ms);
    s.once('close', () => {
      clearTimeout(t);
      r();
    });
  });
}

async function readPid(file: string, child: DrivenChild): Promise<number> {
  for (let i = 0; i < 250; i++) {
    const n = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(n) && n > 0) return n;
    if (child.exitCode !== null || child.signalCode !== null) return 0;
    await sleep(20);
  }
  return 0;
}

function spawnRuntime(l: ExecLaunch, extra: string[], stdio: ('pipe' | 'ignore')[]): DrivenChild {
  const args = [...l.runtimeArgs, 'exec', ...extra, '--process', l.processFile, '--pid-file', l.pidFile, l.containerId];
  return spawnStreamedTool(l.runtime, args, { stdio, detached: true });
}

export async function launchExec(l: ExecLaunch): Promise<RunningExec> {
  const output = new ChunkQueue<OutputChunk>();
  const gate = new StartFailureGate(l.command);
  let relay: ConsoleRelay | undefined;
  let child: DrivenChild;
  if (l.tty) {
    relay = await startConsoleRelay(l.consoleSocket);
    child = spawnRuntime(l, ['--tty', '--console-socket', l.consoleSocket], ['ignore', 'pipe', 'pipe']);
    const r = relay;
    if (l.attach.stdout || l.attach.stderr) r.output.on('data', (b: Buffer) => gate.offer(b, (x) => output.push({ stream: 'stdout', data: x })));
    else r.output.resume();
  } else {
    child = spawnRuntime(l, [], [l.attach.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe']);
  }
  // Without a TTY the process's streams are crun's; with one, crun only speaks to report its own failures.
  const forward = (s: Readable | null, stream: OutputChunk['stream'], wanted: boolean): void => {
    if (!s) return;
    // Unwanted bytes still pass the gate: a start failure is recognised (126) even when nobody reads stderr.
    s.on('data', (b: Buffer) => gate.offer(b, (x) => wanted && output.push({ stream: l.tty ? 'stdout' : stream, data: x })));
  };
  forward(child.stdout, 'stdout', l.attach.stdout || l.tty);
  forward(child.stderr, 'stderr', l.attach.stderr || l.tty);
  /** dockerd writes its start-failure error into the exec's stdout stream (with CRLF) and records 126. */
  const startFailed = (): number | undefined => {
    const failure = gate.settle();
    if (!failure) return undefined;
    const text = Buffer.from(`${failure.message}\r\n`);
    if (l.attach.stdout || l.tty) output.push({ stream: 'stdout', data: text });
    return failure.exitCode;
  };

  const exitCode = new Promise<number>((resolve) => {
    child.once('error', (err) => {
      output.push({ stream: 'stdout', data: Buffer.from(l.tty ? `${err.message}\r\n` : `${err.message}\n`) });
      resolve(126);
    });
    child.once('exit', (code, signal) => {
      const status = exitStatus(code, signal);
      if (status === 0 || signal !== null) {
        gate.flush();
        return resolve(status);
      }
      void drained(child.stderr, 500).then(() => resolve(startFailed() ?? status));
    });
  });
  void exitCode.then(async () => {
    // Generous on a loaded host: ending early drops output still in the pipe; only a background child holding it open waits this long.
    const DRAIN_MS = 3000;
    await Promise.all([drained(child.stdout, DRAIN_MS), drained(child.stderr, DRAIN_MS), drained(relay?.output, DRAIN_MS)]);
    if (relay && relay.child.exitCode === null) relay.child.kill('SIGKILL');
    output.end();
  });

  let stdin: SessionInput | undefined;
  const sink = relay ? relay.input : child.stdin;
  if (l.attach.stdin && sink) {
    sink.on('error', () => undefined);
    stdin = {
      write: (b) => void sink.write(b),
      // A TTY has no separate input to close; the process ends by itself (or by the detach keys).
      end: () => {
        if (!relay) sink.end();
      },
      detach: () => undefined,
    };
  }
  let pid: Promise<number> | undefined;
  let exited = false;
  void exitCode.then(() => (exited = true));
  const pidOf = (): Promise<number> => (pid ??= readPid(l.pidFile, child));
  return {
    output,
    ...(stdin ? { stdin } : {}),
    exitCode,
    pid: pidOf,
    resize: (rows, cols) => relay?.resize(rows, cols),
    kill: async () => {
      const n = await pidOf();
      // Once crun has reaped it the pid may be anyone's: only a live exec is signalled.
      if (exited) return;
      if (n > 0) {
        try {
          process.kill(n, 'SIGKILL');
        } catch {
          // Gone already.
        }
      } else if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
