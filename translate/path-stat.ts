/**
 * The X-Docker-Container-Path-Stat header: dockerd's ContainerPathStat as base64 JSON, with the
 * mode in Go's os.FileMode encoding (the file type lives in the high bits, not in S_IFMT). Pure.
 */

export interface PathStat {
  name: string;
  size: number;
  /** Go os.FileMode bits. */
  mode: number;
  /** RFC 3339 with nanoseconds, as Go's time.Time marshals. */
  mtime: string;
  linkTarget: string;
}

const S_IFMT = 0o170000;
const S_IFSOCK = 0o140000;
const S_IFLNK = 0o120000;
const S_IFBLK = 0o060000;
const S_IFDIR = 0o040000;
const S_IFCHR = 0o020000;
const S_IFIFO = 0o010000;

export const GO_MODE_DIR = 2 ** 31;
export const GO_MODE_SYMLINK = 2 ** 27;
const GO_MODE_DEVICE = 2 ** 26;
const GO_MODE_NAMED_PIPE = 2 ** 25;
const GO_MODE_SOCKET = 2 ** 24;
const GO_MODE_SETUID = 2 ** 23;
const GO_MODE_SETGID = 2 ** 22;
const GO_MODE_CHAR_DEVICE = 2 ** 21;
const GO_MODE_STICKY = 2 ** 20;

/** Unix st_mode → Go os.FileMode, as os.Lstat fills it in. */
export function goFileMode(unixMode: number): number {
  let mode = unixMode & 0o777;
  switch (unixMode & S_IFMT) {
    case S_IFDIR:
      mode += GO_MODE_DIR;
      break;
    case S_IFLNK:
      mode += GO_MODE_SYMLINK;
      break;
    case S_IFBLK:
      mode += GO_MODE_DEVICE;
      break;
    case S_IFCHR:
      mode += GO_MODE_DEVICE + GO_MODE_CHAR_DEVICE;
      break;
    case S_IFIFO:
      mode += GO_MODE_NAMED_PIPE;
      break;
    case S_IFSOCK:
      mode += GO_MODE_SOCKET;
      break;
  }
  if (unixMode & 0o4000) mode += GO_MODE_SETUID;
  if (unixMode & 0o2000) mode += GO_MODE_SETGID;
  if (unixMode & 0o1000) mode += GO_MODE_STICKY;
  return mode;
}

/** Go's RFC3339Nano: fractional seconds without trailing zeros, none at all for whole seconds. */
export function rfc3339Nano(epochNs: bigint): string {
  const seconds = epochNs / 1_000_000_000n;
  const nanos = Number(epochNs % 1_000_000_000n);
  const base = new Date(Number(seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, '');
  const frac = nanos === 0 ? '' : '.' + String(nanos).padStart(9, '0').replace(/0+$/, '');
  return `${base}${frac}Z`;
}

export function encodePathStat(stat: PathStat): string {
  return Buffer.from(JSON.stringify(stat)).toString('base64');
}
