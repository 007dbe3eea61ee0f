import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = join('scripts', 'setup-host.sh');

/** The setup script's absolute path when Burrow runs from a checkout (source or dist/), so the fix is copy-pasteable. */
function setupScriptPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, SCRIPT);
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  return SCRIPT;
}

let cached: string | undefined;

export function setupHostCommand(user: string): string {
  cached ??= setupScriptPath();
  return `sudo ${cached} ${user}`;
}

export function aptInstall(...packages: string[]): string {
  return `sudo apt-get install ${packages.join(' ')}`;
}
