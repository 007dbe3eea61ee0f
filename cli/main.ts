import { BURROW_VERSION } from '../rootless/version.js';

export type Command = (argv: string[]) => Promise<number>;

const usage = `Usage: burrow <command> [options]

Commands:
  daemon    run the rootless Docker Engine API server in the foreground
  doctor    check that this host and user can run the engine
  install   create the docker context "burrow" (and a systemd user service where there is one)
  uninstall remove them again
  version   print Burrow's version

Run 'burrow <command> --help' for a command's options.
`;

const commands: Record<string, () => Promise<Command>> = {
  daemon: async () => (await import('./daemon.js')).daemonCommand,
  'daemon-prepare': async () => (await import('./daemon.js')).daemonPrepareCommand,
  'daemon-serve': async () => (await import('./daemon.js')).daemonServeCommand,
  doctor: async () => (await import('./doctor.js')).doctorCommand,
  install: async () => (await import('./install.js')).installCommand,
  uninstall: async () => (await import('./install.js')).uninstallCommand,
  version: async () => async () => {
    process.stdout.write(`Burrow ${BURROW_VERSION}\n`);
    return 0;
  },
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage);
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`burrow: unknown command '${name}'\n\n${usage}`);
    return 2;
  }
  const command = await load();
  return command(rest);
}
