/**
 * The `Config` (and, before API 1.45, `ContainerConfig`) of GET /images/{name}/json per API version,
 * as dockerd 28 shapes them. dockerd decodes the stored config into the OCI image config with
 * Docker's extension fields (DockerOCIImageConfig), whose fields are all "omitempty", so anything
 * else an image config carries (Hostname, Image, StopTimeout…) is dropped and empty values vanish;
 * then it adds back, as defaults under what is set, the fields older answers always had: every
 * container.Config field before 1.50, and from 1.50 those that never had omitempty (moby issue
 * 50134). Pure.
 */
import { versionAtLeast } from './api-version.js';

/** DockerOCIImageConfig's fields, in the order dockerd marshals them. */
const OCI_FIELDS = ['User', 'ExposedPorts', 'Env', 'Entrypoint', 'Cmd', 'Volumes', 'WorkingDir', 'Labels', 'StopSignal', 'ArgsEscaped', 'Healthcheck', 'OnBuild', 'Shell'] as const;

/** What API 1.49 and older always sent. */
const LEGACY_V149: Record<string, unknown> = {
  AttachStderr: false,
  AttachStdin: false,
  AttachStdout: false,
  Cmd: null,
  Domainname: '',
  Entrypoint: null,
  Env: null,
  Hostname: '',
  Image: '',
  Labels: null,
  OnBuild: null,
  OpenStdin: false,
  StdinOnce: false,
  Tty: false,
  User: '',
  Volumes: null,
  WorkingDir: '',
};

/** What API 1.50 and 1.51 always send: the fields without omitempty. */
const LEGACY_V150: Record<string, unknown> = {
  Cmd: null,
  Entrypoint: null,
  Env: null,
  Labels: null,
  OnBuild: null,
  User: '',
  Volumes: null,
  WorkingDir: '',
};

/** Go's omitempty: false, 0, "", nil, and empty slices and maps are left out. */
function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v as object).length === 0;
  return false;
}

/**
 * A value of the type dockerd decodes the field into; anything else would have failed its decoding,
 * so it is dropped rather than echoed.
 */
function typed(field: (typeof OCI_FIELDS)[number], v: unknown): boolean {
  switch (field) {
    case 'User':
    case 'WorkingDir':
    case 'StopSignal':
      return typeof v === 'string';
    case 'ArgsEscaped':
      return typeof v === 'boolean';
    case 'Env':
    case 'Entrypoint':
    case 'Cmd':
    case 'OnBuild':
    case 'Shell':
      return Array.isArray(v) && v.every((s) => typeof s === 'string');
    default:
      return typeof v === 'object' && v !== null && !Array.isArray(v);
  }
}

/** The image's `Config` as dockerd answers it for `apiVersion`. */
export function inspectConfig(raw: Record<string, unknown> | undefined, apiVersion: string): Record<string, unknown> {
  const set: Record<string, unknown> = {};
  for (const field of OCI_FIELDS) {
    const v = raw?.[field];
    // A pointer in Go: an empty healthcheck object is still sent.
    const kept = field === 'Healthcheck' ? v !== undefined && v !== null : !isEmpty(v);
    if (kept && typed(field, v)) set[field] = v;
  }
  if (versionAtLeast(apiVersion, '1.52')) return set;
  const defaults = versionAtLeast(apiVersion, '1.50') ? LEGACY_V150 : LEGACY_V149;
  // Go marshals a map with sorted keys; this is that map.
  const merged: Record<string, unknown> = { ...defaults, ...set };
  return Object.fromEntries(Object.keys(merged).sort().map((k) => [k, merged[k]]));
}

/** container.Config as Go marshals it: every field, omitempty ones only when set. */
const CONTAINER_CONFIG_FIELDS: [string, unknown, boolean][] = [
  ['Hostname', '', false],
  ['Domainname', '', false],
  ['User', '', false],
  ['AttachStdin', false, false],
  ['AttachStdout', false, false],
  ['AttachStderr', false, false],
  ['ExposedPorts', undefined, true],
  ['Tty', false, false],
  ['OpenStdin', false, false],
  ['StdinOnce', false, false],
  ['Env', null, false],
  ['Cmd', null, false],
  ['Healthcheck', undefined, true],
  ['ArgsEscaped', undefined, true],
  ['Image', '', false],
  ['Volumes', null, false],
  ['WorkingDir', '', false],
  ['Entrypoint', null, false],
  ['NetworkDisabled', undefined, true],
  ['OnBuild', null, false],
  ['Labels', null, false],
  ['StopSignal', undefined, true],
  ['StopTimeout', undefined, true],
  ['Shell', undefined, true],
];

/** The deprecated `ContainerConfig` (API < 1.45): the stored container_config, or a zero one. */
export function legacyContainerConfig(raw: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [field, zero, omitEmpty] of CONTAINER_CONFIG_FIELDS) {
    const v = raw?.[field];
    if (omitEmpty) {
      if (!isEmpty(v)) out[field] = v;
    } else {
      out[field] = v === undefined ? zero : v;
    }
  }
  return out;
}
