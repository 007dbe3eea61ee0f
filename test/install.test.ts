/** `burrow install` / `uninstall`: the docker context works through the real CLI; the unit file says what it must. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { runProcess } from './harness/clients.js';
import { burrowBin } from './harness/daemon.js';

const bed = inject('testbed');
const home = await mkdtemp(join(tmpdir(), 'burrow-install-'));
afterAll(() => rm(home, { recursive: true, force: true }));

/** The user's environment as a login would give it: no DOCKER_HOST, the shared daemon's runtime dir. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: join(home, 'docker'), XDG_CONFIG_HOME: join(home, 'config'), XDG_RUNTIME_DIR: dirname(dirname(bed.socket)) };
  delete env.DOCKER_HOST;
  delete env.DOCKER_CONTEXT;
  return env;
}

describe('burrow install', () => {
  it('creates the docker context "burrow" for the socket; docker context use burrow then just works; uninstall removes it', async () => {
    const env = userEnv();
    const installed = await runProcess(burrowBin, ['install'], { env });
    expect(installed.code, installed.stderr).toBe(0);
    expect(installed.stdout).toContain(`created the docker context "burrow" → unix://${bed.socket}`);
    // No user systemd on these machines: it says so and names the command instead.
    if (installed.stdout.includes('no systemd user instance')) expect(installed.stdout).toContain(`${burrowBin} daemon`);
    expect((await runProcess('docker', ['--context', 'burrow', 'version', '--format', '{{.Server.Version}}'], { env })).code).toBe(0);
    expect((await runProcess('docker', ['context', 'use', 'burrow'], { env })).code).toBe(0);
    const ps = await runProcess('docker', ['ps', '--format', '{{.ID}}'], { env });
    expect(ps.code, ps.stderr).toBe(0);
    // A second install updates it in place.
    expect((await runProcess(burrowBin, ['install'], { env })).stdout).toContain('updated the docker context "burrow"');

    const removed = await runProcess(burrowBin, ['uninstall'], { env });
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toContain('removed the docker context "burrow"');
    const contexts = await runProcess('docker', ['context', 'ls', '--format', '{{.Name}}'], { env });
    expect(contexts.stdout.split('\n')).not.toContain('burrow');
    expect((await runProcess('docker', ['context', 'show'], { env })).stdout.trim()).toBe('default');
  });

  it('--print-unit gives the systemd user unit: the daemon alone is stopped, containers outlive it', async () => {
    const r = await runProcess(burrowBin, ['install', '--print-unit'], { env: userEnv() });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`ExecStart=${burrowBin} daemon\n`);
    expect(r.stdout).toContain('KillMode=process\n');
    expect(r.stdout).toContain('Restart=on-failure\n');
    expect(r.stdout).toMatch(/^Environment=PATH=\S+$/m);
    expect(r.stdout).toContain('[Install]\nWantedBy=default.target\n');
  });
});
