import { invalidParameter } from './errors.js';

/**
 * What a local volume's DriverOpts ask for, after the checks dockerd's local driver makes
 * (volume/local/local_unix.go validateOpts) and the ones a rootless engine adds: only mounts an
 * unprivileged user namespace may make are accepted.
 */
export type VolumeBacking =
  | { kind: 'directory' }
  /** Mounted on the volume's _data at first use; `options` go to mount -o. */
  | { kind: 'tmpfs'; options: string[] }
  /** A host directory bound onto _data at first use. */
  | { kind: 'bind'; device: string; recursive: boolean };

const VALID_KEYS = ['type', 'o', 'device', 'size'];
/** dockerd's mandatoryOpts, except that type=tmpfs needs no device here (the source of a tmpfs is a dummy). */
const REQUIRED: Record<string, string[]> = { device: ['type'], type: ['device'], o: ['device', 'type'] };
/** A tmpfs or bind option word: key or key=value, nothing a mount helper could read as another argument. */
const MOUNT_OPTION = /^[a-z][a-z0-9_]*(=[A-Za-z0-9._:+/-]+)?$/;

function splitOptions(o: string | undefined): string[] {
  return (o ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
}

export function parseVolumeDriverOpts(opts: Record<string, string> | undefined): VolumeBacking {
  const given = opts ?? {};
  const keys = Object.keys(given);
  if (keys.length === 0) return { kind: 'directory' };
  for (const key of keys) if (!VALID_KEYS.includes(key)) throw invalidParameter(`invalid option: ${JSON.stringify(key)}`);
  if (given.size !== undefined && given.size !== '' && given.size !== '0') throw invalidParameter('quota size requested but no quota support');
  const type = given.type ?? '';
  const isTmpfs = type === 'tmpfs';
  for (const [key, needs] of Object.entries(REQUIRED)) {
    if (given[key] === undefined) continue;
    for (const need of needs) {
      if (given[need] === undefined && !(isTmpfs && need === 'device')) throw invalidParameter(`missing required option: ${JSON.stringify(need)}`);
    }
  }
  const options = splitOptions(given.o);
  for (const opt of options) if (!MOUNT_OPTION.test(opt)) throw invalidParameter(`invalid mount option ${JSON.stringify(opt)} in o=${given.o ?? ''}`);
  if (isTmpfs) return { kind: 'tmpfs', options };
  const bindWord = options.find((o) => o === 'bind' || o === 'rbind');
  if (bindWord && (type === 'none' || type === 'bind' || type === '')) {
    const extra = options.filter((o) => o !== 'bind' && o !== 'rbind');
    if (extra.length > 0) {
      throw invalidParameter(`bind volume option(s) ${extra.join(',')} are not supported by the rootless engine: use o=bind (make the mount read-only with :ro on the container)`);
    }
    const device = given.device ?? '';
    if (!device.startsWith('/')) throw invalidParameter(`bind volume device must be an absolute host path, got ${JSON.stringify(device)}`);
    return { kind: 'bind', device, recursive: bindWord === 'rbind' };
  }
  if (type === '' && keys.every((k) => k === 'size')) return { kind: 'directory' };
  throw invalidParameter(
    `volume type ${JSON.stringify(type || 'none')} is not supported by the rootless engine: an unprivileged user can mount only tmpfs (type=tmpfs) and host directories (type=none,o=bind,device=/path)`,
  );
}
