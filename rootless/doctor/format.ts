import type { DoctorCheck, DoctorReport } from './types.js';

const ID_WIDTH = 12;
const STATUS_WIDTH = 9;

function line(c: DoctorCheck): string {
  const fix = c.status === 'ok' ? '' : `; fix: ${c.fix}`;
  return `${c.id.padEnd(ID_WIDTH)}${c.status.padEnd(STATUS_WIDTH)}${c.detail}${fix}`;
}

/** The essential checks that fail, i.e. why the engine refuses to start. */
export function essentialFailures(report: DoctorReport): DoctorCheck[] {
  return report.checks.filter((c) => c.essential && c.status === 'missing');
}

/** One line per check: id, ok/missing/degraded, what was found, and the command that fixes it. */
export function formatDoctorTable(report: DoctorReport): string {
  const header = `${'CHECK'.padEnd(ID_WIDTH)}${'STATUS'.padEnd(STATUS_WIDTH)}DETAILS`;
  const failed = essentialFailures(report);
  const verdict = report.essentialOk
    ? `essential checks passed: ${report.user.name} can run Burrow (${report.durationMs} ms)`
    : `essential checks failed (${failed.map((c) => c.id).join(', ')}): Burrow cannot run for ${report.user.name}`;
  return `${[header, ...report.checks.map(line), '', verdict].join('\n')}\n`;
}

/** The message the daemon refuses to start with; the same wording as the doctor's lines. */
export function formatEssentialFailures(report: DoctorReport): string {
  const lines = essentialFailures(report).map((c) => `  ${c.id}: ${c.detail}${c.fix ? `\n    fix: ${c.fix}` : ''}`);
  return `Burrow cannot start: essential checks failed (run 'burrow doctor' for the full report)\n${lines.join('\n')}\n`;
}
