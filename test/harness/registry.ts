/**
 * A throw-away local registry for tests: Debian's docker-registry (distribution 2.8) with
 * filesystem storage under a caller-owned directory, bound to loopback on a free port.
 * Works as an unprivileged user because every file it touches lives under `opts.dir`.
 * Plain HTTP by default; with `tls`, HTTPS with a self-signed certificate for 127.0.0.1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { runTool } from '../../rootless/exec.js';
import { rootLogger } from '../../rootless/log.js';

export const REGISTRY_BINARY = '/usr/bin/docker-registry';

export interface RegistryAuth {
  username: string;
  password: string;
}

export interface StartRegistryOptions {
  /** Owned by the caller; config, storage and log go here. Created if missing. */
  dir: string;
  /** Fixed port; default picks a free one (and retries if it gets taken meanwhile). */
  port?: number;
  /** Require HTTP basic auth against an htpasswd file with this single user. */
  auth?: RegistryAuth;
  /** How long to wait for `GET /v2/` to answer; default 15 s. */
  startTimeoutMs?: number;
  /** Serve HTTPS with a self-signed certificate for 127.0.0.1 made by openssl at start. */
  tls?: boolean;
}

export interface RunningRegistry {
  /** "127.0.0.1:PORT", the registry part of an image reference. */
  host: string;
  /** "http://127.0.0.1:PORT" ("https://…" with tls) */
  url: string;
  /** With tls: the self-signed certificate (PEM) the registry serves, the only CA that verifies it. */
  certificate?: string;
  port: number;
  pid: number;
  /** Present when started with auth; clients need it for every request. */
  auth?: RegistryAuth;
  /** The registry's own stdout/stderr, for diagnosing failed tests. */
  logFile: string;
  /** Kill the registry and wait until the process has exited. Idempotent. */
  stop(): Promise<void>;
}

const log = () => rootLogger().child({ component: 'test-registry' });

/** Registries still running; killed on process exit so a crashed test run leaves nothing behind. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function trackForExit(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of live) c.kill('SIGKILL');
  });
}

/** Ask the kernel for a free loopback port. Racy by nature, hence the retry in startRegistry. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error('could not determine a free port'))));
    });
  });
}

const BCRYPT_ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * bcrypt hash for an htpasswd line. apache2-utils (htpasswd) is not installed on the test
 * hosts and node:crypto has no bcrypt, but perl's crypt() goes through libxcrypt, which
 * implements `$2b$`; perl-base is essential on Debian so it is always there.
 */
export async function bcryptHash(password: string, cost = 10): Promise<string> {
  const raw = randomBytes(22);
  // The 22nd salt character only carries 2 bits; libxcrypt rejects non-canonical ones.
  const salt =
    Array.from(raw.subarray(0, 21), (b) => BCRYPT_ALPHABET[b % 64]).join('') + '.Oeu'[raw[21] % 4];
  const setting = `$2b$${String(cost).padStart(2, '0')}$${salt}`;
  // Password and setting travel in the environment so no shell or perl quoting is involved.
  const { stdout } = await runTool('/usr/bin/perl', ['-e', 'print crypt($ENV{BURROW_PW}, $ENV{BURROW_SETTING})'], {
    env: { BURROW_PW: password, BURROW_SETTING: setting },
  });
  if (!stdout.startsWith(setting)) throw new Error(`perl crypt() did not produce a bcrypt hash (got ${JSON.stringify(stdout)})`);
  return stdout;
}

/** JSON strings are valid YAML double-quoted scalars, so this is safe for any path. */
const q = (s: string): string => JSON.stringify(s);

interface TlsFiles {
  certificate: string;
  key: string;
  /** The certificate's PEM text. */
  pem: string;
}

/** A self-signed certificate whose subjectAltName is IP:127.0.0.1, as a TLS registry on loopback needs. */
export async function selfSignedCertificate(dir: string): Promise<TlsFiles> {
  const certificate = join(dir, 'tls.crt');
  const key = join(dir, 'tls.key');
  await runTool('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    '-keyout', key, '-out', certificate,
  ]);
  return { certificate, key, pem: await readFile(certificate, 'utf8') };
}

/** One GET with the certificate as the only trusted CA: proves the registry speaks TLS with it. */
function httpsStatus(url: string, ca: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsGet(url, { ca, timeout: timeoutMs }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
      res.once('error', reject);
    });
    req.once('timeout', () => req.destroy(new Error('timeout')));
    req.once('error', reject);
  });
}

function configYaml(dir: string, port: number, htpasswdPath: string | undefined, tls?: TlsFiles): string {
  const lines = [
    'version: 0.1',
    'log:',
    '  level: info',
    '  accesslog:',
    '    disabled: false',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${q(join(dir, 'storage'))}`,
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false', // purging walks storage on a timer; pointless noise for short tests
    'http:',
    `  addr: ${q(`127.0.0.1:${port}`)}`,
    // Without a fixed secret the registry logs a warning and uses a random one per start.
    `  secret: ${q('burrow-test-registry')}`,
    ...(tls ? ['  tls:', `    certificate: ${q(tls.certificate)}`, `    key: ${q(tls.key)}`] : []),
    'health:',
    '  storagedriver:',
    '    enabled: false',
  ];
  if (htpasswdPath !== undefined) {
    lines.push('auth:', '  htpasswd:', `    realm: ${q('burrow-test')}`, `    path: ${q(htpasswdPath)}`);
  }
  return lines.join('\n') + '\n';
}

async function logTail(file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').slice(-15).join('\n');
}

class PortTakenError extends Error {}

async function startOnce(opts: StartRegistryOptions, port: number, htpasswdPath: string | undefined, tls?: TlsFiles): Promise<RunningRegistry> {
  const configPath = join(opts.dir, 'config.yml');
  const logFile = join(opts.dir, 'registry.log');
  await writeFile(configPath, configYaml(opts.dir, port, htpasswdPath, tls), { mode: 0o600 });

  const args = ['serve', configPath];
  log().debug({ cmd: [REGISTRY_BINARY, ...args].join(' ') }, 'spawn');
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    // A minimal environment: REGISTRY_* variables from the caller would silently override the config.
    child = spawn(REGISTRY_BINARY, args, {
      cwd: opts.dir,
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }

  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
    child.once('error', () => {
      exited = true;
      resolve();
    });
  });
  trackForExit(child);

  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (exited) return;
    child.kill('SIGTERM');
    const graceful = await Promise.race([exit.then(() => true), sleep(5000).then(() => false)]);
    if (!graceful) {
      child.kill('SIGKILL');
      await exit;
    }
  };

  const deadline = Date.now() + (opts.startTimeoutMs ?? 15_000);
  while (!exited) {
    try {
      let status: number;
      if (tls) status = await httpsStatus(`${url}/v2/`, tls.pem, 1000);
      else {
        const res = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        status = res.status;
      }
      // 401 proves the server is up just as well; it is what auth mode answers.
      if (status === 200 || (htpasswdPath !== undefined && status === 401)) {
        log().debug({ url, pid: child.pid }, 'registry ready');
        return { host: `127.0.0.1:${port}`, url, port, pid: child.pid ?? -1, auth: opts.auth, logFile, stop, ...(tls ? { certificate: tls.pem } : {}) };
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`registry on ${url} did not become ready in time; log:\n${await logTail(logFile)}`);
    }
    await sleep(50);
  }
  const tail = await logTail(logFile);
  if (tail.includes('address already in use')) throw new PortTakenError(tail);
  throw new Error(`registry exited during startup; log:\n${tail}`);
}

export async function startRegistry(opts: StartRegistryOptions): Promise<RunningRegistry> {
  await mkdir(join(opts.dir, 'storage'), { recursive: true });
  let htpasswdPath: string | undefined;
  if (opts.auth) {
    if (opts.auth.username.includes(':')) throw new Error('htpasswd user names cannot contain ":"');
    htpasswdPath = join(opts.dir, 'htpasswd');
    await writeFile(htpasswdPath, `${opts.auth.username}:${await bcryptHash(opts.auth.password)}\n`, { mode: 0o600 });
  }
  const tls = opts.tls ? await selfSignedCertificate(opts.dir) : undefined;
  const attempts = opts.port === undefined ? 5 : 1;
  for (let i = 1; ; i++) {
    const port = opts.port ?? (await freePort());
    try {
      return await startOnce(opts, port, htpasswdPath, tls);
    } catch (err) {
      if (!(err instanceof PortTakenError) || i >= attempts) throw err;
      log().debug({ port }, 'port taken between probe and bind; retrying');
    }
  }
}

/** Value for an `Authorization` header, or undefined when the registry is open. */
export function basicAuthHeader(registry: Pick<RunningRegistry, 'auth'>): string | undefined {
  if (!registry.auth) return undefined;
  return 'Basic ' + Buffer.from(`${registry.auth.username}:${registry.auth.password}`).toString('base64');
}
