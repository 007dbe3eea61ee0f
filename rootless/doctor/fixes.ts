import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A script's absolute path when Burrow runs from a checkout (source or dist/), so the fix is copy-pasteable. */
function scriptPath(name: string): string {
  const script = join('scripts', name);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, script);
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  return script;
}

const cached = new Map<string, string>();

function cachedScriptPath(name: string): string {
  let path = cached.get(name);
  if (path === undefined) cached.set(name, (path = scriptPath(name)));
  return path;
}

/** `sudo <checkout>/scripts/NAME ARGS…`. */
export function scriptCommand(name: string, ...args: string[]): string {
  return ['sudo', cachedScriptPath(name), ...args].join(' ');
}

/** Builds the hub agent into the checkout's dist/ (what `npm run build` does after tsc); no root needed. */
export function buildHubAgentCommand(): string {
  return `bash ${cachedScriptPath('build-hub-agent.sh')}`;
}

/** Builds the spawner into the checkout's dist/ (what `npm run build` does after tsc); no root needed. */
export function buildSpawnerCommand(): string {
  return `bash ${cachedScriptPath('build-spawner.sh')}`;
}

export function setupHostCommand(user: string): string {
  return scriptCommand('setup-host.sh', user);
}

export function aptInstall(...packages: string[]): string {
  return `sudo apt-get install ${packages.join(' ')}`;
}
