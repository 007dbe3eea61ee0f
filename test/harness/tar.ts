/**
 * A tiny ustar/pax tar writer for building test layers without docker or GNU tar.
 *
 * Names and link targets are written exactly as given: tests use this writer to craft
 * hostile archives (`../escape`, `/abs`, `a/../../b`), so sanitising here would hide the
 * very cases the unpacker must reject. Everything is explicit (owner, mode, mtime) and
 * defaults are fixed, so the same entries always produce the same bytes and digests.
 */

/** 2023-11-14T22:13:20Z: a fixed timestamp so layer digests are stable across runs. */
export const DEFAULT_MTIME = 1_700_000_000;

interface EntryBase {
  /** Path inside the archive, written verbatim (no normalisation, no trailing-slash fixups). */
  name: string;
  /** Permission bits incl. setuid/setgid/sticky; default depends on the type. */
  mode?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  /** Seconds since the epoch; default DEFAULT_MTIME. */
  mtime?: number;
  /**
   * Extra pax records (e.g. `SCHILY.xattr.user.foo`), applied after the computed ones so a
   * test can make the pax `path` disagree with the ustar name on purpose.
   */
  pax?: Record<string, string>;
}

export interface FileEntry extends EntryBase {
  type: 'file';
  content?: Buffer | string;
}
export interface DirEntry extends EntryBase {
  type: 'dir';
}
export interface SymlinkEntry extends EntryBase {
  type: 'symlink';
  target: string;
}
export interface HardlinkEntry extends EntryBase {
  type: 'hardlink';
  /** Archive path of an earlier entry, verbatim. */
  target: string;
}
export interface DeviceEntry extends EntryBase {
  type: 'chardev' | 'blockdev';
  devmajor?: number;
  devminor?: number;
}
export interface FifoEntry extends EntryBase {
  type: 'fifo';
}

export type TarEntry = FileEntry | DirEntry | SymlinkEntry | HardlinkEntry | DeviceEntry | FifoEntry;

const BLOCK = 512;

const TYPEFLAG: Record<TarEntry['type'], string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  chardev: '3',
  blockdev: '4',
  dir: '5',
  fifo: '6',
};

const DEFAULT_MODE: Record<TarEntry['type'], number> = {
  file: 0o644,
  hardlink: 0o644,
  symlink: 0o777,
  chardev: 0o644,
  blockdev: 0o644,
  dir: 0o755,
  fifo: 0o644,
};

/** Largest value an octal field of `width` bytes can hold (width-1 digits + NUL). */
function octalMax(width: number): number {
  return 8 ** (width - 1) - 1;
}

function writeOctal(header: Buffer, offset: number, width: number, value: number): void {
  // Out-of-range values are carried by pax records; the ustar field then holds 0.
  const v = value >= 0 && value <= octalMax(width) ? value : 0;
  header.write(v.toString(8).padStart(width - 1, '0') + '\0', offset, width, 'ascii');
}

function writeString(header: Buffer, offset: number, width: number, value: string): void {
  // Truncation is fine: whenever the value does not fit, a pax record carries the full one.
  Buffer.from(value, 'utf8').copy(header, offset, 0, width);
}

/** Cut a UTF-8 string to at most `max` bytes without splitting a character. */
function truncateUtf8(value: string, max: number): string {
  let out = '';
  let bytes = 0;
  for (const ch of value) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (bytes + n > max) break;
    out += ch;
    bytes += n;
  }
  return out;
}

function paxRecord(key: string, value: string): string {
  // The length prefix counts itself, so grow it until the total is self-consistent.
  const body = ` ${key}=${value}\n`;
  const bodyLen = Buffer.byteLength(body, 'utf8');
  let len = bodyLen + 1;
  while (String(len).length + bodyLen !== len) len = String(len).length + bodyLen;
  return `${len}${body}`;
}

function padToBlock(data: Buffer): Buffer {
  const rest = data.length % BLOCK;
  return rest === 0 ? data : Buffer.concat([data, Buffer.alloc(BLOCK - rest)]);
}

interface HeaderFields {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
}

function ustarHeader(f: HeaderFields): Buffer {
  const h = Buffer.alloc(BLOCK);
  writeString(h, 0, 100, f.name);
  writeOctal(h, 100, 8, f.mode);
  writeOctal(h, 108, 8, f.uid);
  writeOctal(h, 116, 8, f.gid);
  writeOctal(h, 124, 12, f.size);
  writeOctal(h, 136, 12, f.mtime);
  h.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  h.write(f.typeflag, 156, 1, 'ascii');
  writeString(h, 157, 100, f.linkname);
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  writeString(h, 265, 32, f.uname);
  writeString(h, 297, 32, f.gname);
  writeOctal(h, 329, 8, f.devmajor);
  writeOctal(h, 337, 8, f.devminor);
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return h;
}

/** Records needed because a value does not fit its ustar field. */
function overflowRecords(f: HeaderFields): Record<string, string> {
  const pax: Record<string, string> = {};
  if (Buffer.byteLength(f.name, 'utf8') > 100) pax.path = f.name;
  if (Buffer.byteLength(f.linkname, 'utf8') > 100) pax.linkpath = f.linkname;
  if (f.uid < 0 || f.uid > octalMax(8)) pax.uid = String(f.uid);
  if (f.gid < 0 || f.gid > octalMax(8)) pax.gid = String(f.gid);
  if (f.size > octalMax(12)) pax.size = String(f.size);
  if (f.mtime < 0 || f.mtime > octalMax(12)) pax.mtime = String(f.mtime);
  if (Buffer.byteLength(f.uname, 'utf8') > 32) pax.uname = f.uname;
  if (Buffer.byteLength(f.gname, 'utf8') > 32) pax.gname = f.gname;
  return pax;
}

function paxHeaderName(name: string): string {
  // Same shape as Go's archive/tar ("dir/PaxHeaders.0/base"), which unpackers expect to ignore.
  const trimmed = name.replace(/\/+$/, '');
  const slash = trimmed.lastIndexOf('/');
  const dir = slash >= 0 ? trimmed.slice(0, slash + 1) : '';
  const base = slash >= 0 ? trimmed.slice(slash + 1) : trimmed;
  return truncateUtf8(`${dir}PaxHeaders.0/${base}`, 100);
}

function encodeEntry(entry: TarEntry): Buffer[] {
  const content =
    entry.type === 'file' ? (typeof entry.content === 'string' ? Buffer.from(entry.content, 'utf8') : (entry.content ?? Buffer.alloc(0))) : Buffer.alloc(0);
  const fields: HeaderFields = {
    name: entry.name,
    mode: entry.mode ?? DEFAULT_MODE[entry.type],
    uid: entry.uid ?? 0,
    gid: entry.gid ?? 0,
    size: content.length,
    mtime: entry.mtime ?? DEFAULT_MTIME,
    typeflag: TYPEFLAG[entry.type],
    linkname: entry.type === 'symlink' || entry.type === 'hardlink' ? entry.target : '',
    uname: entry.uname ?? '',
    gname: entry.gname ?? '',
    devmajor: entry.type === 'chardev' || entry.type === 'blockdev' ? (entry.devmajor ?? 0) : 0,
    devminor: entry.type === 'chardev' || entry.type === 'blockdev' ? (entry.devminor ?? 0) : 0,
  };
  const out: Buffer[] = [];
  const pax = { ...overflowRecords(fields), ...entry.pax };
  const keys = Object.keys(pax).sort(); // sorted so output does not depend on insertion order
  if (keys.length > 0) {
    const body = Buffer.from(keys.map((k) => paxRecord(k, pax[k])).join(''), 'utf8');
    out.push(
      ustarHeader({
        ...fields,
        name: paxHeaderName(entry.name),
        mode: 0o644,
        uid: 0,
        gid: 0,
        size: body.length,
        typeflag: 'x',
        linkname: '',
        uname: '',
        gname: '',
        devmajor: 0,
        devminor: 0,
        mtime: Math.min(Math.max(fields.mtime, 0), octalMax(12)),
      }),
      padToBlock(body),
    );
  }
  out.push(ustarHeader(fields));
  if (content.length > 0) out.push(padToBlock(content));
  return out;
}

/** Serialise entries, in the given order, into a complete uncompressed tar archive. */
export function writeTar(entries: readonly TarEntry[]): Buffer {
  const parts = entries.flatMap(encodeEntry);
  parts.push(Buffer.alloc(2 * BLOCK)); // end-of-archive marker
  return Buffer.concat(parts);
}
