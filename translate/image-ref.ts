/**
 * dockerd's image reference rules (distribution/reference): parsing, normalisation to
 * docker.io/library/…, and the "familiar" short form clients show. Pure.
 */
import { invalidParameter, type EngineError } from './errors.js';

export interface ImageRef {
  /** Registry host, "docker.io" for Docker Hub, possibly with a port. */
  domain: string;
  /** Repository path on the registry, "library/busybox". */
  path: string;
  tag?: string;
  /** "sha256:…" */
  digest?: string;
}

export const DEFAULT_DOMAIN = 'docker.io';
export const DEFAULT_TAG = 'latest';
const LEGACY_DOMAIN = 'index.docker.io';
const OFFICIAL_PREFIX = 'library/';
const NAME_TOTAL_LENGTH_MAX = 255;

const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const ipv6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainName = `(?:${domainComponent}(?:\\.${domainComponent})*|${ipv6})(?::[0-9]+)?`;
const pathComponent = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const tagPattern = '[\\w][\\w.-]{0,127}';
const digestPattern = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const referenceRe = new RegExp(`^((?:${domainName}/)?${pathComponent}(?:/${pathComponent})*)(?::(${tagPattern}))?(?:@(${digestPattern}))?$`);
const anchoredIdentifier = /^[a-f0-9]{64}$/;
const anchoredTag = new RegExp(`^${tagPattern}$`);
const anchoredDigest = new RegExp(`^${digestPattern}$`);

export const ERR_REFERENCE_FORMAT = 'invalid reference format';

function formatError(detail?: string): EngineError {
  return invalidParameter(detail ? `${ERR_REFERENCE_FORMAT}: ${detail}` : ERR_REFERENCE_FORMAT);
}

/** splitDockerDomain: the first component is a registry only if it looks like a host. */
function splitDomain(name: string): [string, string] {
  const i = name.indexOf('/');
  let domain: string;
  let remainder: string;
  const first = i === -1 ? '' : name.slice(0, i);
  if (i === -1 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = DEFAULT_DOMAIN;
    remainder = name;
  } else {
    domain = first;
    remainder = name.slice(i + 1);
  }
  if (domain === LEGACY_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = OFFICIAL_PREFIX + remainder;
  return [domain, remainder];
}

/** Parse a fully qualified "domain/path[:tag][@digest]" (reference.Parse). */
function parseQualified(domain: string, remainder: string): ImageRef {
  const s = `${domain}/${remainder}`;
  const m = referenceRe.exec(s);
  if (!m) {
    if (s === '') throw invalidParameter('repository name must have at least one component');
    if (referenceRe.test(s.toLowerCase())) throw formatError('repository name must be lowercase');
    throw formatError();
  }
  if (m[1].length > NAME_TOTAL_LENGTH_MAX) throw invalidParameter(`repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`);
  const ref: ImageRef = { domain, path: m[1].slice(domain.length + 1) };
  if (m[2] !== undefined) ref.tag = m[2];
  if (m[3] !== undefined) ref.digest = m[3];
  return ref;
}

/** ParseNormalizedNamed: what every image endpoint applies to a user-given name. */
export function parseNormalizedNamed(s: string): ImageRef {
  if (anchoredIdentifier.test(s)) throw invalidParameter(`invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`);
  if (s === '') throw formatError();
  const [domain, remainder] = splitDomain(s);
  const colon = remainder.indexOf(':');
  const remoteName = colon > -1 ? remainder.slice(0, colon) : remainder;
  if (remoteName.toLowerCase() !== remoteName) throw formatError(`repository name (${remoteName}) must be lowercase`);
  return parseQualified(domain, remainder);
}

/** TagNameOnly: a bare name means ":latest". */
export function withDefaultTag(ref: ImageRef): ImageRef {
  return ref.tag === undefined && ref.digest === undefined ? { ...ref, tag: DEFAULT_TAG } : ref;
}

export const isValidTag = (tag: string): boolean => anchoredTag.test(tag);
export const isDigest = (s: string): boolean => anchoredDigest.test(s);

/** "docker.io/library/busybox" */
export const refName = (ref: ImageRef): string => `${ref.domain}/${ref.path}`;

/** "docker.io/library/busybox:latest@sha256:…", fully qualified. */
export function refString(ref: ImageRef): string {
  return refName(ref) + (ref.tag !== undefined ? `:${ref.tag}` : '') + (ref.digest !== undefined ? `@${ref.digest}` : '');
}

/** "busybox" for docker.io/library/busybox, "user/x" for docker.io/user/x, unchanged otherwise. */
export function familiarName(ref: ImageRef): string {
  if (ref.domain !== DEFAULT_DOMAIN) return refName(ref);
  const p = ref.path;
  if (p.startsWith(OFFICIAL_PREFIX) && !p.slice(OFFICIAL_PREFIX.length).includes('/')) return p.slice(OFFICIAL_PREFIX.length);
  return p;
}

export function familiarString(ref: ImageRef): string {
  return familiarName(ref) + (ref.tag !== undefined ? `:${ref.tag}` : '') + (ref.digest !== undefined ? `@${ref.digest}` : '');
}

/** True for registries we talk to over plain HTTP, as dockerd treats loopback as insecure by default. */
export function isLoopbackRegistry(domain: string): boolean {
  const host = domain.startsWith('[') ? domain.slice(1, domain.indexOf(']')) : domain.replace(/:\d+$/, '');
  return host === 'localhost' || host === '::1' || /^127(?:\.\d{1,3}){3}$/.test(host);
}

/** The host the distribution API lives on: Docker Hub's registry is not docker.io itself. */
export function registryHost(domain: string): string {
  return domain === DEFAULT_DOMAIN ? 'registry-1.docker.io' : domain;
}

/** dockerd's glob match of a `reference=` filter against a familiar reference or name (path.Match semantics). */
export function familiarMatch(pattern: string, ref: ImageRef): boolean {
  const re = globToRegExp(pattern);
  if (!re) return false;
  return re.test(familiarString(ref)) || re.test(familiarName(ref));
}

function globToRegExp(pattern: string): RegExp | undefined {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end === -1) return undefined;
      let cls = pattern.slice(i + 1, end);
      if (cls.startsWith('^')) cls = '!' + cls.slice(1);
      out += cls.startsWith('!') ? `[^${cls.slice(1).replace(/\\/g, '\\\\')}]` : `[${cls.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else if (c === '\\' && i + 1 < pattern.length) out += '\\' + pattern[++i];
    else out += c.replace(/[.+^${}()|\]\\]/g, '\\$&');
  }
  try {
    return new RegExp(`^${out}$`);
  } catch {
    return undefined;
  }
}
