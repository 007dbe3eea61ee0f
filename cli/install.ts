/**
 * `burrow install` / `burrow uninstall`, as the user: a docker context named `burrow` pointing at the
 * daemon's socket (so `docker context use burrow` just works), and a systemd user unit where systemd
 * runs for the user. Without a user systemd (SSH-only hosts, containers) it says so and prints the
 * command that starts the daemon instead. Each step says what it did.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { userUnit } from '../translate/systemd-unit.js';
import { runTool } from '../rootless/exec.js';
import { enginePaths } from '../rootless/paths.js';

const CONTEXT = 'burrow';
const UNIT = 'burrow.service';
const BURROW_BIN = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'burrow');

const usage = `Usage: burrow install [--print-unit]
       burrow uninstall

install    create the docker context "${CONTEXT}" for this user's socket, and a systemd user
           service (${UNIT}) where systemd runs for the user
uninstall  remove both again
  --print-unit   print the unit file and do nothing else
`;

const say = (line: string): void => void process.stdout.write(`${line}\n`);

function unitPath(env: NodeJS.ProcessEnv): string {
  const config = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(config, 'systemd', 'user', UNIT);
}

async function hasUserSystemd(): Promise<boolean> {
  const r = await runTool('systemctl', ['--user', 'show-environment'], { allowFailure: true, timeoutMs: 5000 }).catch(() => undefined);
  return r?.exitCode === 0;
}

async function contextExists(): Promise<boolean> {
  const r = await runTool('docker', ['context', 'inspect', CONTEXT], { allowFailure: true }).catch(() => undefined);
  return r?.exitCode === 0;
}

function unitText(env: NodeJS.ProcessEnv): string {
  return userUnit({ burrowBin: BURROW_BIN, path: env.PATH ?? '/usr/local/bin:/usr/bin:/bin' });
}

export async function installCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(usage);
    return 0;
  }
  const env = process.env;
  if (argv.includes('--print-unit')) {
    process.stdout.write(unitText(env));
    return 0;
  }
  const unknown = argv.find((a) => a !== '--print-unit');
  if (unknown) {
    process.stderr.write(`burrow install: unknown option '${unknown}'\n\n${usage}`);
    return 2;
  }
  const socket = enginePaths(env, process.getuid?.() ?? 0).defaultSocket;
  const host = `host=unix://${socket}`;
  try {
    if (await contextExists()) {
      await runTool('docker', ['context', 'update', CONTEXT, '--description', 'Burrow (rootless)', '--docker', host]);
      say(`updated the docker context "${CONTEXT}" → unix://${socket}`);
    } else {
      await runTool('docker', ['context', 'create', CONTEXT, '--description', 'Burrow (rootless)', '--docker', host]);
      say(`created the docker context "${CONTEXT}" → unix://${socket}`);
    }
  } catch (err) {
    say(`no docker context made (${err instanceof Error ? err.message : String(err)}); use DOCKER_HOST=unix://${socket}`);
  }
  if (await hasUserSystemd()) {
    const path = unitPath(env);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, unitText(env));
    say(`wrote ${path}`);
    await runTool('systemctl', ['--user', 'daemon-reload']);
    await runTool('systemctl', ['--user', 'enable', '--now', UNIT]);
    say(`enabled and started ${UNIT} (systemctl --user status ${UNIT}; journalctl --user -u ${UNIT})`);
  } else {
    say('no systemd user instance runs for you here, so no service was installed; start the daemon with:');
    say(`  ${BURROW_BIN} daemon`);
  }
  say(`then: docker context use ${CONTEXT}   (or: export DOCKER_HOST=unix://${socket})`);
  return 0;
}

export async function uninstallCommand(argv: string[]): Promise<number> {
  if (argv.length > 0) {
    process.stdout.write(usage);
    return argv.includes('--help') || argv.includes('-h') ? 0 : 2;
  }
  const env = process.env;
  if (await hasUserSystemd()) {
    await runTool('systemctl', ['--user', 'disable', '--now', UNIT], { allowFailure: true });
    say(`stopped and disabled ${UNIT}`);
  }
  const path = unitPath(env);
  if (await readFile(path).then(() => true, () => false)) {
    await rm(path, { force: true });
    say(`removed ${path}`);
  }
  if (await contextExists()) {
    // The CLI refuses to remove the context in use: the default one takes over, as after `docker context use default`.
    const current = await runTool('docker', ['context', 'show'], { allowFailure: true });
    if (current.stdout.trim() === CONTEXT) await runTool('docker', ['context', 'use', 'default']);
    await runTool('docker', ['context', 'rm', '--force', CONTEXT]);
    say(`removed the docker context "${CONTEXT}"`);
  }
  return 0;
}
