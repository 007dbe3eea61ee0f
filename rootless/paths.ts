import { homedir } from 'node:os';
import { join } from 'node:path';

export interface EnginePaths {
  /** Socket, pid files and other files that die with the machine: $XDG_RUNTIME_DIR/burrow or /tmp/burrow-$UID. */
  runtimeDir: string;
  /** The default API socket inside runtimeDir. */
  defaultSocket: string;
  /** Images, containers, volumes: $XDG_DATA_HOME/burrow or ~/.local/share/burrow. */
  dataRoot: string;
  /** ~/.config/burrow: config.json. */
  configDir: string;
}

/** Where a user's engine keeps its files; pure over the environment it is given. */
export function enginePaths(env: NodeJS.ProcessEnv, uid: number, overrides: { dataRoot?: string } = {}): EnginePaths {
  const home = env.HOME || homedir();
  const runtimeDir = env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, 'burrow') : `/tmp/burrow-${uid}`;
  const dataRoot = overrides.dataRoot ?? join(env.XDG_DATA_HOME || join(home, '.local', 'share'), 'burrow');
  const configDir = join(env.XDG_CONFIG_HOME || join(home, '.config'), 'burrow');
  return { runtimeDir, defaultSocket: join(runtimeDir, 'docker.sock'), dataRoot, configDir };
}
