import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { rawRequest, runProcess } from './harness/clients.js';
import { waitFor } from './harness/container-kit.js';
import { isolatedTestbed } from './harness/isolated.js';
import { pushRyukImage } from './harness/ryuk-image.js';
import { labelledIds } from './harness/labelled.js';

// testcontainers-python 4.x from PyPI (the venv of scripts/install-python-clients.sh, run as
// `burrow-tools-python`), with Ryuk on, its default. Its reaper image is RYUK_CONTAINER_IMAGE,
// here testcontainers/ryuk at the tag it asks for, from the test registry.
const bed = await isolatedTestbed();
const ryuk = await pushRyukImage(bed.registry);
const busybox = bed.images.busybox.reference;
const env: Record<string, string> = { DOCKER_HOST: bed.dockerHost, RYUK_CONTAINER_IMAGE: ryuk.python };
// Where the test host is itself a container (/.dockerenv, as on CI), testcontainers looks for
// published ports at a gateway, as for a dockerd beside it; a rootless engine's ports are on the
// host's loopback, which users in that case name with the documented overrides.
if (existsSync('/.dockerenv')) Object.assign(env, { TESTCONTAINERS_HOST_OVERRIDE: '127.0.0.1', TESTCONTAINERS_CONNECTION_MODE: 'docker_host' });

const python = (script: string, args: string[] = []) => runProcess('burrow-tools-python', ['-c', script, ...args], { env, timeoutMs: 120_000 });

const listIds = (kind: 'containers' | 'networks', label: string): Promise<string[]> => labelledIds(bed.socket, kind, label);

const RYUK_LABEL = 'org.testcontainers.ryuk=true';

describe('testcontainers-python with Ryuk', () => {
  it('starts a container with a mapped port, waits for its log, execs, and leaves nothing behind', { timeout: 120_000 }, async () => {
    const r = await python(
      `
import sys, urllib.request
import testcontainers
from importlib.metadata import version
from testcontainers.core.container import DockerContainer, Reaper
from testcontainers.core.wait_strategies import LogMessageWaitStrategy
print('testcontainers', version('testcontainers'))
c = (DockerContainer(sys.argv[1])
     .with_command(['sh', '-c', 'echo ready; exec httpd -f -p 8080 -h /etc'])
     .with_exposed_ports(8080)
     .waiting_for(LogMessageWaitStrategy('ready')))
with c:
    url = f'http://{c.get_container_host_ip()}:{c.get_exposed_port(8080)}/passwd'
    print('fetched', 'root:x:0:0' in urllib.request.urlopen(url, timeout=10).read().decode())
    code, out = c.exec(['echo', 'from-exec'])
    print('exec', code, out.decode().strip())
    reaper = Reaper._container.get_wrapped_container()
    print('reaper', reaper.image.tags, reaper.status)
    print('session', c.get_wrapped_container().labels['org.testcontainers.session-id'])
`,
      [busybox],
    );
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n');
    expect(lines.slice(0, 4)).toEqual(['testcontainers 4.15.0', 'fetched True', 'exec 0 from-exec', `reaper ['${ryuk.python}'] running`]);
    const session = lines[4].replace(/^session /, '');
    expect(session).toMatch(/^[0-9a-f-]{8,}$/);
    // Its container went at the end of the `with`, its reaper at exit (stopped, then auto-removed).
    await waitFor(async () => (await listIds('containers', RYUK_LABEL)).length === 0, 30_000);
    expect(await listIds('containers', `org.testcontainers.session-id=${session}`)).toEqual([]);
  });

  it('reaps the container and network of a python process killed with SIGKILL', { timeout: 180_000 }, async () => {
    const script = `
import json, sys, time
from testcontainers.core.container import DockerContainer
from testcontainers.core.network import Network
from testcontainers.core.labels import SESSION_ID
net = Network().create()
c = DockerContainer(sys.argv[1]).with_command(['sleep', '600']).with_network(net).start()
print(json.dumps({'session': SESSION_ID, 'container': c.get_wrapped_container().id, 'network': net.id}), flush=True)
time.sleep(600)
`;
    // This reaper runs privileged, as testcontainers-java starts it by default and as users opt into
    // here: a privileged rootless container with the engine's socket bound in. testcontainers-python
    // hands RYUK_RECONNECTION_TIMEOUT to the reaper; a short one keeps the wait short.
    const child = spawn('burrow-tools-python', ['-c', script, busybox], {
      env: { ...process.env, ...env, TESTCONTAINERS_RYUK_PRIVILEGED: 'true', RYUK_RECONNECTION_TIMEOUT: '2s' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const made = await new Promise<{ session: string; container: string; network: string }>((resolveMade, reject) => {
      child.stdout.on('data', (b: Buffer) => {
        stdout += b.toString();
        if (stdout.includes('\n')) resolveMade(JSON.parse(stdout.split('\n')[0]) as { session: string; container: string; network: string });
      });
      child.once('exit', (code, signal) => reject(new Error(`python exited (${code ?? signal}) before starting its container:\n${stdout}\n${stderr}`)));
    }).catch(async (err: unknown) => {
      child.kill('SIGKILL');
      await exited;
      throw err;
    });
    const sessionLabel = `org.testcontainers.session-id=${made.session}`;
    expect(await listIds('containers', sessionLabel)).toEqual([made.container]);
    expect(await listIds('networks', sessionLabel)).toEqual([made.network]);
    const reapers = await listIds('containers', RYUK_LABEL);
    expect(reapers).toHaveLength(1);
    const reaper = await rawRequest(bed.socket, 'GET', `/containers/${reapers[0]}/json`);
    const reaperJson = JSON.parse(reaper.body) as { HostConfig: { Privileged: boolean }; Config: { Env: string[] } };
    expect(reaperJson.HostConfig.Privileged).toBe(true);
    expect(reaperJson.Config.Env).toContain('RYUK_RECONNECTION_TIMEOUT=2s');

    child.kill('SIGKILL');
    await exited;

    // No atexit ran: only Ryuk, after its reconnection timeout, removes what the session made.
    await waitFor(async () => (await listIds('containers', sessionLabel)).length === 0 && (await listIds('networks', sessionLabel)).length === 0, 120_000);
    await waitFor(async () => (await listIds('containers', RYUK_LABEL)).length === 0, 30_000);
  });
});
