/**
 * HostConfig.LogConfig → what the engine keeps of a container's output. The log itself is conmon's
 * k8s-file; json-file and local differ only in their rotation defaults here, none keeps nothing.
 * Option names, defaults and messages are dockerd's (daemon/logger/jsonfilelog, local, loggerutils).
 */
import { invalidParameter } from './errors.js';

export type LogDriver = 'json-file' | 'local' | 'none';

export interface LogPolicy {
  driver: LogDriver;
  /** Bytes per file before it is rotated; undefined = one file that grows without bound (json-file's default). */
  maxSize?: number;
  /** Files kept, the current one included (≥ 1); only meaningful with maxSize. */
  maxFiles: number;
}

export interface LogConfigInput {
  Type?: string;
  Config?: Record<string, string> | null;
}

/** dockerd's other built-in drivers: known names get a clearer refusal than "no log driver named". */
const OTHER_DOCKERD_DRIVERS = new Set(['syslog', 'journald', 'gelf', 'fluentd', 'awslogs', 'splunk', 'etwlogs', 'gcplogs', 'logentries']);

const OPTION_KEYS: Record<LogDriver, readonly string[]> = {
  'json-file': ['max-file', 'max-size', 'compress', 'labels', 'labels-regex', 'env', 'env-regex', 'tag'],
  local: ['max-file', 'max-size', 'compress'],
  none: [],
};

/** The `local` driver's defaults (20 MB × 5 files). */
const LOCAL_MAX_SIZE = 20 * 1024 * 1024;
const LOCAL_MAX_FILES = 5;

/** go-units RAMInBytes: binary multiples, "10m", "10MB", "1.5g", "512k", or plain bytes. */
export function parseRamInBytes(value: string): number {
  const m = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(value.trim());
  if (!m) throw invalidParameter(`invalid size: '${value}'`);
  const unit = (m[2] ?? '').toLowerCase();
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 }[unit] ?? 1;
  const n = Number.parseFloat(m[1] ?? '');
  if (!Number.isFinite(n)) throw invalidParameter(`invalid size: '${value}'`);
  return Math.floor(n * mult);
}

/** Validates a container's LogConfig as dockerd does at create and returns what to keep; throws 400 otherwise. */
export function logPolicy(config: LogConfigInput | null | undefined): LogPolicy {
  const type = config?.Type || 'json-file';
  const opts = config?.Config ?? {};
  if (type !== 'json-file' && type !== 'local' && type !== 'none') {
    if (OTHER_DOCKERD_DRIVERS.has(type)) {
      throw invalidParameter(`logger: the ${type} log driver is not supported by this rootless engine; use json-file, local or none`);
    }
    throw invalidParameter(`logger: no log driver named '${type}' is registered`);
  }
  const driver: LogDriver = type;
  for (const key of Object.keys(opts)) {
    if (!OPTION_KEYS[driver].includes(key)) {
      throw invalidParameter(driver === 'json-file' ? `unknown log opt '${key}' for json-file log driver` : `unknown log opt '${key}' for ${driver} log driver`);
    }
  }
  if (driver === 'none') return { driver, maxFiles: 1 };
  const compress = opts.compress;
  if (compress !== undefined) {
    if (!['true', 'false', '1', '0', 't', 'f', 'TRUE', 'FALSE', 'True', 'False'].includes(compress)) {
      throw invalidParameter(`error reading compress log option: strconv.ParseBool: parsing "${compress}": invalid syntax`);
    }
    // Rotated files stay plain text here; an explicit ask for compression is refused rather than ignored.
    if (driver === 'json-file' && /^(true|1|t)$/i.test(compress)) throw invalidParameter('compress is not supported by this engine: rotated log files are kept uncompressed');
  }
  let maxSize: number | undefined = driver === 'local' ? LOCAL_MAX_SIZE : undefined;
  const sizeOpt = opts['max-size'];
  if (sizeOpt !== undefined && sizeOpt !== '') {
    const n = sizeOpt === '-1' ? -1 : parseRamInBytes(sizeOpt);
    if (n === -1) maxSize = undefined;
    else if (n <= 0) throw invalidParameter('max-size must be a positive number');
    else maxSize = n;
  }
  let maxFiles = driver === 'local' ? LOCAL_MAX_FILES : 1;
  const fileOpt = opts['max-file'];
  if (fileOpt !== undefined && fileOpt !== '') {
    const n = /^[+-]?\d+$/.test(fileOpt) ? Number(fileOpt) : Number.NaN;
    if (Number.isNaN(n)) throw invalidParameter(`strconv.Atoi: parsing "${fileOpt}": invalid syntax`);
    if (n < 1) throw invalidParameter('max-file cannot be less than 1');
    maxFiles = n;
  }
  return { driver, maxSize, maxFiles };
}

/** What inspect's HostConfig.LogConfig shows: the driver and options as they were asked. */
export function logConfigJson(raw: unknown): { Type: string; Config: Record<string, string> } {
  let config: LogConfigInput | undefined;
  try {
    config = logConfigOf(raw);
  } catch {
    config = undefined;
  }
  return { Type: config?.Type || 'json-file', Config: { ...(config?.Config ?? {}) } };
}

/** HostConfig.LogConfig as the request had it, checked for shape (values of Config are strings in dockerd's type). */
export function logConfigOf(lc: unknown): LogConfigInput | undefined {
  if (lc === undefined || lc === null) return undefined;
  if (typeof lc !== 'object' || Array.isArray(lc)) throw invalidParameter('invalid JSON: HostConfig.LogConfig must be an object');
  const { Type, Config } = lc as { Type?: unknown; Config?: unknown };
  if (Type !== undefined && Type !== null && typeof Type !== 'string') throw invalidParameter('invalid JSON: LogConfig.Type must be a string');
  const config: Record<string, string> = {};
  if (Config !== undefined && Config !== null) {
    if (typeof Config !== 'object' || Array.isArray(Config)) throw invalidParameter('invalid JSON: LogConfig.Config must be an object');
    for (const [k, v] of Object.entries(Config)) {
      if (typeof v !== 'string') throw invalidParameter(`invalid JSON: LogConfig.Config["${k}"] must be a string`);
      config[k] = v;
    }
  }
  return { ...(typeof Type === 'string' ? { Type } : {}), Config: config };
}
