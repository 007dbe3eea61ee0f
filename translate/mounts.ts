/**
 * HostConfig.Binds / Mounts / Tmpfs and Config.Volumes → mount requests, with dockerd's parsing and
 * error texts (volume/mounts/linux_parser.go, daemon registerMountPoints). Pure: nothing is looked up
 * here; the container code resolves each request (volume → host path) and hands ResolvedMounts to
 * oci-spec. The request types are in mount-request.ts, HostConfig.Mounts entries are parsed by
 * mount-spec.ts, and the checks all sources share are in mount-checks.ts.
 *
 * Rootless limits: propagation shared/rshared is refused, because the engine's mount namespace is
 * private (a shared mount could never reach the host); private, rprivate (default), slave and rslave
 * are accepted. SELinux labels z/Z are accepted and ignored (no relabelling without privilege).
 * Burrow adds the mode `U` (as podman): chown the mount's content to the container's user first.
 */
import { invalidParameter } from './errors.js';
import { asInvalid, checkDriver, checkPropagation, cleanPath, mountConfig, PROPAGATIONS, validateTarget } from './mount-checks.js';
import type { MountRequest, MountRequestInput, TmpfsMountRequest, VolumeMountRequest } from './mount-request.js';
import { parseMountSpec } from './mount-spec.js';
import type { ResolvedMount } from './oci-spec-input.js';
import { invalidVolumeName } from './volume-name.js';

const RW_MODES = new Set(['rw', 'ro']);
const LABEL_MODES = new Set(['z', 'Z']);
const CONSISTENCY_MODES = new Set(['consistent', 'cached', 'delegated', 'default']);
/** mount.ParseTmpfsOptions: flags it knows, and the key=value data tmpfs accepts. */
const TMPFS_FLAGS = new Set([
  'defaults', 'ro', 'rw', 'suid', 'nosuid', 'dev', 'nodev', 'exec', 'noexec', 'sync', 'async', 'dirsync', 'mand', 'nomand',
  'atime', 'noatime', 'diratime', 'nodiratime', 'relatime', 'norelatime', 'strictatime', 'nostrictatime', 'tmpcopyup',
]);
const TMPFS_DATA = new Set(['size', 'mode', 'uid', 'gid', 'nr_inodes', 'nr_blocks', 'mpol']);

const invalidSpec = (raw: string): string => `invalid volume specification: '${raw}'`;

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
