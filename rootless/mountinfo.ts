/** The engine's mount table, from /proc/self/mountinfo (the engine's own mount namespace). */
import { readFile } from 'node:fs/promises';

export interface MountEntry {
  /** The mount point, unescaped. */
  target: string;
  /** The per-mount options (`ro` or `rw` first, then `nosuid`, `relatime` …). */
  options: string[];
  /** The filesystem type (`overlay`, `cgroup2` …) and its superblock options (`favordynmods` …), after the ` - `. */
  fsType: string;
  superOptions: string[];
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));

/**
 * Parses mountinfo text: field 5 is the mount point, field 6 the per-mount options; after the optional
 * fields and a lone `-` come the filesystem type, the source and the superblock options.
 */
export function parseMountInfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const [head = '', tail = ''] = line.split(' - ');
    const fields = head.split(' ');
    if (fields[4] === undefined) continue;
    const [fsType = '', , superOptions = ''] = tail.split(' ');
    out.push({ target: unescape(fields[4]), options: (fields[5] ?? '').split(','), fsType, superOptions: superOptions.split(',') });
  }
  return out;
}

export async function readMountInfo(): Promise<MountEntry[]> {
  return parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8').catch(() => ''));
}
