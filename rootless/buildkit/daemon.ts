/**
 * buildkitd as Burrow runs it: inside Burrow's own user and mount namespace (the daemon lives
 * there, so its children do too; no rootlesskit), state under the data root, socket under the
 * runtime dir. Started on the first BuildKit request, stopped after BURROW_BUILDKIT_IDLE_MS with no
 * connection, and found again by its pid file after a daemon restart (kill -9 included).
 */
import { readFileSync } from 'node:fs';
import { socketAnswers } from '../socket-answers.js';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { startDaemonTool } from '../exec.js';
import { writeFileAtomic } from '../fs-atomic.js';
import { isRunning } from '../userns-holder.js';
import type { Snapshotter } from './find.js';
import { prepareStepNetwork } from './step-network.js';

export interface BuildkitdOptions {
  binary: string;
  /** The OCI runtime buildkitd's worker runs steps with (Burrow's crun). */
  runtime: string;
  /** 'overlayfs' where the kernel mounts overlay in the user namespace, else 'fuse-overlayfs' or 'native' (find.ts). */
  snapshotter: Snapshotter;
  stateDir: string;
  runDir: string;
  /** pasta, for build steps' own network namespaces (step-network.ts); without it they share the host's. */
  pasta?: string;
  /** host:port of Burrow's store as a registry (local-registry.ts), buildkitd's mirror for docker.io. */
  mirror?: string;
  /** The other registries Burrow's store holds images of: the mirror serves those too. */
  mirroredDomains?: () => string[];
  idleMs: number;
  logger: Logger;
}


/** How long a fresh buildkitd may take to answer on its socket (its first start makes its databases). */
const READY_TIMEOUT_MS = 30_000;

export class Buildkitd {
  /** The buildkitd this daemon started or adopted; checked against /proc before each use. */
  private pid: number | undefined;
  /** Starts and stops run one at a time, so an idle stop never races a new build's start. */
  private lock: Promise<unknown> = Promise.resolve();
  private users = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  /** The registry part of the config the buildkitd at `pid` runs with (set when started or adopted). */
  private runningRegistries: string | undefined;

  constructor(private readonly opts: BuildkitdOptions) {}

  get socket(): string {
    return join(this.opts.runDir, 'buildkitd.sock');
  }

  get snapshotter(): string {
    return this.opts.snapshotter;
  }

  /** buildkitd's OCI worker keeps its content store here (its worker dir is named after the snapshotter). */
  get contentDir(): string {
    return join(this.opts.stateDir, `runc-${this.opts.snapshotter}`, 'content');
  }

  /** Written at each start: its presence says buildkitd has run with this data root. */
  get configFile(): string {
    return join(this.opts.stateDir, 'buildkitd.toml');
  }

  private get pidFile(): string {
    return join(this.opts.runDir, 'buildkitd.pid');
  }

  /**
   * Holds buildkitd up for one connection: starts it if needed and returns its socket. The caller
   * calls release() once, when its connection ends; the last release arms the idle timer.
   */
  async acquire(): Promise<string> {
    this.users++;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    try {
      return await this.ensure();
    } catch (err) {
      this.release();
      throw err;
    }
  }

  /**
   * At daemon start: a buildkitd the previous daemon left (kill -9) is taken over and, unless a
   * client comes, stopped after the idle period like one this daemon started.
   */
  async adoptLeftover(): Promise<void> {
    // Not taken as ours yet: the first build checks its settings (start()) and adopts or replaces it.
    if ((await this.findRunning()) !== undefined) this.armIdle();
  }

  release(): void {
    this.users = Math.max(0, this.users - 1);
    this.armIdle();
  }

  private armIdle(): void {
    if (this.users > 0 || this.idleTimer) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      void this.stop(true).catch((err: unknown) => this.opts.logger.warn({ err }, 'stopping idle buildkitd failed'));
    }, this.opts.idleMs);
    this.idleTimer.unref();
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.lock.then(work, work);
    this.lock = run.catch(() => undefined);
    return run;
  }

  private ensure(): Promise<string> {
    // The common case, answered without waiting on the thread pool (a busy one delayed the
    // session, and so the whole build, by tens of ms): this daemon's buildkitd runs, mirroring
    // every registry the store holds.
    if (this.pid !== undefined && this.runningRegistries === this.registryConfig() && isBuildkitdNow(this.pid)) return Promise.resolve(this.socket);
    return this.serial(async () => {
      if (this.pid !== undefined && (await isBuildkitd(this.pid))) {
        // The store now holds images of a registry buildkitd does not mirror yet: it is restarted
        // with the new list, but only between builds (no other connection holds it).
        if (this.users > 1 || (await this.registriesCurrent())) return this.socket;
        await killAndWait(this.pid);
        this.pid = undefined;
      }
      this.pid = await this.start();
      return this.socket;
    });
  }

  /**
   * buildkitd.toml's registry part: Burrow's store is the first mirror of docker.io and of every
   * registry it holds images of, so `FROM <local image>` finds it whatever its name (dockerd's
   * BuildKit reads dockerd's own store first); anything else is a 404 there and buildkitd asks
   * the registry itself.
   */
  private registryConfig(): string {
    const mirror = this.opts.mirror;
    if (!mirror) return '';
    const others = (this.opts.mirroredDomains?.() ?? []).filter((d) => d !== 'docker.io' && d !== mirror);
    return ['docker.io', ...[...new Set(others)].sort()].map((d) => `[registry.${JSON.stringify(d)}]\n  mirrors = [${JSON.stringify(mirror)}]\n`).join('');
  }

  private async registriesCurrent(): Promise<boolean> {
    return (await readFile(this.configFile, 'utf8').catch(() => '')).endsWith(this.registryConfig());
  }

  /** One left by an earlier daemon is adopted; otherwise a new one is spawned and waited for. */
  private async start(): Promise<number> {
    await mkdir(this.opts.runDir, { recursive: true, mode: 0o700 });
    await mkdir(this.opts.stateDir, { recursive: true, mode: 0o700 });
    const found = await this.findRunning();
    const config = this.configFile;
    const network = this.opts.pasta ? await prepareStepNetwork(this.opts.stateDir, this.opts.pasta) : undefined;
    const registries = this.registryConfig();
    const configText = `# written by Burrow (rootless/buildkit/daemon.ts)\n${network?.workerConfig ?? ''}${registries}`;
    // Adopted only if it runs with this daemon's settings (the mirror's port changes with each daemon).
    const sameConfig = (await readFile(config, 'utf8').catch(() => '')) === configText;
    if (found !== undefined && sameConfig && (await socketAnswers(this.socket))) {
      this.opts.logger.debug({ pid: found }, 'adopted the running buildkitd');
      this.runningRegistries = registries;
      return found;
    }
    if (found !== undefined) await killAndWait(found);
    await rm(this.socket, { force: true });
    // An explicit file keeps buildkitd from reading the user's own ~/.config/buildkit one, which
    // belongs to their own buildkitd.
    await writeFile(config, configText);
    const args = [
      '--config', config,
      '--root', this.opts.stateDir,
      '--addr', `unix://${this.socket}`,
      // Its default is under /run/buildkit, which only root may create.
      '--otel-socket-path', join(this.opts.runDir, 'otel-grpc.sock'),
      '--rootless',
      '--oci-worker-binary', this.opts.runtime,
      '--oci-worker-snapshotter', this.opts.snapshotter,
    ];
    const [tool, toolArgs] = network ? withPrivateVarLib(join(this.opts.runDir, 'host-var-lib'), this.opts.binary, args) : [this.opts.binary, args];
    const logFile = join(this.opts.stateDir, 'buildkitd.log');
    await capLog(logFile);
    const pid = await startDaemonTool(tool, toolArgs, { logFile });
    await writeFileAtomic(this.pidFile, `${pid}\n`);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (await socketAnswers(this.socket)) break;
      if (!(await isRunning(pid))) throw new Error(`buildkitd exited at start; see ${join(this.opts.stateDir, 'buildkitd.log')}`);
      if (Date.now() > deadline) {
        await killAndWait(pid);
        throw new Error(`buildkitd did not answer on ${this.socket} within ${READY_TIMEOUT_MS} ms`);
      }
      // Nothing tells when a socket starts accepting; a short wait between connection attempts.
      await sleep(20);
    }
    this.opts.logger.info({ pid, snapshotter: this.opts.snapshotter }, 'buildkitd started');
    this.runningRegistries = registries;
    return pid;
  }

  private async findRunning(): Promise<number | undefined> {
    const text = await readFile(this.pidFile, 'utf8').catch(() => '');
    const pid = Number(text.trim());
    return Number.isInteger(pid) && pid > 0 && (await isBuildkitd(pid)) ? pid : undefined;
  }

  /** At daemon shutdown, and when idle (then only if no client came meanwhile). SIGTERM lets buildkitd close its databases. */
  stop(idle = false): Promise<void> {
    return this.serial(async () => {
      if (idle && this.users > 0) return;
      if (this.idleTimer) clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
      const pid = this.pid ?? (await this.findRunning());
      this.pid = undefined;
      if (pid !== undefined) await killAndWait(pid);
      await rm(this.pidFile, { force: true });
    });
  }
}

/**
 * CNI (libcni) keeps its results in /var/lib/cni, a path fixed in its code, which Burrow's user
 * cannot create. buildkitd then runs in a mount namespace of its own (inside Burrow's) whose /var/lib
 * is a tmpfs holding links to the host's entries plus its own cni/, as rootlesskit's --copy-up does.
 * Its mounts (step snapshots, step network namespaces) stay out of the daemon's mount table too.
 */
function withPrivateVarLib(hostView: string, binary: string, args: readonly string[]): [string, string[]] {
  const script = [
    'host=$1; shift',
    'mkdir -p "$host"',
    'mount --bind /var/lib "$host"',
    'mount -t tmpfs -o mode=0755 tmpfs /var/lib',
    'for e in "$host"/* "$host"/.[!.]*; do',
    '  [ -e "$e" ] || [ -L "$e" ] || continue',
    '  [ "${e##*/}" = cni ] || ln -s "$e" "/var/lib/${e##*/}"',
    'done',
    'mkdir /var/lib/cni',
    'exec "$@"',
  ].join('\n');
  return ['unshare', ['--mount', '--propagation', 'private', 'sh', '-ec', script, 'sh', hostView, binary, ...args]];
}

/** buildkitd appends to its log for as long as it runs: each start keeps the last run's log, capped. */
const LOG_CAP_BYTES = 8 * 2 ** 20;

async function capLog(file: string): Promise<void> {
  const size = await stat(file).then((s) => s.size, () => 0);
  if (size > LOG_CAP_BYTES) await rename(file, `${file}.1`);
}

/**
 * isBuildkitd without the thread pool: /proc/<pid>/stat (name and state in one read) is made by the
 * kernel on read and never waits on a disk.
 */
function isBuildkitdNow(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  const close = stat.lastIndexOf(')');
  const state = stat.slice(close + 2, close + 3);
  return stat.slice(stat.indexOf('(') + 1, close) === 'buildkitd' && state !== 'Z' && state !== 'X';
}

async function isBuildkitd(pid: number): Promise<boolean> {
  const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
  return comm.trim() === 'buildkitd' && (await isRunning(pid));
}

async function killAndWait(pid: number): Promise<void> {
  const signal = async (sig: NodeJS.Signals): Promise<void> => {
    try {
      process.kill(pid, sig);
    } catch {
      /* gone */
    }
  };
  await signal('SIGTERM');
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && (await isBuildkitd(pid))) await sleep(20);
  if (await isBuildkitd(pid)) await signal('SIGKILL');
}
