/**
 * Exec sessions: ExecCreate records a request against a running container, ExecStart runs it with
 * `crun exec` in the container's namespaces and cgroup under its security settings. Sessions live
 * in memory, as dockerd's do, and go with their container.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readFileInRoot } from '../read-in-root.js';
import type { ExecDetails, ExecService, ExecStartOptions, InteractiveStream } from './interface.js';
import type { ContainerRecord } from '../../translate/container-record.js';
import { parseDetachKeys, DEFAULT_DETACH_KEYS } from '../../translate/detach-keys.js';
import { conflict, notFound } from '../../translate/errors.js';
import type { ContainerGate } from './gate.js';
import { containerEventAttributes } from '../../translate/events.js';
import { buildExecProcess, parseExecRequest, type ExecRequest } from '../../translate/exec-process.js';
import type { ExecCreateBody } from '../../openapi/exec.js';
import { ProbeOutput } from '../../translate/health.js';
import type { OciSpec } from '../../translate/oci-types.js';
import type { KernelFacts } from '../kernel-facts.js';
import type { EventBus } from '../events/bus.js';
import { launchExec, type RunningExec } from './exec-run.js';
import { rootfsPaths } from './rootfs.js';
import { runtimeFiles, type RuntimeDriver } from './runtime.js';
import type { ContainerStore } from './store.js';
import { warnOnly } from '../log.js';

/** dockerd's event text for an exec: the entrypoint, a space, the arguments (so "true " for a bare `true`). */
const commandText = (cmd: string[]): string => `${cmd[0] ?? ''} ${cmd.slice(1).join(' ')}`;

export interface ProbeRun {
  exitCode: number;
  output: string;
  timedOut: boolean;
}

interface ExecSession {
  id: string;
  containerId: string;
  request: ExecRequest;
  started: boolean;
  running: boolean;
  exitCode: number | null;
  pid: number;
  run?: RunningExec;
  /** A size asked for before the process had a terminal. */
  size?: [number, number];
}

export interface ExecServiceDeps {
  store: ContainerStore;
  /** The container's lock and state machine: exec create, start and probes check the state under it. */
  gate: ContainerGate;
  runtime: RuntimeDriver;
  events: EventBus;
  /** The running kernel's capabilities bound a privileged exec's. */
  kernel: KernelFacts;
  /** Detach keys from the daemon's config, if any. */
  detachKeys?: string;
}

export class EngineExecService implements ExecService {
  private readonly sessions = new Map<string, ExecSession>();

  constructor(private readonly deps: ExecServiceDeps) {}

  private session(id: string): ExecSession {
    const s = this.sessions.get(id);
    if (!s) throw notFound(`No such exec instance: ${id}`);
    return s;
  }

  /** Exec IDs of one container, for its inspect. */
  idsOf(containerId: string): string[] {
    return [...this.sessions.values()].filter((s) => s.containerId === containerId).map((s) => s.id);
  }

  /** The container is gone or stopped: its sessions go with it. */
  forget(containerId: string): void {
    for (const [id, s] of this.sessions) if (s.containerId === containerId && !s.running) this.sessions.delete(id);
    void rm(join(this.deps.store.dir(containerId), 'exec'), { recursive: true, force: true }).catch(warnOnly('could not remove the exec records of a stopped container'));
  }

  async create(containerRef: string, body: ExecCreateBody | undefined): Promise<string> {
    const request = parseExecRequest(body);
    if (request.DetachKeys) parseDetachKeys(request.DetachKeys);
    return this.deps.gate.must(containerRef, 'exec', async (rec) => this.register(rec, request).id);
  }

  private register(rec: ContainerRecord, request: ExecRequest): ExecSession {
    const id = randomBytes(32).toString('hex');
    const s: ExecSession = { id, containerId: rec.id, request, started: false, running: false, exitCode: null, pid: 0 };
    this.sessions.set(id, s);
    this.deps.events.emit('container', `exec_create: ${commandText(request.Cmd)}`, rec.id, containerEventAttributes(rec, { execID: id }));
    return s;
  }

  async start(id: string, opts: ExecStartOptions): Promise<InteractiveStream | undefined> {
    const s = this.session(id);
    if (s.started) throw conflict(s.running ? `Exec ${id} is already running` : `Exec ${id} has already run`);
    const request: ExecRequest = s.request;
    const tty = request.Tty === true;
    // The start body's Tty decides the stream's framing (dockerd does the same); the process's terminal is ExecCreate's.
    const rawStream = opts.tty ?? tty;
    const attached = !opts.detach;
    // The process is launched under the container's lock (no stop or removal in between); it runs outside it.
    const { run } = await this.deps.gate.must(s.containerId, 'exec', async (rec) => {
      if (s.started) throw conflict(s.running ? `Exec ${id} is already running` : `Exec ${id} has already run`);
      s.started = true;
      const launched = await this.launch(s, rec, {
        size: opts.consoleSize ?? request.ConsoleSize ?? s.size,
        attach: {
          stdin: attached && request.AttachStdin === true,
          stdout: attached && request.AttachStdout === true,
          stderr: attached && request.AttachStderr === true,
        },
      });
      return { run: launched };
    });
    if (!attached) {
      run.output.end();
      return undefined;
    }
    const keys = request.DetachKeys || this.deps.detachKeys || DEFAULT_DETACH_KEYS;
    // The stream must not end before the exit code is recorded: the CLI inspects right after.
    const chunks = (async function* () {
      yield* run.output.batches();
      await run.exitCode;
    })();
    return { tty: rawStream, chunks, ...(run.stdin ? { stdin: run.stdin, detachKeys: parseDetachKeys(keys) } : {}) };
  }

  /** Writes the process spec, runs it, and records its end with dockerd's exec_start/exec_die events. */
  private async launch(
    s: ExecSession,
    rec: ContainerRecord,
    o: { size?: [number, number] | null; attach: { stdin: boolean; stdout: boolean; stderr: boolean } },
  ): Promise<RunningExec> {
    const { id, request } = s;
    const dir = join(this.deps.store.dir(rec.id), 'exec');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const processFile = join(dir, `${id}.json`);
    const pidFile = join(dir, `${id}.pid`);
    const files = runtimeFiles(this.deps.store.dir(rec.id));
    const rootfs = rootfsPaths(this.deps.store.dir(rec.id)).merged;
    const [specText, etcPasswd, etcGroup] = await Promise.all([
      readFile(join(files.bundle, 'config.json'), 'utf8'),
      // The container runs and may swap its files meanwhile: read in its root, checked after the open.
      readFileInRoot(rootfs, '/etc/passwd'),
      readFileInRoot(rootfs, '/etc/group'),
    ]);
    const tty = request.Tty === true;
    const size = o.size;
    const proc = buildExecProcess({
      container: (JSON.parse(specText) as OciSpec).process,
      containerUser: rec.config.User ?? '',
      request,
      etcPasswd,
      etcGroup,
      ...(size && size[0] > 0 ? { consoleSize: { height: size[0], width: size[1] } } : {}),
      hostCapabilityCount: this.deps.kernel.hostCapabilities.length,
    });
    // Not atomic and not synced: a fresh name per exec, read once by crun and removed at its exit;
    // no daemon after a crash reads it (the two fsyncs cost ~3 ms of every exec here, more on a busy disk).
    await writeFile(processFile, JSON.stringify(proc), { mode: 0o600 });
    const { runtime, args } = this.deps.runtime.execCommand;
    const run = await launchExec({
      runtime,
      runtimeArgs: args,
      containerId: rec.id,
      processFile,
      pidFile,
      tty,
      consoleSocket: join(this.deps.runtime.socksDir, `x-${id.slice(0, 16)}.sock`),
      attach: o.attach,
      ...(request.Cmd[0] ? { command: request.Cmd[0] } : {}),
    });
    s.run = run;
    s.running = true;
    this.deps.events.emit('container', `exec_start: ${commandText(request.Cmd)}`, rec.id, containerEventAttributes(rec, { execID: id }));
    void run.pid().then((pid) => {
      if (s.running) s.pid = pid;
    });
    void run.exitCode.then((code) => {
      s.running = false;
      s.exitCode = code;
      s.pid = 0;
      void rm(processFile, { force: true });
      void rm(pidFile, { force: true });
      this.deps.events.emit('container', 'exec_die', rec.id, containerEventAttributes(rec, { execID: id, exitCode: String(code) }));
    });
    return run;
  }

  /**
   * One health probe, run as dockerd runs it: an exec with the container's user and working
   * directory, stdout and stderr together, no TTY, the usual exec events. `timeoutMs` counts from
   * the process's start; an overrun is killed. An abort (the container stops or pauses) kills it
   * too. The session is dropped once the process has gone, so probes leave no record behind.
   * Undefined when the container no longer runs unpaused (stopping, paused, gone): no probe, no verdict.
   */
  async probe(rec: ContainerRecord, cmd: string[], timeoutMs: number, signal: AbortSignal): Promise<ProbeRun | undefined> {
    const request: ExecRequest = { Cmd: cmd, Env: null, Privileged: false, Tty: false, AttachStdin: false, AttachStdout: true, AttachStderr: true };
    if (rec.config.User) request.User = rec.config.User;
    if (rec.config.WorkingDir) request.WorkingDir = rec.config.WorkingDir;
    let s: ExecSession | undefined;
    try {
      // Launched under the container's lock, only while it runs unpaused; otherwise there is no probe and no verdict.
      const launched = await this.deps.gate.locked(rec.id, 'health-probe', async (r) => {
        s = this.register(r, request);
        s.started = true;
        return { run: await this.launch(s, r, { attach: { stdin: false, stdout: true, stderr: true } }) };
      });
      if (!launched) return undefined;
      const { run } = launched;
      const output = new ProbeOutput();
      const drained = (async () => {
        for await (const c of run.output) output.write(c.data);
      })();
      let timedOut = false;
      const kill = (): void => void run.kill();
      const timer = setTimeout(() => {
        timedOut = true;
        kill();
      }, timeoutMs);
      // Stopped while the exec was being set up: the abort has already fired.
      if (signal.aborted) kill();
      else signal.addEventListener('abort', kill, { once: true });
      const exitCode = await run.exitCode.finally(() => {
        clearTimeout(timer);
        signal.removeEventListener('abort', kill);
      });
      await drained;
      return { exitCode, output: output.toString(), timedOut };
    } finally {
      if (s) this.sessions.delete(s.id);
    }
  }
  async resize(id: string, height: number, width: number): Promise<void> {
    const s = this.session(id);
    if (s.run && s.running) s.run.resize(height, width);
    else s.size = [height, width];
  }

  async inspect(id: string): Promise<ExecDetails> {
    const s = this.session(id);
    if (s.running && s.run && s.pid === 0) s.pid = await s.run.pid();
    return { id: s.id, containerId: s.containerId, running: s.running, exitCode: s.exitCode, pid: s.running ? s.pid : 0, request: s.request };
  }
}
