/**
 * Decoding tar headers (ustar, GNU, pax) without I/O. The build context reader uses it to list and
 * unpack the common archives itself; anything it does not model is reported as `unsupported` so
 * the caller can hand the archive to GNU tar instead of guessing.
 */

export const TAR_BLOCK = 512;

export type TarEntryKind = 'file' | 'dir' | 'symlink' | 'hardlink';

/** What one header block says, before pax or GNU long-name records are applied. */
export type RawTarHeader =
  | { kind: 'end' }
  | { kind: 'bad'; reason: string }
  | { kind: 'unsupported'; typeflag: string; name: string }
  /** A record describing the next entry: pax 'x', pax global 'g', GNU long name 'L' / link 'K'. */
  | { kind: 'meta'; typeflag: 'x' | 'g' | 'L' | 'K'; size: number }
  | { kind: TarEntryKind; name: string; linkname: string; size: number; mode: number; mtime: number };

function cString(block: Buffer, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const nul = field.indexOf(0);
  return field.subarray(0, nul === -1 ? length : nul).toString('utf8');
}

/** A numeric field: octal text, or GNU base-256 when the high bit of the first byte is set. */
function numeric(block: Buffer, start: number, length: number): number | undefined {
  const field = block.subarray(start, start + length);
  if (field[0] & 0x80) {
    if (field[0] & 0x40) return undefined; // negative
    let value = field[0] & 0x3f;
    for (let i = 1; i < length; i++) value = value * 256 + field[i];
    return Number.isSafeInteger(value) ? value : undefined;
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) return undefined;
  return parseInt(text, 8);
}

function checksumOk(block: Buffer): boolean {
  const stored = numeric(block, 148, 8);
  if (stored === undefined) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < TAR_BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i];
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

const KINDS: Record<string, TarEntryKind> = { '0': 'file', '\0': 'file', '7': 'file', '1': 'hardlink', '2': 'symlink', '5': 'dir' };

export function parseHeaderBlock(block: Buffer): RawTarHeader {
  if (block.length < TAR_BLOCK) return { kind: 'bad', reason: 'truncated header' };
  if (block.every((b) => b === 0)) return { kind: 'end' };
  if (!checksumOk(block)) return { kind: 'bad', reason: 'header checksum mismatch' };
  const typeflag = String.fromCharCode(block[156]);
  const size = numeric(block, 124, 12);
  if (size === undefined) return { kind: 'bad', reason: 'invalid size field' };
  if (typeflag === 'x' || typeflag === 'g' || typeflag === 'L' || typeflag === 'K') return { kind: 'meta', typeflag, size };
  let name = cString(block, 0, 100);
  // Only POSIX ustar ("ustar\0") has the prefix field; GNU ("ustar  ") keeps times there.
  if (block.toString('latin1', 257, 263) === 'ustar\0') {
    const prefix = cString(block, 345, 155);
    if (prefix !== '') name = `${prefix}/${name}`;
  }
  const kind = KINDS[typeflag];
  if (!kind) return { kind: 'unsupported', typeflag, name };
  const mode = numeric(block, 100, 8);
  const mtime = numeric(block, 136, 12);
  if (mode === undefined || mtime === undefined) return { kind: 'bad', reason: `invalid header fields for ${name}` };
  // Old archives mark directories only by the trailing slash of a regular-file entry.
  const isDir = kind === 'dir' || (kind === 'file' && name.endsWith('/'));
  return { kind: isDir ? 'dir' : kind, name, linkname: cString(block, 157, 100), size: isDir ? 0 : size, mode: mode & 0o7777, mtime };
}

/** pax extended header records: "<len> <key>=<value>\n" each. Undefined when malformed. */
export function parsePaxRecords(data: Buffer): Map<string, string> | undefined {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break;
    const space = data.indexOf(0x20, pos);
    if (space === -1) return undefined;
    const length = Number(data.toString('latin1', pos, space));
    if (!Number.isInteger(length) || length <= space - pos || pos + length > data.length) return undefined;
    const record = data.toString('utf8', space + 1, pos + length - 1);
    const eq = record.indexOf('=');
    if (eq === -1 || data[pos + length - 1] !== 0x0a) return undefined;
    out.set(record.slice(0, eq), record.slice(eq + 1));
    pos += length;
  }
  return out;
}

/** The data of a GNU long name/link record: the name up to its NUL. */
export function longNameOf(data: Buffer): string {
  const nul = data.indexOf(0);
  return data.toString('utf8', 0, nul === -1 ? data.length : nul);
}

/** Bytes a member's data occupies in the archive, padded to whole blocks. */
export function paddedSize(size: number): number {
  return Math.ceil(size / TAR_BLOCK) * TAR_BLOCK;
}

/** An archive member name made relative ("./a/b/" → "a/b"); "" is the archive's root. */
export function memberPath(name: string): string {
  let out = name;
  while (out.startsWith('./')) out = out.slice(2);
  out = out.replace(/\/+$/, '');
  return out === '.' ? '' : out;
}

/** pax keys that change how the member must be read: the reader does not model them. */
export function paxNeedsGnuTar(records: Map<string, string>): boolean {
  for (const key of records.keys()) if (key.startsWith('GNU.sparse.')) return true;
  return false;
}
