/**
 * The classic builder's RUN containers (network modes, extra hosts, resources), ADD of URLs (served
 * by a loopback HTTP server in this file) and cancelling a build when its client goes away.
 */
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import { dockerCli, dockerPy, rawRequest } from './harness/clients.js';
import { isolatedTestbed } from './harness/isolated.js';
import { buildContexts } from './harness/build-context.js';
import { writeTar } from './harness/tar.js';

const bed = await isolatedTestbed();
const docker = dockerCli(bed.dockerHost);
const busybox = bed.images.busybox.reference;
const legacy = { DOCKER_BUILDKIT: '0' };

/** 2015-10-21T07:28:00Z */
const LAST_MODIFIED = 'Wed, 21 Oct 2015 07:28:00 GMT';
const LAST_MODIFIED_EPOCH = 1_445_412_480;

/** What the loopback server serves; tests change `hello` to prove the cache follows the content. */
const served = { hello: 'hello over http\n' };
const hanging: { requests: IncomingMessage[]; responses: ServerResponse[]; closed: number } = { requests: [], responses: [], closed: 0 };
let base = '';

const server = createServer((req, res) => {
  const path = req.url ?? '/';
  if (path === '/ping') return res.end('pong\n');
  if (path === '/files/hello.txt') {
    res.setHeader('Last-Modified', LAST_MODIFIED);
    return res.end(served.hello);
  }
  if (path === '/files/plain') return res.end('no date\n');
  if (path === '/files/bundle.tar') {
    res.setHeader('Content-Type', 'application/x-tar');
    return res.end(writeTar([{ type: 'file', name: 'inner.txt', content: 'inside\n' }]));
  }
  if (path === '/cd/') {
    res.setHeader('Content-Disposition', 'attachment; filename="named.txt"');
    return res.end('named by the header\n');
  }
  if (path === '/') return res.end('the index\n');
  if (path === '/hang') {
    hanging.requests.push(req);
    hanging.responses.push(res);
    req.socket.once('close', () => hanging.closed++);
    return undefined;
  }
  res.statusCode = 404;
  res.end('no such file\n');
});

const { context, cleanup: removeContexts } = buildContexts('burrow-build-run');

async function eventually(what: string, check: () => Promise<boolean>, limitMs = 30_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function containers(): Promise<string[]> {
  const r = await docker(['ps', '-a', '-q', '--no-trunc']);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.split('\n').filter((l) => l !== '');
}

/** The daemon is healthy and the build left nothing: no container, no tag. */
async function expectCleanAfterCancel(tag: string): Promise<void> {
  await eventually('the step container to go', async () => (await containers()).length === 0);
  expect((await docker(['image', 'inspect', tag])).code).not.toBe(0);
  const version = await docker(['version', '--format', '{{.Server.Version}}']);
  expect(version.code, version.stderr).toBe(0);
}

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const r = await docker(['pull', busybox]);
  expect(r.code, r.stderr).toBe(0);
});

afterAll(async () => {
  for (const res of hanging.responses) res.destroy();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await removeContexts();
});

/** Prints what a RUN container sees of its network, one `key: value` per line. */
function probeDockerfile(): string {
  return `FROM ${busybox}
RUN echo "hostname: $(hostname)"; \\
    ip -4 -o addr show | grep -v ' lo ' | sed 's/^/addr: /'; \\
    echo "ifaces: $(ls /sys/class/net | tr '\\n' ' ')"; \\
    grep -v '^#' /etc/hosts | sed 's/^/hosts: /'; \\
    grep '^nameserver' /etc/resolv.conf | sed 's/^/resolv: /'; \\
    echo "loopback: $(timeout 5 wget -q -O - ${base}/ping || echo unreachable)"; \\
    echo "shm: $(df -k /dev/shm | tail -n 1 | awk '{print $2}')"; \\
    echo "nofile: $(ulimit -n)"
`;
}

interface Probe {
  runningIn: string;
  hostname: string;
  addrs: string[];
  ifaces: string[];
  hosts: string[];
  resolv: string[];
  loopback: string;
  shm: string;
  nofile: string;
}

function parseProbe(output: string): Probe {
  // A RUN step's stderr comes wrapped in \e[91m…\e[0m, as dockerd sends it: only the text counts here.
  const stdout = output.replace(/\x1b\[[0-9;]*m/g, '');
  const values = (key: string): string[] => [...stdout.matchAll(new RegExp(`^${key}: (.*)$`, 'gm'))].map((m) => m[1].trim());
  return {
    runningIn: stdout.match(/ ---> Running in ([0-9a-f]{12})\n/)?.[1] ?? '',
    hostname: values('hostname')[0] ?? '',
    addrs: values('addr').map((l) => l.match(/inet (\d+\.\d+\.\d+\.\d+)\//)?.[1] ?? l),
    ifaces: (values('ifaces')[0] ?? '').split(/\s+/).filter((i) => i !== ''),
    hosts: values('hosts'),
    resolv: values('resolv'),
    loopback: values('loopback')[0] ?? '',
    shm: values('shm')[0] ?? '',
    nofile: values('nofile')[0] ?? '',
  };
}

async function probe(flags: string[]): Promise<{ code: number | null; out: string; probe: Probe }> {
  const dir = await context({ Dockerfile: probeDockerfile() });
  const r = await docker(['build', '--no-cache', ...flags, dir], { env: legacy });
  return { code: r.code, out: r.stdout + r.stderr, probe: parseProbe(r.stdout) };
}

describe('RUN containers', () => {
  it('run on the default bridge like dockerd: own address, hostname = container id, /etc/hosts names it; loopback is their own', async () => {
    const r = await probe([]);
    expect(r.code, r.out).toBe(0);
    const p = r.probe;
    expect(p.runningIn).toMatch(/^[0-9a-f]{12}$/);
    expect(p.hostname).toBe(p.runningIn);
    expect(p.addrs).toHaveLength(1);
    expect(p.addrs[0]).toMatch(/^172\.17\.\d+\.\d+$/);
    expect(p.hosts).toContain(`${p.addrs[0]}\t${p.hostname}`);
    expect(p.hosts.some((l) => /^127\.0\.0\.1\s+localhost/.test(l))).toBe(true);
    expect(p.resolv.length).toBeGreaterThan(0);
    expect(p.loopback).toBe('unreachable');
    expect(await containers()).toEqual([]);
    // "default" (what the docker CLI sends without --network) is the same bridge.
    const d = await probe(['--network', 'default']);
    expect(d.code, d.out).toBe(0);
    expect(d.probe.addrs[0]).toMatch(/^172\.17\.\d+\.\d+$/);
  });

  it('--network host shares the daemon host network (its loopback answers); --network none has only lo', async () => {
    const host = await probe(['--network', 'host']);
    expect(host.code, host.out).toBe(0);
    expect(host.probe.loopback).toBe('pong');
    expect(host.probe.ifaces.length).toBeGreaterThan(1);

    const none = await probe(['--network', 'none']);
    expect(none.code, none.out).toBe(0);
    expect(none.probe.ifaces).toEqual(['lo']);
    expect(none.probe.addrs).toEqual([]);
    expect(none.probe.loopback).toBe('unreachable');
  });

  it('--network <user network> joins it; an unknown network fails the step with dockerd\'s error and leaves no container', async () => {
    const made = await docker(['network', 'create', '--subnet', '10.88.0.0/24', 'brun-net']);
    expect(made.code, made.stderr).toBe(0);
    const r = await probe(['--network', 'brun-net']);
    expect(r.code, r.out).toBe(0);
    expect(r.probe.addrs[0]).toMatch(/^10\.88\.0\.\d+$/);
    expect(r.probe.hosts).toContain(`${r.probe.addrs[0]}\t${r.probe.hostname}`);

    const missing = await probe(['--network', 'brun-nosuch']);
    expect(missing.code).not.toBe(0);
    expect(missing.out).toContain('network brun-nosuch not found');
    expect(await containers()).toEqual([]);
    expect((await docker(['network', 'rm', 'brun-net'])).code).toBe(0);
  });

  it('--add-host, --shm-size and --ulimit reach the RUN container', async () => {
    const r = await probe(['--add-host', 'extra.example:10.9.8.7', '--add-host', 'other.example:10.9.8.8', '--shm-size', '16m', '--ulimit', 'nofile=512:512', '--memory', '256m', '--cpu-shares', '512']);
    expect(r.code, r.out).toBe(0);
    expect(r.probe.hosts).toContain('10.9.8.7\textra.example');
    expect(r.probe.hosts).toContain('10.9.8.8\tother.example');
    expect(r.probe.shm).toBe('16384');
    expect(r.probe.nofile).toBe('512');
  });

  it('query parameters are read as dockerd reads them: bad ulimits, security options and isolation are refused before the build', async () => {
    const ulimits = await rawRequest(bed.socket, 'POST', '/build?ulimits=notjson');
    expect(ulimits.status).toBe(400);
    expect(JSON.parse(ulimits.body).message).toMatch(/^error reading ulimit settings: /);
    const secopt = await rawRequest(bed.socket, 'POST', '/build?securityopt=seccomp%3Dunconfined');
    expect(secopt.status).toBe(400);
    expect(JSON.parse(secopt.body).message).toBe('The daemon on this platform does not support setting security options on build');
    const isolation = await rawRequest(bed.socket, 'POST', '/build?isolation=hyperv');
    expect(isolation.status).toBe(400);
    expect(JSON.parse(isolation.body).message).toBe('Unsupported isolation: "hyperv"');
    // Int64ValueOrZero: a malformed number is no limit at all, not an error.
    const tar = writeTar([{ type: 'file', name: 'Dockerfile', content: `FROM ${busybox}\nRUN true\n` }]);
    const client = new Docker({ socketPath: bed.socket });
    const stream = await client.buildImage(Readable.from([tar]), { memory: 'lots', cpushares: '1.5', networkmode: 'default' } as unknown as Docker.ImageBuildOptions);
    const output = await new Promise<{ error?: string }[]>((resolve, reject) => client.modem.followProgress(stream, (err, res) => (err ? reject(err) : resolve(res))));
    expect(output.find((m) => m.error)?.error).toBeUndefined();
  });

  it('docker-py images.build(network_mode=<network>, extra_hosts={…}) passes both', async () => {
    const made = await docker(['network', 'create', '--subnet', '10.89.0.0/24', 'brun-pynet']);
    expect(made.code, made.stderr).toBe(0);
    const dir = await context({ Dockerfile: probeDockerfile() });
    const script = `import docker
c = docker.from_env()
img, logs = c.images.build(path=${JSON.stringify(dir)}, tag='brun-py', nocache=True, rm=True, network_mode='brun-pynet', extra_hosts={'py-one.example': '10.1.1.1', 'py-two.example': '10.1.1.2'})
print(''.join(l.get('stream', '') for l in logs), end='')
`;
    const r = await dockerPy(bed.dockerHost, script);
    expect(r.stderr).toBe('');
    const p = parseProbe(r.stdout);
    expect(p.addrs[0]).toMatch(/^10\.89\.0\.\d+$/);
    expect(p.hosts).toContain('10.1.1.1\tpy-one.example');
    expect(p.hosts).toContain('10.1.1.2\tpy-two.example');
    expect(await containers()).toEqual([]);
  });
});

describe('ADD <url>', () => {
  it('names the file after the URL or the destination, mode 0600, mtime from Last-Modified; never unpacks; mixes with local files', async () => {
    const dir = await context({
      'local.txt': 'from the context\n',
      Dockerfile: `FROM ${busybox}
ADD ${base}/files/hello.txt /dl/
ADD ${base}/files/hello.txt /renamed.txt
ADD ${base}/files/plain /plain
ADD ${base}/files/bundle.tar /tars/
ADD ${base}/cd/ /cd/
ADD ${base}/ /index-file
ADD local.txt ${base}/files/plain /mixed/
`,
    });
    const r = await docker(['build', '-t', 'brun-add', dir], { env: legacy });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const stat = await docker(['run', '--rm', 'brun-add', 'sh', '-c', 'cd / && stat -c "%n %a %u:%g %Y" dl/hello.txt renamed.txt plain tars/bundle.tar cd/named.txt index-file mixed/local.txt mixed/plain; cat dl/hello.txt index-file cd/named.txt']);
    expect(stat.stderr).toBe('');
    const lines = stat.stdout.split('\n');
    expect(lines.slice(0, 8)).toEqual([
      `dl/hello.txt 600 0:0 ${LAST_MODIFIED_EPOCH}`,
      `renamed.txt 600 0:0 ${LAST_MODIFIED_EPOCH}`,
      'plain 600 0:0 0',
      'tars/bundle.tar 600 0:0 0',
      'cd/named.txt 600 0:0 0',
      'index-file 600 0:0 0',
      expect.stringMatching(/^mixed\/local\.txt 644 0:0 \d+$/),
      'mixed/plain 600 0:0 0',
    ]);
    expect(lines.slice(8).join('\n')).toBe('hello over http\nthe index\nnamed by the header\n');
    const history = await docker(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'brun-add']);
    expect(history.stdout).toMatch(/ADD file:[0-9a-f]{64} in \/dl\//);
  });

  it('an unchanged URL is "Using cache"; changed content is downloaded into a new layer', async () => {
    const dir = await context({ Dockerfile: `FROM ${busybox}\nADD ${base}/files/hello.txt /hello.txt\nRUN cat /hello.txt\n` });
    served.hello = 'version one\n';
    const first = await docker(['build', '-t', 'brun-cache', dir], { env: legacy });
    expect(first.code, first.stderr + first.stdout).toBe(0);
    const again = await docker(['build', '-t', 'brun-cache', dir], { env: legacy });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout.match(/ ---> Using cache/g)?.length).toBe(2);
    expect(again.stdout).not.toContain('Running in');
    served.hello = 'version two\n';
    const changed = await docker(['build', '-t', 'brun-cache', dir], { env: legacy });
    expect(changed.code, changed.stderr).toBe(0);
    expect(changed.stdout).not.toContain('Using cache');
    expect(changed.stdout).toContain('version two');
    expect((await docker(['run', '--rm', 'brun-cache', 'cat', '/hello.txt'])).stdout).toBe('version two\n');
    served.hello = 'hello over http\n';
  });

  it('HTTP errors and unusable URLs fail the step with dockerd\'s wording', async () => {
    const notFound = await docker(['build', await context({ Dockerfile: `FROM ${busybox}\nADD ${base}/missing /x\n` })], { env: legacy });
    expect(notFound.code).not.toBe(0);
    expect(notFound.stderr + notFound.stdout).toContain(`ADD failed: failed to GET ${base}/missing with status 404 Not Found: no such file`);

    const noName = await docker(['build', await context({ Dockerfile: `FROM ${busybox}\nADD ${base}/ /dir/\n` })], { env: legacy });
    expect(noName.code).not.toBe(0);
    expect(noName.stderr + noName.stdout).toContain(`cannot determine filename for source ${base}/`);

    const refused = await docker(['build', await context({ Dockerfile: `FROM ${busybox}\nADD http://127.0.0.1:1/x /x\n` })], { env: legacy });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr + refused.stdout).toMatch(/ADD failed: Get "http:\/\/127\.0\.0\.1:1\/x": connect ECONNREFUSED/);

    const copy = await docker(['build', await context({ Dockerfile: `FROM ${busybox}\nCOPY ${base}/files/plain /x\n` })], { env: legacy });
    expect(copy.code).not.toBe(0);
    expect(copy.stderr + copy.stdout).toContain("COPY failed: source can't be a URL for COPY");
    expect(await containers()).toEqual([]);
  });
});

describe('cancelling a build', () => {
  // The marker is computed, so the step's header line ("Step 2/2 : RUN …") never matches it.
  const sleeper = `FROM ${busybox}\nRUN echo "started-$((6 * 7))" && sleep 60\n`;

  /** Starts a dockerode build of `sleeper`, waits until its output shows `marker`, then aborts it. */
  async function abortOnceSeen(tag: string, marker: string, whileRunning?: () => Promise<void>): Promise<void> {
    const client = new Docker({ socketPath: bed.socket });
    const abort = new AbortController();
    const tar = writeTar([{ type: 'file', name: 'Dockerfile', content: sleeper }]);
    const stream = await client.buildImage(Readable.from([tar]), { t: tag, abortSignal: abort.signal });
    stream.on('error', () => undefined);
    try {
      await new Promise<void>((resolve, reject) => {
        let seen = '';
        stream.on('data', (b: Buffer) => {
          seen += b.toString();
          if (seen.includes(marker)) resolve();
        });
        stream.on('end', () => reject(new Error(`the build ended before "${marker}":\n${seen}`)));
      });
      await whileRunning?.();
    } finally {
      abort.abort();
    }
  }

  it('dockerode aborting the request kills and removes the RUN container and tags nothing', async () => {
    await abortOnceSeen('brun-cancel-dockerode', 'started-42', async () => expect(await containers()).toHaveLength(1));
    await expectCleanAfterCancel('brun-cancel-dockerode');
  });

  it('a client leaving as the RUN step begins (before or while its container is made) leaves no container either', async () => {
    await abortOnceSeen('brun-cancel-early', 'Step 2/2');
    await expectCleanAfterCancel('brun-cancel-early');
  });

  it('Ctrl-C of docker build (the CLI disconnects) does the same; the next build works', async () => {
    const dir = await context({ Dockerfile: sleeper });
    const child = spawn('docker', ['build', '-t', 'brun-cancel-cli', dir], { env: { ...process.env, DOCKER_HOST: bed.dockerHost, ...legacy }, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<void>((r) => child.once('close', () => r()));
    let seen = '';
    child.stdout.on('data', (b: Buffer) => (seen += b.toString()));
    child.stderr.on('data', (b: Buffer) => (seen += b.toString()));
    try {
      await eventually('the RUN step to start', async () => seen.includes('started-42'));
    } finally {
      child.kill('SIGINT');
    }
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
    await expectCleanAfterCancel('brun-cancel-cli');

    const next = await docker(['build', '-t', 'brun-after-cancel', await context({ Dockerfile: `FROM ${busybox}\nRUN echo fine > /fine\n` })], { env: legacy });
    expect(next.code, next.stderr + next.stdout).toBe(0);
    expect((await docker(['run', '--rm', 'brun-after-cancel', 'cat', '/fine'])).stdout).toBe('fine\n');
  });

  it('a client leaving during an ADD <url> from a server that never answers cancels the download', async () => {
    const client = new Docker({ socketPath: bed.socket });
    const abort = new AbortController();
    const tar = writeTar([{ type: 'file', name: 'Dockerfile', content: `FROM ${busybox}\nADD ${base}/hang /hang\n` }]);
    const before = hanging.requests.length;
    const stream = await client.buildImage(Readable.from([tar]), { t: 'brun-cancel-add', abortSignal: abort.signal });
    stream.on('error', () => undefined);
    stream.resume();
    await eventually('the daemon to ask for the URL', async () => hanging.requests.length > before);
    const closedBefore = hanging.closed;
    abort.abort();
    await eventually('the daemon to drop the download', async () => hanging.closed > closedBefore);
    await expectCleanAfterCancel('brun-cancel-add');
  });
});
