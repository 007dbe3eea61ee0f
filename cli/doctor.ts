import { formatDoctorTable, runDoctor } from '../rootless/doctor/index.js';

const usage = `Usage: burrow doctor [--json]

Check that this host and user can run the engine. One line per check (ok, missing,
degraded) with the command that fixes each problem. Exits 1 when an essential check fails.

  --json    print the full report as JSON
`;

export async function doctorCommand(argv: string[]): Promise<number> {
  let json = false;
  for (const arg of argv) {
    if (arg === '--json') json = true;
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write(usage);
      return 0;
    } else {
      process.stderr.write(`burrow doctor: unknown option '${arg}'\n\n${usage}`);
      return 2;
    }
  }
  const report = await runDoctor();
  process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : formatDoctorTable(report));
  return report.essentialOk ? 0 : 1;
}
