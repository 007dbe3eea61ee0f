/**
 * conmon's k8s-file log lines (`<RFC3339Nano> stdout|stderr F|P <text>`) one at a time, their
 * times as Docker prints and filters them, and the `tail`/`since`/`until` parameters. Pure.
 * (log-chunks.ts reads whole files' worth of lines in bulk; this is the per-line form of the same.)
 */
export interface LogLine {
  /** The timestamp as conmon wrote it. */
  time: string;
  stream: 'stdout' | 'stderr';
  /** Partial lines (P) carry no newline of their own. */
  partial: boolean;
  text: string;
}

export function parseLogLine(line: string): LogLine | undefined {
  const a = line.indexOf(' ');
  const b = a < 0 ? -1 : line.indexOf(' ', a + 1);
  const c = b < 0 ? -1 : line.indexOf(' ', b + 1);
  if (c < 0) {
    // "<ts> stdout F" with nothing after it is an empty full line.
    const parts = line.split(' ');
    if (parts.length === 3 && (parts[1] === 'stdout' || parts[1] === 'stderr')) {
      return { time: parts[0] ?? '', stream: parts[1], partial: parts[2] === 'P', text: '' };
    }
    return undefined;
  }
  const stream = line.slice(a + 1, b);
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  return { time: line.slice(0, a), stream, partial: line.slice(b + 1, c) === 'P', text: line.slice(c + 1) };
}

/** conmon writes "2026-11-27T19:13:14.123456789+00:00"; Docker prints UTC with a Z. */
export function dockerTimestamp(time: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?([+-]\d\d:\d\d|Z)$/.exec(time);
  if (!m) return time;
  if (m[3] === 'Z' || m[3] === '+00:00') return `${m[1]}${m[2] ?? ''}Z`;
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? time : new Date(ms).toISOString().replace(/\.\d+Z$/, `${m[2] ?? ''}Z`);
}

/** Seconds since the epoch (with fraction) of a log timestamp, for since/until filters. */
export function logTimeSeconds(time: string): number {
  const ms = Date.parse(time);
  const frac = /\.(\d+)/.exec(time)?.[1] ?? '';
  return Math.floor(ms / 1000) + (frac ? Number(`0.${frac}`) : 0);
}

/** Parses Docker's since/until values: Unix seconds (with optional fraction) or an RFC 3339 time. */
export function parseTimeFilter(value: string | undefined, now: Date): number | undefined {
  if (value === undefined || value === '' || value === '0') return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
  const dur = /^(\d+)(s|m|h)$/.exec(value);
  if (dur) return now.getTime() / 1000 - Number(dur[1]) * ({ s: 1, m: 60, h: 3600 } as const)[dur[2] as 's' | 'm' | 'h'];
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms / 1000;
}

/** Go's int range: a `tail` beyond it fails dockerd's strconv.Atoi like any other non-number. */
const INT64_MAX = 2n ** 63n - 1n;

/**
 * The `tail` parameter as dockerd reads it: strconv.Atoi (an optional sign and decimal digits),
 * anything else ("all", "", "1.5", " 3") or a negative number meaning every line (undefined).
 */
export function parseTail(value: string | undefined): number | undefined {
  const m = value === undefined ? null : /^([+-]?)(\d+)$/.exec(value);
  if (!m) return undefined;
  const n = BigInt(m[2] as string);
  if (m[1] === '-') return n === 0n ? 0 : undefined;
  return n > INT64_MAX ? undefined : Number(n);
}
