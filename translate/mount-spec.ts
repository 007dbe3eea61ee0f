/**
 * One HostConfig.Mounts entry (the Engine API's Mount object) → a mount request, with dockerd's
 * checks and error texts (volume/mounts/linux_parser.go ValidateMountConfig).
 */
import { asInvalid, checkDriver, checkPropagation, cleanPath, mountConfig, validateTarget } from './mount-checks.js';
import type { MountRequest, MountSpec } from './mount-request.js';
import { invalidVolumeName } from './volume-name.js';

function tmpfsOptionsFromSpec(spec: MountSpec): string[] {
  const out: string[] = [];
  if (spec.ReadOnly) out.push('ro');
  const o = spec.TmpfsOptions ?? undefined;
  if (o?.Mode) {
    if (!Number.isInteger(o.Mode) || o.Mode < 0) throw mountConfig('tmpfs', `invalid tmpfs mode: ${o.Mode}`);
    out.push(`mode=${o.Mode.toString(8)}`);
  }
  if (o?.SizeBytes) {
    if (!Number.isInteger(o.SizeBytes) || o.SizeBytes < 0) throw mountConfig('tmpfs', `invalid tmpfs size: ${o.SizeBytes}`);
    // dockerd picks the largest suffix that divides the size evenly.
    const unit = ([['g', 2 ** 30], ['m', 2 ** 20], ['k', 2 ** 10]] as const).find(([, d]) => o.SizeBytes! % d === 0);
    out.push(unit ? `size=${o.SizeBytes / unit[1]}${unit[0]}` : `size=${o.SizeBytes}`);
  }
  // A null option is Go's nil slice, an empty one (never a TypeError).
  for (const opt of (o?.Options ?? []).map((x) => x ?? [])) {
    if (opt.length === 1 && (opt[0] === 'exec' || opt[0] === 'noexec')) out.push(opt[0]);
    else throw mountConfig('tmpfs', `unsupported tmpfs option ${JSON.stringify(opt)}`);
  }
  return out;
}

function stringRecord(value: Record<string, string> | null | undefined): Record<string, string> {
  return { ...(value ?? {}) };
}

/** One HostConfig.Mounts entry. */
export function parseMountSpec(spec: MountSpec): MountRequest {
  return asInvalid(() => mountSpecRequest(spec));
}

function mountSpecRequest(spec: MountSpec): MountRequest {
  const type = spec.Type ?? '';
  const source = spec.Source ?? '';
  const destination = validateTarget(type, spec.Target ?? '');
  const readOnly = spec.ReadOnly === true;
  switch (type) {
    case 'bind': {
      if (source === '') throw mountConfig(type, 'field Source must not be empty');
      if (spec.VolumeOptions) throw mountConfig(type, 'field VolumeOptions must not be specified');
      if (spec.TmpfsOptions) throw mountConfig(type, 'field TmpfsOptions must not be specified');
      if (!source.startsWith('/')) throw mountConfig(type, `invalid mount path: '${source}' mount path must be absolute`);
      const b = spec.BindOptions ?? undefined;
      return {
        kind: 'bind', origin: 'mounts', mode: '', destination, readOnly, source: cleanPath(source),
        propagation: checkPropagation(type, b?.Propagation || 'rprivate'), nonRecursive: b?.NonRecursive === true,
        createSource: b?.CreateMountpoint === true, chown: false,
      };
    }
    case 'volume': {
      if (spec.BindOptions) throw mountConfig(type, 'field BindOptions must not be specified');
      if (spec.TmpfsOptions) throw mountConfig(type, 'field TmpfsOptions must not be specified');
      const v = spec.VolumeOptions ?? undefined;
      const anonymous = source === '';
      const subpath = v?.Subpath ?? '';
      if (subpath !== '') {
        if (anonymous) throw mountConfig(type, 'must not set Subpath when using anonymous volumes');
        const clean = cleanPath(subpath);
        if (clean.startsWith('/') || clean === '..' || clean.startsWith('../')) throw mountConfig(type, 'subpath must be a relative path within the volume');
      }
      if (readOnly && anonymous) throw mountConfig(type, 'must not set ReadOnly mode when using anonymous volumes');
      checkDriver(v?.DriverConfig?.Name);
      if (!anonymous) {
        const bad = invalidVolumeName(source);
        if (bad) throw bad;
      }
      return {
        kind: 'volume', origin: 'mounts', mode: '', destination, readOnly, copyUp: v?.NoCopy !== true, chown: false,
        labels: stringRecord(v?.Labels), driverOpts: stringRecord(v?.DriverConfig?.Options),
        ...(anonymous ? {} : { name: source }), ...(subpath !== '' ? { subpath: cleanPath(subpath) } : {}),
      };
    }
    case 'tmpfs': {
      if (spec.BindOptions) throw mountConfig(type, 'field BindOptions must not be specified');
      if (source !== '') throw mountConfig(type, 'field Source must not be specified');
      return { kind: 'tmpfs', origin: 'mounts', mode: '', destination, readOnly, options: tmpfsOptionsFromSpec(spec) };
    }
    case 'image':
      throw mountConfig(type, 'image mounts are not supported by Burrow yet');
    default:
      throw mountConfig(type, 'mount type unknown');
  }
}
