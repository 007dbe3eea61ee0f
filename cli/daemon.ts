import { socketAnswers } from '../rootless/socket-answers.js';
import { chmod, mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../api/server.js';
import { idleGc } from './idle-gc.js';
import { enginePaths } from '../rootless/paths.js';
import { createLogger, defaultLogFormat, setRootLogger } from '../rootless/log.js';
import { ensureHolder, holderIsIdle, stopHolder } from '../rootless/userns-holder.js';
import { writeFileAtomic } from '../rootless/fs-atomic.js';
import type { DoctorReport } from '../rootless/doctor/types.js';
import { startEngine } from '../rootless/engine.js';
import { armCrashHook } from '../rootless/debug-crash.js';
import { loadRegistrySettings } from '../rootless/config-file.js';
import { daemonUsage, describeAddress, parseDaemonOptions, parseListenAddress, type DaemonOptions, type ListenAddress } from './daemon-options.js';

/** How long the API must be quiet before the daemon collects its garbage (idle-gc.ts). */
const IDLE_GC_QUIET_MS = 2000;

const doctorReportFile = 'doctor-report.json';

function listenAddresses(opts: DaemonOptions, defaultSocket: string): ListenAddress[] {
  const hosts = opts.hosts.length > 0 ? opts.hosts : [`unix://${defaultSocket}`];
  return hosts.map((h) => parseListenAddress(h, opts.allowRemote));
}

async function claimSocket(path: string): Promise<void> {
  const existing = await stat(path).catch(() => undefined);
  if (!existing) return;
  if (await socketAnswers(path)) {
    throw new Error(`another Burrow daemon (or Docker) is already listening on unix://${path}; stop it first or use --host`);
  }
  await rm(path, { force: true });
}

/**
 * First half of `burrow daemon`, run on the host: refuses root, checks the host like `burrow doctor`,
 * makes sure no daemon owns the socket, and starts (or finds) the user-namespace holder.
 * Prints "enter <pid>" for bin/burrow to exec the server inside that namespace.
 */
export async function daemonPrepareCommand(argv: string[]): Promise<number> {
  const opts = parseDaemonOptions(argv);
  if (opts.help) {
    process.stderr.write(daemonUsage);
    return 0;
  }
  // The host checks run here, in the short-lived first half; the server (daemonServeCommand) only
  // reads their report, so it does not load them.
  const { essentialFailures, runDoctor, formatDoctorTable } = await import('../rootless/doctor/index.js');
  const uid = process.getuid?.() ?? 0;
  if (uid === 0 && !opts.allowRoot) {
    process.stderr.write(
      'burrow: refusing to run as root. Burrow is the rootless Docker engine: run it as the user whose containers it manages\n' +
        '(an administrator prepares the host once with: sudo scripts/setup-host.sh <user>). --allow-root overrides this for experiments.\n',
    );
    return 1;
  }
  const paths = enginePaths(process.env, uid, { dataRoot: opts.dataRoot });
  const addresses = listenAddresses(opts, paths.defaultSocket);
  const report = await runDoctor({ env: process.env });
  // --allow-root waives only the doctor's not-root check.
  const runnable = report.essentialOk || (opts.allowRoot && essentialFailures(report).every((c) => c.id === 'user'));
  if (!runnable) {
    process.stderr.write(`burrow: this host cannot run the engine yet:\n\n${formatDoctorTable(report)}\n`);
    return 1;
  }
  // Checked here as well as at engine start: failing before the namespace holder exists leaves nothing behind.
  try {
    await loadRegistrySettings(paths.configDir);
  } catch (err) {
    process.stderr.write(`burrow: ${(err as Error).message}\n`);
    return 1;
  }
  await mkdir(paths.runtimeDir, { recursive: true, mode: 0o700 });
  await chmod(paths.runtimeDir, 0o700);
  for (const a of addresses) if (a.kind === 'unix') await claimSocket(a.path);
  await writeFileAtomic(join(paths.runtimeDir, doctorReportFile), JSON.stringify(report));
  const pid = await ensureHolder({ runtimeDir: paths.runtimeDir, catatonit: report.catatonit ?? 'catatonit' });
  process.stdout.write(`enter ${pid}\n`);
  return 0;
}

async function listen(app: FastifyInstance, address: ListenAddress): Promise<void> {
  if (address.kind === 'unix') {
    await mkdir(join(address.path, '..'), { recursive: true, mode: 0o700 });
    await claimSocket(address.path);
    await app.listen({ path: address.path });
    await chmod(address.path, 0o600);
  } else {
    await app.listen({ host: address.host, port: address.port });
  }
}

/** Second half of `burrow daemon`, run inside the user+mount namespace: the API server itself. */
export async function daemonServeCommand(argv: string[]): Promise<number> {
  const opts = parseDaemonOptions(argv);
  const logger = createLogger(opts.logLevel, opts.logFormat ?? defaultLogFormat());
  setRootLogger(logger);
  const paths = enginePaths(process.env, Number(process.env.BURROW_HOST_UID ?? process.getuid?.() ?? 0), { dataRoot: opts.dataRoot });
  const addresses = listenAddresses(opts, paths.defaultSocket);
  const report = JSON.parse(await readFile(join(paths.runtimeDir, doctorReportFile), 'utf8')) as DoctorReport;
  const crashAt = armCrashHook(process.env);
  if (crashAt) logger.warn({ step: crashAt }, 'BURROW_DEBUG_CRASH_AT is set: the daemon will SIGKILL itself at that step (a test hook)');

  const engine = await startEngine({
    paths,
    report,
    logger,
    debug: opts.logLevel === 'debug',
    defaultBridgeIPv6: { enabled: opts.ipv6, ...(opts.fixedCidr6 ? { fixedCidr6: opts.fixedCidr6 } : {}) },
  }).catch(async (err: unknown) => {
    // A holder nothing else uses would outlive this failed start for no one.
    if (opts.holderPid && (await holderIsIdle(opts.holderPid))) await stopHolder(paths.runtimeDir);
    throw err;
  });
  // A fastify instance listens once, so each address gets its own over the same services.
  const apps: FastifyInstance[] = [];
  const gc = idleGc(IDLE_GC_QUIET_MS);
  for (const a of addresses) {
    const app = await buildServer({ logger, services: engine.services, keepAliveTimeoutMs: opts.keepAliveTimeoutMs, onActivity: gc.touch });
    await listen(app, a);
    apps.push(app);
  }
  const unix = addresses.find((a) => a.kind === 'unix');
  logger.info({ addresses: addresses.map(describeAddress), storageDriver: engine.facts.storageDriver, runtime: engine.facts.defaultRuntime }, 'Burrow is ready');
  process.stdout.write(`Burrow is listening. Point Docker clients at it with:\n  export DOCKER_HOST=${describeAddress(unix ?? addresses[0])}\n`);

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down');
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  gc.stop();
  await Promise.all(apps.map((app) => app.close()));
  for (const a of addresses) if (a.kind === 'unix') await rm(a.path, { force: true });
  if (await engine.shutdown()) await stopHolder(paths.runtimeDir);
  logger.info('stopped');
  logger.flush();
  return 0;
}

export async function daemonCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(daemonUsage);
    return 0;
  }
  process.stderr.write('burrow: start the daemon with the launcher, bin/burrow daemon (it enters the user namespace first)\n');
  return 2;
}
