/**
 * remote= build contexts: tars (gzipped or plain) and Dockerfiles served by a loopback HTTP server
 * in this file, dockerd's errors for a failed download, and git repositories served over loopback
 * by `git daemon` (git://, shallow) and as static files (dumb HTTP, a URL ending in .git).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerCli, dockerPy, rawRequest, runProcess } from './harness/clients.js';
import { isolatedTestbed } from './harness/isolated.js';
import { writeTar } from './harness/tar.js';

const bed = await isolatedTestbed();
const docker = dockerCli(bed.dockerHost);
const busybox = bed.images.busybox.reference;

const COPY_DOCKERFILE = `FROM ${busybox}\nCOPY hello.txt /hello.txt\nCMD ["cat", "/hello.txt"]\n`;
const contextTar = writeTar([
  { type: 'file', name: 'Dockerfile', content: COPY_DOCKERFILE },
  { type: 'file', name: 'hello.txt', content: 'hello from a remote context\n' },
]);
const nestedTar = writeTar([
  { type: 'dir', name: 'build/' },
  { type: 'file', name: 'build/Dockerfile.custom', content: `FROM ${busybox}\nCOPY data/value.txt /value.txt\nCMD ["cat", "/value.txt"]\n` },
  { type: 'dir', name: 'data/' },
  { type: 'file', name: 'data/value.txt', content: 'picked by dockerfile=\n' },
]);
const PLAIN_DOCKERFILE = `FROM ${busybox}\nRUN echo "made by a remote Dockerfile" > /made\nCMD ["cat", "/made"]\n`;

const hanging: { requests: number; closed: number; responses: ServerResponse[] } = { requests: 0, closed: 0, responses: [] };
/** Where the bare repositories live; served as static files under /git/ (dumb HTTP). */
let gitRoot = '';
let base = '';

function send(res: ServerResponse, body: Buffer | string, type?: string): void {
  if (type) res.setHeader('Content-Type', type);
  res.end(body);
}

const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/ctx.tar.gz') return send(res, gzipSync(contextTar), 'application/x-gzip');
  // No Content-Type: dockerd sniffs the first bytes (a plain tar is binary, so an archive).
  if (path === '/ctx.tar') return send(res, contextTar);
  if (path === '/nested.tar') return send(res, nestedTar, 'application/x-tar');
  if (path === '/Dockerfile') return send(res, PLAIN_DOCKERFILE, 'text/plain; charset=utf-8');
  // Served as octet-stream, as many servers do for a file without extension: sniffed as text.
  if (path === '/sniffed/Dockerfile') return send(res, PLAIN_DOCKERFILE, 'application/octet-stream');
  if (path === '/empty') return send(res, '', 'application/x-tar');
  if (path === '/page.html') return send(res, '<html><body>not a context</body></html>', 'text/html');
  if (path === '/hang') {
    hanging.requests++;
    hanging.responses.push(res);
    req.socket.once('close', () => hanging.closed++);
    return undefined;
  }
  if (path.startsWith('/git/') && gitRoot) {
    const file = normalize(join(gitRoot, path.slice('/git/'.length)));
    if (file.startsWith(gitRoot)) {
      readFile(file).then(
        (b) => send(res, b, 'text/plain'),
        () => {
          res.statusCode = 404;
          res.end('no such file\n');
        },
      );
      return undefined;
    }
  }
  res.statusCode = 404;
  res.end('no such file\n');
});

let gitDaemon: ChildProcess | undefined;
let gitPort = 0;

async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function git(args: string[], cwd?: string): Promise<void> {
  const r = await runProcess('git', ['-c', 'user.name=burrow', '-c', 'user.email=burrow@example.invalid', '-c', 'init.defaultBranch=master', ...(cwd ? ['-C', cwd] : []), ...args], {
    env: { GIT_CONFIG_NOSYSTEM: '1' },
  });
  expect(r.code, r.stderr).toBe(0);
}

/**
 * A repository with `sub/` as a context on master and a different one on the branch `feature`,
 * cloned bare into gitRoot/repo.git (static files for dumb HTTP), and a git daemon serving gitRoot.
 */
async function setUpGit(): Promise<void> {
  gitRoot = await mkdtemp(join(tmpdir(), 'burrow-build-remote-git-'));
  const work = join(gitRoot, 'work');
  await mkdir(join(work, 'sub'), { recursive: true });
  await writeFile(join(work, 'sub', 'Dockerfile'), `FROM ${busybox}\nCOPY branch.txt /branch.txt\nCMD ["cat", "/branch.txt"]\n`);
  await writeFile(join(work, 'sub', 'branch.txt'), 'master\n');
  await git(['init', '-q', work]);
  await git(['add', '.'], work);
  await git(['commit', '-q', '-m', 'master'], work);
  await git(['checkout', '-q', '-b', 'feature'], work);
  await writeFile(join(work, 'sub', 'branch.txt'), 'feature\n');
  await git(['commit', '-q', '-a', '-m', 'feature'], work);
  await git(['clone', '-q', '--bare', '--no-local', work, join(gitRoot, 'repo.git')]);
  await git(['update-server-info'], join(gitRoot, 'repo.git'));
  gitPort = await freePort();
  const daemon = spawn('git', ['daemon', '--verbose', '--export-all', '--reuseaddr', `--base-path=${gitRoot}`, '--listen=127.0.0.1', `--port=${gitPort}`, gitRoot], { stdio: ['ignore', 'ignore', 'pipe'] });
  gitDaemon = daemon;
  await new Promise<void>((resolve, reject) => {
    let said = '';
    const timer = setTimeout(() => reject(new Error(`git daemon did not start: ${said}`)), 20_000);
    daemon.stderr?.on('data', (b: Buffer) => {
      said += b.toString();
      if (said.includes('Ready to rumble')) {
        clearTimeout(timer);
        resolve();
      }
    });
    daemon.once('exit', (code) => reject(new Error(`git daemon exited (${code}): ${said}`)));
  });
}

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const r = await docker(['pull', busybox]);
  expect(r.code, r.stderr).toBe(0);
  await setUpGit();
});

afterAll(async () => {
  gitDaemon?.kill();
  for (const res of hanging.responses) res.destroy();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  if (gitRoot) await rm(gitRoot, { recursive: true, force: true });
});

async function eventually(what: string, check: () => Promise<boolean> | boolean, limitMs = 30_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function runImage(tag: string): Promise<string> {
  const r = await docker(['run', '--rm', tag]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

interface StreamLine {
  stream?: string;
  status?: string;
  id?: string;
  error?: string;
  aux?: { ID?: string };
}

/** POST /build over the socket; a 200's JSON lines parsed. */
async function build(query: Record<string, string>, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; lines: StreamLine[]; body: string }> {
  const r = await rawRequest(bed.socket, 'POST', `/build?${new URLSearchParams(query).toString()}`, body, headers);
  const lines = r.status === 200 ? r.body.split(/\r?\n/).filter((l) => l !== '').map((l) => JSON.parse(l) as StreamLine) : [];
  return { status: r.status, lines, body: r.body };
}

describe('remote= over http', () => {
  it('docker-py images.build(path=<url of a gzipped tar>) builds the context with its COPY; the image runs', async () => {
    const script = `import docker
c = docker.from_env()
img, logs = c.images.build(path=${JSON.stringify(`${base}/ctx.tar.gz`)}, tag='bremote-py')
logs = list(logs)
print(''.join(l.get('stream', '') for l in logs), end='')
print('progress:', any(l.get('id') == 'Downloading context' and l.get('status') == ${JSON.stringify(`${base}/ctx.tar.gz`)} for l in logs))
`;
    const r = await dockerPy(bed.dockerHost, script);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('Step 2/3 : COPY hello.txt /hello.txt');
    expect(r.stdout).toContain('Successfully tagged bremote-py:latest');
    expect(r.stdout).toContain('progress: True');
    expect(await runImage('bremote-py')).toBe('hello from a remote context\n');
  });

  it('a plain tar without a Content-Type is sniffed as an archive; a request body sent alongside is ignored', async () => {
    const r = await build({ remote: `${base}/ctx.tar`, t: 'bremote-plain' }, 'this body is not a tar and is never read', { 'Content-Type': 'application/x-tar' });
    expect(r.status, r.body).toBe(200);
    expect(r.lines.find((l) => l.error)).toBeUndefined();
    expect(r.lines.some((l) => l.aux?.ID)).toBe(true);
    expect(await runImage('bremote-plain')).toBe('hello from a remote context\n');
  });

  it('dockerfile= names a file inside the remote tar (APIClient.build(path=<url>, dockerfile=…))', async () => {
    const script = `import docker, json
api = docker.from_env().api
out = api.build(path=${JSON.stringify(`${base}/nested.tar`)}, dockerfile='build/Dockerfile.custom', tag='bremote-nested', decode=True)
print(''.join(l.get('stream', '') or l.get('error', '') for l in out), end='')
`;
    const r = await dockerPy(bed.dockerHost, script);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('COPY data/value.txt /value.txt');
    expect(r.stdout).toContain('Successfully tagged bremote-nested:latest');
    expect(await runImage('bremote-nested')).toBe('picked by dockerfile=\n');
  });

  it('a text/plain URL is a Dockerfile with an empty context; octet-stream text is sniffed as one too', async () => {
    const plain = await build({ remote: `${base}/Dockerfile`, t: 'bremote-df' });
    expect(plain.status, plain.body).toBe(200);
    expect(plain.lines.find((l) => l.error)).toBeUndefined();
    expect(plain.lines.map((l) => l.stream ?? '').join('')).toContain('Step 2/3 : RUN echo "made by a remote Dockerfile" > /made');
    expect(await runImage('bremote-df')).toBe('made by a remote Dockerfile\n');

    const sniffed = await build({ remote: `${base}/sniffed/Dockerfile`, t: 'bremote-sniffed', dockerfile: 'Other.dockerfile' });
    expect(sniffed.status, sniffed.body).toBe(200);
    expect(sniffed.lines.find((l) => l.error)).toBeUndefined();
    expect(await runImage('bremote-sniffed')).toBe('made by a remote Dockerfile\n');
  });

  it('failures before any output are HTTP errors in dockerd words and status codes', async () => {
    const missing = await build({ remote: `${base}/missing` });
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body).message).toBe(`error downloading remote context ${base}/missing: failed to GET ${base}/missing with status 404 Not Found: no such file`);

    const empty = await build({ remote: `${base}/empty` });
    expect(empty.status).toBe(500);
    expect(JSON.parse(empty.body).message).toBe(`error detecting content type for remote ${base}/empty: empty response`);

    const html = await build({ remote: `${base}/page.html` });
    expect(html.status).toBe(500);
    expect(JSON.parse(html.body).message).toBe(`error detecting content type for remote ${base}/page.html: unsupported Content-Type "text/html"`);

    const refused = await build({ remote: 'http://127.0.0.1:1/ctx.tar' });
    expect(refused.status).toBe(500);
    expect(JSON.parse(refused.body).message).toMatch(/^error downloading remote context http:\/\/127\.0\.0\.1:1\/ctx\.tar: Get "http:\/\/127\.0\.0\.1:1\/ctx\.tar": connect ECONNREFUSED/);

    const odd = await build({ remote: 'ftp://127.0.0.1/ctx.tar' });
    expect(odd.status).toBe(500);
    expect(JSON.parse(odd.body).message).toBe('remoteURL (ftp://127.0.0.1/ctx.tar) could not be recognized as URL');

    const session = await build({ remote: 'client-session' });
    expect(session.status).toBe(400);

    // docker-py raises the 404 as NotFound with dockerd's message.
    const script = `import docker
c = docker.from_env()
try:
    c.images.build(path=${JSON.stringify(`${base}/missing.tar.gz`)})
except docker.errors.APIError as e:
    print(type(e).__name__, e.explanation)
`;
    const py = await dockerPy(bed.dockerHost, script);
    expect(py.stderr).toBe('');
    expect(py.stdout.trim()).toBe(`NotFound error downloading remote context ${base}/missing.tar.gz: failed to GET ${base}/missing.tar.gz with status 404 Not Found: no such file`);
  });

  it('a client leaving while the server says nothing cancels the download', async () => {
    const before = hanging.requests;
    const closedBefore = hanging.closed;
    const req = request({ socketPath: bed.socket, method: 'POST', path: `/build?remote=${encodeURIComponent(`${base}/hang`)}` });
    req.on('error', () => undefined);
    req.end();
    await eventually('the daemon to ask for the URL', () => hanging.requests > before);
    req.destroy();
    await eventually('the daemon to drop the download', () => hanging.closed > closedBefore);
    const version = await docker(['version', '--format', '{{.Server.Version}}']);
    expect(version.code, version.stderr).toBe(0);
  });
});

describe('remote= git repositories (served over loopback)', () => {
  it('git:// with #ref:subdir fetches the branch shallowly and builds the subdirectory', async () => {
    const r = await build({ remote: `git://127.0.0.1:${gitPort}/repo.git#feature:sub`, t: 'bremote-git' });
    expect(r.status, r.body).toBe(200);
    expect(r.lines.find((l) => l.error)).toBeUndefined();
    expect(await runImage('bremote-git')).toBe('feature\n');
  });

  it('docker-py with an http URL ending in .git (dumb HTTP, master by default, #:subdir)', async () => {
    const script = `import docker
c = docker.from_env()
img, logs = c.images.build(path=${JSON.stringify(`${base}/git/repo.git#:sub`)}, tag='bremote-githttp')
print(''.join(l.get('stream', '') for l in logs), end='')
`;
    const r = await dockerPy(bed.dockerHost, script);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('Successfully tagged bremote-githttp:latest');
    expect(await runImage('bremote-githttp')).toBe('master\n');
  });

  it('a missing ref or subdirectory fails in dockerd words', async () => {
    const ref = await build({ remote: `git://127.0.0.1:${gitPort}/repo.git#nosuchref` });
    expect(ref.status).toBe(500);
    expect(JSON.parse(ref.body).message).toMatch(/^error fetching: .*nosuchref.*: exit status 128$/s);
    const dir = await build({ remote: `git://127.0.0.1:${gitPort}/repo.git#master:nowhere` });
    expect(dir.status).toBe(500);
    expect(JSON.parse(dir.body).message).toMatch(/^stat .*\/nowhere: no such file or directory$/);
    const dash = await build({ remote: `git://127.0.0.1:${gitPort}/repo.git#--upload-pack=x` });
    expect(dash.status).toBe(500);
    expect(JSON.parse(dash.body).message).toBe('invalid refspec: --upload-pack=x');
  });
});
