/**
 * A pino record as a person reads it on a terminal, in the shape dockerd's (logrus) text lines have:
 * `INFO[2026-12-03T08:55:01.123Z] Burrow is ready  storageDriver=overlay2 runtime=crun`. Pure.
 */
const LEVELS: Record<number, string> = { 10: 'TRAC', 20: 'DEBU', 30: 'INFO', 40: 'WARN', 50: 'ERRO', 60: 'FATA' };
/** Fields every line has, or that the line's head already shows. */
const HEAD = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'v']);

function value(v: unknown): string {
  if (v instanceof Object && 'message' in v && typeof (v as { message: unknown }).message === 'string') return value((v as { message: string }).message);
  const text = typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
  // logrus quotes a value when it holds anything but plain word characters.
  return /^[A-Za-z0-9_.:/@+-]+$/.test(text) ? text : JSON.stringify(text);
}

export function humanLogLine(record: Record<string, unknown>): string {
  const level = LEVELS[Number(record.level)] ?? 'INFO';
  const time = typeof record.time === 'number' ? new Date(record.time).toISOString() : '';
  const fields = Object.entries(record)
    .filter(([k, v]) => !HEAD.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${value(v)}`);
  const msg = typeof record.msg === 'string' ? record.msg : '';
  return `${level}[${time}] ${msg}${fields.length > 0 ? `  ${fields.join(' ')}` : ''}\n`;
}

/** One JSON line in, one human line out; a line that is not JSON passes through as it is. */
export function humanizeJsonLine(line: string): string {
  try {
    const record = JSON.parse(line) as unknown;
    if (record && typeof record === 'object' && !Array.isArray(record)) return humanLogLine(record as Record<string, unknown>);
  } catch {
    // not pino's
  }
  return line.endsWith('\n') ? line : `${line}\n`;
}
