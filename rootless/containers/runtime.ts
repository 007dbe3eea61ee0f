/**
 * Drives one OCI runtime (crun) through conmon, as podman does: conmon double-forks, runs
 * `crun create`, owns the container's stdio (k8s-file log) and writes the exit code to the exit
 * dir, so containers outlive the daemon. The daemon only starts, signals and deletes.
 */
import { existsSync } from 'node:fs';
import { constants as fsConstants } from 'node:fs';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ToolError, runSyncPipeTool, runTool, type ToolResult } from '../exec.js';
import { SeccompCache } from './seccomp-cache.js';
import { internal } from '../../translate/errors.js';

export interface RuntimeDriverOptions {
  conmon: string;
  runtime: string;
  /** The engine's runtime dir; exits/, socks/ and the runtime's state root live under it. */
  runtimeDir: string;
}

/** Files of one container that conmon and the runtime write. */
export interface ContainerRuntimeFiles {
  bundle: string;
  log: string;
  /** conmon's persist dir: exit and oom files. */
  persist: string;
  pidFile: string;
  conmonPidFile: string;
  conmonErr: string;
}

export function runtimeFiles(containerDir: string): ContainerRuntimeFiles {
  return {
    bundle: join(containerDir, 'bundle'),
    log: join(containerDir, 'ctr.log'),
    persist: join(containerDir, 'userdata'),
    pidFile: join(containerDir, 'pidfile'),
    conmonPidFile: join(containerDir, 'conmon.pid'),
    conmonErr: join(containerDir, 'conmon.err'),
  };
}

export interface ExitInfo {
  exitCode: number;
  oomKilled: boolean;
}

const CREATE_TIMEOUT_MS = 60_000;

export class RuntimeDriver {
  readonly exitsDir: string;
  readonly socksDir: string;
  readonly stateRoot: string;
  /** Compiled seccomp filters, so a create does not compile a profile crun compiled before. */
  readonly seccomp: SeccompCache;

  constructor(private readonly opts: RuntimeDriverOptions) {
    this.exitsDir = join(opts.runtimeDir, 'exits');
    this.socksDir = join(opts.runtimeDir, 'socks');
    this.stateRoot = join(opts.runtimeDir, 'crun');
    this.seccomp = new SeccompCache(this.stateRoot);
  }

  async init(): Promise<void> {
    await Promise.all([this.exitsDir, this.socksDir, this.stateRoot].map((d) => mkdir(d, { recursive: true, mode: 0o700 })));
  }

  private runtimeArgs(...args: string[]): string[] {
    return ['--root', this.stateRoot, ...args];
  }

  /** The runtime binary and its global args, for `exec`. */
  get execCommand(): { runtime: string; args: string[] } {
    return { runtime: this.opts.runtime, args: ['--root', this.stateRoot] };
  }

  /** conmon's SOCK_SEQPACKET attach socket lives in the bundle (reached through the socks/<id> symlink). */
  attachSocket(files: ContainerRuntimeFiles): string {
    return join(files.bundle, 'attach');
  }

  /** Resizes a TTY container's pty through conmon's control fifo ("1 rows cols" is a resize). */
  async resize(files: ContainerRuntimeFiles, rows: number, cols: number): Promise<void> {
    // Non-blocking: with no conmon reading the fifo, open fails (ENXIO) instead of hanging.
    const fh = await open(join(files.bundle, 'ctl'), fsConstants.O_WRONLY | fsConstants.O_NONBLOCK).catch(() => undefined);
    if (!fh) return;
    try {
      await fh.write(`1 ${rows} ${cols}\n`);
    } finally {
      await fh.close();
    }
  }

  /** Starts conmon, which runs `<runtime> create`; resolves with the container's pid once it exists. */
  async create(id: string, name: string, files: ContainerRuntimeFiles, stdio: { tty: boolean; stdin?: boolean; stdinOnce?: boolean; logSizeMax?: number }): Promise<number> {
    await mkdir(files.persist, { recursive: true });
    await Promise.all([join(this.exitsDir, id), join(files.persist, 'exit'), join(files.persist, 'oom'), files.pidFile].map((f) => rm(f, { force: true })));
    const args = [
      '--api-version', '1', '-c', id, '-u', id, '-n', name, '-r', this.opts.runtime, '-b', files.bundle,
      '-p', files.pidFile, '-P', files.conmonPidFile, '-l', `k8s-file:${files.log}`, '--exit-dir', this.exitsDir,
      '-0', files.persist, '--socket-dir-path', this.socksDir, '--runtime-arg', '--root', '--runtime-arg', this.stateRoot,
      ...(stdio.tty ? ['-t'] : []),
      // conmon replaces the log with an empty file at this size; log-files.ts turns that into rotation.
      ...(stdio.logSizeMax !== undefined ? ['--log-size-max', String(stdio.logSizeMax)] : []),
      // conmon closes the container's stdin when an attached client ends its input, unless told to keep it for the next attach.
      ...(stdio.stdin ? ['-i', ...(stdio.stdinOnce ? [] : ['--leave-stdin-open'])] : []),
    ];
    const outcome = await runSyncPipeTool(this.opts.conmon, args, { env: { ...process.env, _OCI_SYNCPIPE: '3' }, stderrFile: files.conmonErr, timeoutMs: CREATE_TIMEOUT_MS }).catch((e: unknown) => {
      throw internal(`conmon: ${e instanceof ToolError ? e.message.replace(/^[^:]*: /, '') : String(e)}`);
    });
    if (outcome.kind === 'timedOut') throw internal(`conmon: container ${id} was not created within ${CREATE_TIMEOUT_MS / 1000} s`);
    if (outcome.kind === 'ended') {
      const t = await readFile(files.conmonErr, 'utf8').catch(() => '');
      throw internal(`conmon: ${t.trim() || 'exited before the container was created'}`);
    }
    let msg: { pid?: number; data?: number; message?: string };
    try {
      msg = JSON.parse(outcome.text) as typeof msg;
    } catch {
      throw internal(`conmon: unreadable reply ${outcome.text}`);
    }
    const pid = msg.pid ?? msg.data ?? -1;
    if (pid > 0) return pid;
    throw internal(this.cleanRuntimeError(msg.message ?? `conmon failed to create container ${id}`));
  }

  /** dockerd prefixes runtime failures with the OCI runtime's words; keep just those. */
  private cleanRuntimeError(message: string): string {
    return `OCI runtime create failed: ${message.trim()}`;
  }

  async start(id: string): Promise<void> {
    try {
      await runTool(this.opts.runtime, this.runtimeArgs('start', id));
    } catch (err) {
      // crun let the process go, but it exited before crun could open a pidfd for it: it ran, and
      // its exit is conmon's to record. Any other failure (a command that cannot be executed) stands.
      if (err instanceof ToolError && /open pidfd: No such process/.test(err.stderr) && (await this.processesGone(id))) return;
      throw err;
    }
  }

  async kill(id: string, signal: number): Promise<void> {
    await runTool(this.opts.runtime, this.runtimeArgs('kill', id, String(signal)));
  }

  /** Removes the runtime's state and conmon's socket link; with no state left there is nothing to exec the runtime for. */
  async delete(id: string): Promise<void> {
    await rm(join(this.socksDir, id), { force: true });
    if (!existsSync(join(this.stateRoot, id))) return;
    await runTool(this.opts.runtime, this.runtimeArgs('delete', '--force', id), { allowFailure: true });
  }

  /** The runtime's own view (`created` before start, `running`/`paused`/`stopped` after); undefined when it has no such container. */
  async state(id: string): Promise<{ status: string; pid: number } | undefined> {
    if (!existsSync(join(this.stateRoot, id))) return undefined;
    const r = await runTool(this.opts.runtime, this.runtimeArgs('state', id), { allowFailure: true });
    if (r.exitCode !== 0) return undefined;
    try {
      const s = JSON.parse(r.stdout) as { status?: unknown; pid?: unknown };
      return { status: typeof s.status === 'string' ? s.status : 'unknown', pid: typeof s.pid === 'number' ? s.pid : 0 };
    } catch {
      return undefined;
    }
  }

  /**
   * SIGKILLs the container's conmon (left by a daemon that died mid-start) and waits until it is
   * gone, so it cannot write an exit file for a container that recovery then deletes. The pid file
   * may be stale and its pid reused, so only a conmon whose command line names this container is hit.
   */
  async killMonitor(id: string, files: ContainerRuntimeFiles): Promise<void> {
    if (!(await this.monitorAlive(files))) return;
    const pid = Number((await readFile(files.conmonPidFile, 'utf8').catch(() => '')).trim());
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (!argv.includes(id)) return;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      return;
    }
    // Bounded: its reaper (the namespace holder) collects it at once; a zombie counts as gone.
    for (let i = 0; i < 250 && (await this.monitorAlive(files)); i++) await sleep(20);
  }

  /** Thaws a frozen container; the result is returned, not thrown, as a container not frozen makes crun refuse. */
  resume(id: string): Promise<ToolResult> {
    return runTool(this.opts.runtime, this.runtimeArgs('resume', id), { allowFailure: true });
  }

  /**
   * The container's processes are gone though no exit may be recorded yet: conmon wrote the exit
   * file, or the runtime has no live container. A state it could not parse ('unknown') tells nothing.
   */
  async processesGone(id: string): Promise<boolean> {
    if (this.hasExited(id)) return true;
    const state = await this.state(id);
    return state === undefined || (state.status !== 'running' && state.status !== 'paused' && state.status !== 'unknown');
  }

  hasExited(id: string): boolean {
    return existsSync(join(this.exitsDir, id));
  }

  /** The exit code conmon recorded, or undefined while the container has not exited. */
  async readExit(id: string, files: ContainerRuntimeFiles): Promise<ExitInfo | undefined> {
    const text = (await readFile(join(this.exitsDir, id), 'utf8').catch(() => undefined)) ?? (await readFile(join(files.persist, 'exit'), 'utf8').catch(() => undefined));
    if (text === undefined || text.trim() === '') return undefined;
    const exitCode = Number.parseInt(text.trim(), 10);
    return { exitCode: Number.isNaN(exitCode) ? 255 : exitCode, oomKilled: existsSync(join(files.persist, 'oom')) };
  }

  async clearExit(id: string): Promise<void> {
    await rm(join(this.exitsDir, id), { force: true });
  }

  /** True when the conmon that monitors this container still runs (it survives daemon restarts). */
  async monitorAlive(files: ContainerRuntimeFiles): Promise<boolean> {
    const pid = Number((await readFile(files.conmonPidFile, 'utf8').catch(() => '')).trim());
    if (!Number.isInteger(pid) || pid <= 0) return false;
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
    if (!stat) return false;
    // Field 3 (after the parenthesised comm) is the state; a zombie is no monitor.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return stat.includes('(conmon)') && state !== 'Z';
  }
}
