import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';

export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `onStdout` sees the output as it comes, for a test that waits on a long-running client. */
export function runProcess(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; onStdout?: (text: string) => void } = {},
): Promise<ProcessResult> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
      opts.onStdout?.(b.toString());
    });
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolveRun({ code, stdout, stderr });
    });
    // A child that exits without reading its stdin (kill, tmux) must not fail the test with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** A docker CLI bound to one daemon, with its own config dir so tests never touch ~/.docker. */
export function dockerCli(dockerHost: string) {
  // Under the test bed's scratch dir (removed at teardown) when there is one, even if a worker is killed.
  const config = mkdtempSync(join(process.env.BURROW_TEST_SCRATCH || tmpdir(), 'burrow-docker-config-'));
  process.once('exit', () => rmSync(config, { recursive: true, force: true }));
  return (args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}) =>
    runProcess('docker', args, { ...opts, env: { DOCKER_HOST: dockerHost, DOCKER_CONFIG: config, ...opts.env } });
}

/** docker-py from Debian's python3-docker, run by the system python. */
export function dockerPy(dockerHost: string, script: string): Promise<ProcessResult> {
  return runProcess('/usr/bin/python3', ['-c', script], { env: { DOCKER_HOST: dockerHost } });
}

/**
 * docker-py put_archive of py.txt ("from python\n") into `dir` of `container` (the tar gzipped or
 * not), then get_archive of it back; prints "<member> <stat name> <stat size> <content>".
 */
export function dockerPyArchiveRoundTrip(dockerHost: string, container: string, dir: string, gzip: boolean): Promise<ProcessResult> {
  return dockerPy(
    dockerHost,
    `
import docker, io, tarfile
client = docker.from_env()
c = client.containers.get(${JSON.stringify(container)})
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode=${JSON.stringify(gzip ? 'w:gz' : 'w')}) as t:
    data = b'from python\\n'
    info = tarfile.TarInfo('py.txt'); info.size = len(data)
    t.addfile(info, io.BytesIO(data))
assert c.put_archive(${JSON.stringify(dir)}, buf.getvalue()) is True
stream, stat = c.get_archive(${JSON.stringify(`${dir}/py.txt`)})
raw = b''.join(stream)
with tarfile.open(fileobj=io.BytesIO(raw)) as t:
    print(t.getnames()[0], stat['name'], stat['size'], t.extractfile('py.txt').read().decode().strip())
`,
  );
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A plain HTTP request over the daemon's unix socket, for status codes and headers clients hide. */
export function rawRequest(socket: string, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolveReq, reject) => {
    const req = request({ socketPath: socket, method, path, headers: { ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers } }, (res) => {
      let text = '';
      res.on('data', (b: Buffer) => (text += b.toString()));
      res.on('end', () => resolveReq({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
