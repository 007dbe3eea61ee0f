/** Reads ~/.config/burrow/config.json once at start; a missing file means defaults, a broken one stops the daemon. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EMPTY_REGISTRY_SETTINGS, parseRegistrySettings, type RegistrySettings } from '../translate/registry-config.js';

export const CONFIG_FILE = 'config.json';

export async function loadRegistrySettings(configDir: string): Promise<RegistrySettings> {
  const path = join(configDir, CONFIG_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return EMPTY_REGISTRY_SETTINGS;
    throw new Error(`cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    return parseRegistrySettings(text);
  } catch (err) {
    throw new Error(`invalid ${path}: ${(err as Error).message}`);
  }
}
