/**
 * GNU tar's complaints, read the way dockerd's own (Go) untar would have failed on the same bytes.
 * Burrow extracts with GNU tar, but clients must never see its raw stderr: a hostile or broken
 * archive is the client's fault (400) and gets Go's archive/tar and compress/* wording, which is
 * what dockerd reports for the same input.
 */
import { invalidParameter, type EngineError } from './errors.js';

/** Lines GNU tar adds after the real complaint, which say nothing about the archive. */
const EPILOGUE = /Exiting with failure status due to previous errors|Error is not recoverable: exiting now|^tar: Child returned status/;

function complaints(stderr: string): string[] {
  return stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !EPILOGUE.test(l));
}

/**
 * True when the only thing tar failed at was making device nodes. An unprivileged user (and so a
 * rootless engine) cannot mknod a real device; rootless dockerd skips them, so the rest of the
 * archive stands. The overlay whiteouts (char 0:0) are allowed and never fail this way.
 */
export function onlyDeviceFailures(stderr: string): boolean {
  const lines = complaints(stderr);
  return lines.length > 0 && lines.every((l) => /Cannot mknod: Operation not permitted/.test(l));
}

/** Go's error text for the first thing tar (or its decompressor) tripped over. */
export function goTarMessage(stderr: string): string {
  const lines = complaints(stderr);
  const all = lines.join('\n');
  if (/Unexpected EOF|unexpected end of (?:file|input)|premature end|Compressed file ends unexpectedly|file ends unexpectedly/i.test(all)) return 'unexpected EOF';
  if (/not in gzip format|invalid compressed data|crc error|gzip:/i.test(all)) return 'gzip: invalid header';
  if (/File format not recognized|xz:/i.test(all)) return 'xz: data is corrupt';
  if (/bzip2:|data integrity|not a bzip2 file/i.test(all)) return 'bzip2 data invalid: bad magic value';
  if (/zstd:|Unknown frame descriptor/i.test(all)) return 'zstd: invalid input: magic number mismatch';
  // dockerd's breakoutError, without the host path of the destination it names.
  const escaping = /^tar: (.+?): Member name contains '\.\.'/m.exec(all);
  if (escaping?.[1]) return `${JSON.stringify(escaping[1])} is outside of the destination`;
  const member = /^tar: (.+?): (?:Cannot|Path contains)/m.exec(all);
  if (member?.[1]) return `invalid tar member ${JSON.stringify(member[1])}`;
  return 'archive/tar: invalid tar header';
}

/** `docker import`, a pulled or loaded layer, a build context: the archive itself is refused. */
export function layerTarRefused(stderr: string): EngineError {
  return invalidParameter(goTarMessage(stderr));
}

/** `docker load`'s outer archive: dockerd's chrootarchive wraps the untar error this way. */
export function loadTarRefused(stderr: string): EngineError {
  return invalidParameter(`Error processing tar file(exit status 1): ${goTarMessage(stderr)}`);
}
