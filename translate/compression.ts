/** What an archive's first bytes say its compression is, as dockerd's DetectCompression reads them. */

export type SniffedCompression = 'gzip' | 'bzip2' | 'xz' | 'zstd' | 'none';

const XZ = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);

/** The compression `head` (the first 6 bytes or more, fewer at the end of a short stream) starts with. */
export function compressionOf(head: Buffer): SniffedCompression {
  if (head.length >= 3 && head[0] === 0x1f && head[1] === 0x8b && head[2] === 0x08) return 'gzip';
  if (head.length >= 3 && head.toString('latin1', 0, 3) === 'BZh') return 'bzip2';
  if (head.length >= 6 && head.subarray(0, 6).equals(XZ)) return 'xz';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}
