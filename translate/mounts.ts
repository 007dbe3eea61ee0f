/**
 * HostConfig.Binds / Mounts / Tmpfs and Config.Volumes → mount requests, with dockerd's parsing and
 * error texts (volume/mounts/linux_parser.go, daemon registerMountPoints). Pure: nothing is looked up
 * here; the container code resolves each request (volume → host path) and hands ResolvedMounts to
 * oci-spec.
 *
 * Rootless limits: propagation shared/rshared is refused, because the engine's mount namespace is
 * private (a shared mount could never reach the host); private, rprivate (default), slave and rslave
 * are accepted. SELinux labels z/Z are accepted and ignored (no relabelling without privilege).
 * Burrow adds the mode `U` (as podman): chown the mount's content to the container's user first.
 */
import type { MountBody } from '../openapi/containers.js';
import { posix } from 'node:path';
import { invalidParameter } from './errors.js';
import type { ResolvedMount } from './oci-spec-input.js';
import { invalidVolumeName } from './volume-name.js';

export type Propagation = 'private' | 'rprivate' | 'shared' | 'rshared' | 'slave' | 'rslave';
export type MountOrigin = 'binds' | 'mounts' | 'tmpfs' | 'config-volumes';

interface RequestBase {
  /** Cleaned absolute path in the container. */
  destination: string;
  readOnly: boolean;
  /** Which HostConfig/Config field it came from (inspect's Mounts and `rm -v` care). */
  origin: MountOrigin;
  /** The raw mode string of a Binds entry ("ro,Z"), "" otherwise — inspect shows it. */
  mode: string;
}

export interface VolumeMountRequest extends RequestBase {
  kind: 'volume';
  /** Undefined: an anonymous volume the container code creates (createAnonymous). */
  name?: string;
  /** Copy the image's content at the destination into the volume when it is new and empty. */
  copyUp: boolean;
  /** `:U`: chown the volume's content to the container user. */
  chown: boolean;
  /** For a volume created on first use (VolumeOptions.Labels / DriverConfig.Options). */
  labels: Record<string, string>;
  driverOpts: Record<string, string>;
  /** VolumeOptions.Subpath: relative, without "..". */
  subpath?: string;
}

export interface BindMountRequest extends RequestBase {
  kind: 'bind';
  /** Cleaned absolute host path. */
  source: string;
  propagation: Propagation;
  nonRecursive: boolean;
  /**
   * Binds entries create a missing host directory (dockerd does); Mounts entries fail unless
   * BindOptions.CreateMountpoint: "bind source path does not exist: <path>".
   */
  createSource: boolean;
  chown: boolean;
}

export interface TmpfsMountRequest extends RequestBase {
  kind: 'tmpfs';
  /** Mount options as given (size=…, mode=…, ro); oci-spec adds dockerd's defaults. */
  options: string[];
}

export type MountRequest = VolumeMountRequest | BindMountRequest | TmpfsMountRequest;

/** The Mount definition of the Engine API (HostConfig.Mounts items), derived from its schema. */
export type MountSpec = MountBody;

export interface MountRequestInput {
  binds?: string[] | null;
  mounts?: MountSpec[] | null;
  tmpfs?: Record<string, string> | null;
  /** Config.Volumes after merging the image's: each becomes an anonymous volume unless something else is mounted there. */
  configVolumes?: Record<string, unknown> | null;
  /** HostConfig.VolumeDriver: only "" or "local". */
  volumeDriver?: string;
}

const RW_MODES = new Set(['rw', 'ro']);
const LABEL_MODES = new Set(['z', 'Z']);
const PROPAGATIONS = new Set<string>(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave']);
const ROOTLESS_PROPAGATIONS = new Set<string>(['private', 'rprivate', 'slave', 'rslave']);
const CONSISTENCY_MODES = new Set(['consistent', 'cached', 'delegated', 'default']);
/** mount.ParseTmpfsOptions: flags it knows, and the key=value data tmpfs accepts. */
const TMPFS_FLAGS = new Set([
  'defaults', 'ro', 'rw', 'suid', 'nosuid', 'dev', 'nodev', 'exec', 'noexec', 'sync', 'async', 'dirsync', 'mand', 'nomand',
  'atime', 'noatime', 'diratime', 'nodiratime', 'relatime', 'norelatime', 'strictatime', 'nostrictatime', 'tmpcopyup',
]);
const TMPFS_DATA = new Set(['size', 'mode', 'uid', 'gid', 'nr_inodes', 'nr_blocks', 'mpol']);

const invalidSpec = (raw: string): string => `invalid volume specification: '${raw}'`;

class MountConfigError extends Error {}

/** dockerd's errMountConfig: `invalid mount config for type "bind": <why>`. */
const mountConfig = (type: string, why: string): MountConfigError => new MountConfigError(`invalid mount config for type ${JSON.stringify(type)}: ${why}`);

/** Runs a parse step, turning its mount-config errors into 400s (with `prefix`, as Binds errors carry the raw spec). */
function asInvalid<T>(parse: () => T, prefix = ''): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof MountConfigError) throw invalidParameter(`${prefix}${err.message}`);
    throw err;
  }
}

/** Go's path.Clean for absolute and relative slash paths. */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

function validateTarget(type: string, target: string): string {
  if (target === '') throw mountConfig(type, 'field Target must not be empty');
  if (cleanPath(target) === '/') throw mountConfig(type, "invalid specification: destination can't be '/'");
  if (!target.startsWith('/')) throw mountConfig(type, `invalid mount path: '${target}' mount path must be absolute`);
  return cleanPath(target);
}

function checkPropagation(type: string, propagation: string): Propagation {
  if (!PROPAGATIONS.has(propagation)) throw mountConfig(type, `invalid propagation mode: ${propagation}`);
  if (!ROOTLESS_PROPAGATIONS.has(propagation)) {
    throw mountConfig(type, `propagation mode ${propagation} is not available to the rootless engine, whose mount namespace is private: use private, rprivate, slave or rslave`);
  }
  return propagation as Propagation;
}

function checkDriver(driver: string | undefined): void {
  if (driver && driver !== 'local') throw invalidParameter(`error looking up volume plugin ${driver}: plugin "${driver}" not found`);
}

interface ParsedMode {
  readOnly: boolean;
  propagation?: string;
  nocopy: boolean;
  chown: boolean;
}

/** linuxValidMountMode plus `U`: at most one word of each kind; undefined when the mode is invalid. */
function parseMode(mode: string): ParsedMode | undefined {
  const out: ParsedMode = { readOnly: false, nocopy: false, chown: false };
  if (mode === '') return out;
  const counts = { rw: 0, label: 0, propagation: 0, copy: 0, consistency: 0, chown: 0 };
  for (const word of mode.split(',')) {
    if (RW_MODES.has(word)) {
      counts.rw++;
      out.readOnly = word === 'ro';
    } else if (LABEL_MODES.has(word)) counts.label++;
    else if (PROPAGATIONS.has(word)) {
      counts.propagation++;
      out.propagation = word;
    } else if (word === 'nocopy') {
      counts.copy++;
      out.nocopy = true;
    } else if (CONSISTENCY_MODES.has(word)) counts.consistency++;
    else if (word === 'U') {
      counts.chown++;
      out.chown = true;
    } else return undefined;
  }
  return Object.values(counts).every((c) => c <= 1) ? out : undefined;
}

/** One HostConfig.Binds entry: `name:/dst[:mode]`, `/host:/dst[:mode]` or `/dst` (anonymous volume). */
export function parseBind(raw: string): MountRequest {
  if ((raw.match(/:/g) ?? []).length > 2) throw invalidParameter(invalidSpec(raw));
  const parts = raw.split(':');
  if (parts[0] === '') throw invalidParameter(invalidSpec(raw));
  let source = '';
  let target: string;
  let mode = '';
  if (parts.length === 1) target = parts[0] ?? '';
  else if (parts.length === 2) {
    // `/foo:rw` names a destination and a mode but no source: not a valid spec.
    if (parseMode(parts[1] ?? '') !== undefined) throw invalidParameter(invalidSpec(raw));
    [source, target] = [parts[0] ?? '', parts[1] ?? ''];
  } else [source, target, mode] = [parts[0] ?? '', parts[1] ?? '', parts[2] ?? ''];
  const parsed = parseMode(mode);
  if (!parsed) throw invalidParameter(`invalid mode: ${mode}`);
  const isBind = source.startsWith('/');
  const type = isBind ? 'bind' : 'volume';
  return asInvalid((): MountRequest => {
    const destination = validateTarget(type, target);
    if (isBind) {
      if (parsed.nocopy) throw mountConfig(type, 'field VolumeOptions must not be specified');
      return {
        kind: 'bind', origin: 'binds', mode, destination, readOnly: parsed.readOnly, source: cleanPath(source),
        propagation: checkPropagation(type, parsed.propagation ?? 'rprivate'), nonRecursive: false, createSource: true, chown: parsed.chown,
      };
    }
    if (parsed.propagation !== undefined) throw mountConfig(type, 'field BindOptions must not be specified');
    if (source === '' && parsed.readOnly) throw mountConfig(type, 'must not set ReadOnly mode when using anonymous volumes');
    const request: VolumeMountRequest = {
      kind: 'volume', origin: 'binds', mode, destination, readOnly: parsed.readOnly, copyUp: !parsed.nocopy, chown: parsed.chown, labels: {}, driverOpts: {},
      ...(source !== '' ? { name: source } : {}),
    };
    if (source !== '') {
      const bad = invalidVolumeName(source);
      if (bad) throw bad;
    }
    return request;
  }, `${invalidSpec(raw)}: `);
}

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

/** One HostConfig.Tmpfs entry: `{"/run": "rw,size=1m"}`. */
export function parseTmpfsEntry(target: string, data: string): TmpfsMountRequest {
  const destination = asInvalid(() => validateTarget('tmpfs', target));
  const options = data.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const opt of options) {
    const [key] = opt.split('=', 1);
    const known = opt.includes('=') ? TMPFS_DATA.has(key ?? '') : TMPFS_FLAGS.has(opt);
    if (!known) throw invalidParameter(`invalid tmpfs option ["${opt.split('=').slice(0, 2).join('" "')}"]`);
  }
  const rw = options.filter((o) => o === 'ro' || o === 'rw');
  return { kind: 'tmpfs', origin: 'tmpfs', mode: '', destination, readOnly: rw[rw.length - 1] === 'ro', options };
}

/**
 * Everything a container asks to have mounted, in dockerd's order: Binds, then Mounts (a destination
 * used twice is refused), then the Tmpfs map, then Config.Volumes for destinations nothing else covers.
 */
export function parseMountRequests(input: MountRequestInput): MountRequest[] {
  const out: MountRequest[] = [];
  const taken = new Set<string>();
  const add = (request: MountRequest, shownDestination: string): void => {
    if (taken.has(request.destination)) throw invalidParameter(`Duplicate mount point: ${shownDestination}`);
    taken.add(request.destination);
    out.push(request);
  };
  const driver = input.volumeDriver ?? '';
  for (const raw of input.binds ?? []) {
    const request = parseBind(raw);
    if (request.kind === 'volume') checkDriver(driver);
    add(request, request.destination);
  }
  for (const spec of input.mounts ?? []) {
    const request = parseMountSpec(spec);
    add(request, spec.Target ?? request.destination);
  }
  for (const [target, data] of Object.entries(input.tmpfs ?? {})) add(parseTmpfsEntry(target, data ?? ''), target);
  for (const target of Object.keys(input.configVolumes ?? {})) {
    const destination = asInvalid(() => validateTarget('volume', target));
    if (taken.has(destination)) continue;
    checkDriver(driver);
    taken.add(destination);
    out.push({ kind: 'volume', origin: 'config-volumes', mode: '', destination, readOnly: false, copyUp: true, chown: false, labels: {}, driverOpts: {} });
  }
  return out;
}

/**
 * A request whose volume or bind source the container code has resolved to a host path, as oci-spec
 * takes it. For a volume `hostPath` is prepareForMount()'s path (plus the subpath); ignored for tmpfs.
 */
export function toResolvedMount(request: MountRequest, hostPath?: string): ResolvedMount {
  if (request.kind === 'tmpfs') {
    return { type: 'tmpfs', destination: request.destination, readOnly: request.readOnly, options: request.options };
  }
  const source = request.kind === 'bind' ? (hostPath ?? request.source) : hostPath;
  if (!source) throw invalidParameter(`mount at ${request.destination} has no resolved source`);
  return {
    type: request.kind,
    source,
    destination: request.destination,
    readOnly: request.readOnly,
    propagation: request.kind === 'bind' ? request.propagation : 'rprivate',
    ...(request.kind === 'bind' && request.nonRecursive ? { nonRecursive: true } : {}),
  };
}

const depth = (p: string): number => p.split('/').filter((c) => c !== '').length;

/** Mounts parents before children (dockerd's order), keeping the given order among equals: a child is not hidden. */
export function parentsFirst<T extends { destination: string }>(mounts: readonly T[]): T[] {
  return mounts
    .map((m, i) => ({ m, i }))
    .sort((a, b) => depth(a.m.destination) - depth(b.m.destination) || a.i - b.i)
    .map((x) => x.m);
}
