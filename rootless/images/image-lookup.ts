/**
 * What an image name means against the store's index, in dockerd's order: a full ID, then a
 * reference (tag or digest; name:tag@digest by its digest), then a unique ID prefix. Pure.
 */
import { parseNormalizedNamed, refString, withDefaultTag, type ImageRef } from '../../translate/image-ref.js';

const FULL_ID = /^(?:sha256:)?([a-f0-9]{64})$/;

export interface LookupIndex {
  images: Record<string, unknown>;
  /** Fully qualified reference → image ID. */
  refs: Record<string, string>;
}

/** The image `name` means, and the reference when it was one (which rmi untags) rather than an ID. */
export function lookupImage(index: LookupIndex, name: string): { id: string; ref?: ImageRef } | undefined {
  const full = FULL_ID.exec(name);
  if (full) {
    const id = `sha256:${full[1]}`;
    if (index.images[id]) return { id };
  }
  let ref: ImageRef | undefined;
  try {
    ref = withDefaultTag(parseNormalizedNamed(name));
  } catch {
    ref = undefined;
  }
  if (ref) {
    const id = index.refs[refString(ref)];
    if (id !== undefined) return { id, ref };
    if (ref.tag !== undefined && ref.digest !== undefined) {
      const byDigest = index.refs[refString({ domain: ref.domain, path: ref.path, digest: ref.digest })];
      if (byDigest !== undefined) return { id: byDigest };
    }
  }
  const prefix = /^(?:sha256:)?([a-f0-9]+)$/.exec(name);
  if (prefix) {
    const matches = Object.keys(index.images).filter((id) => id.slice('sha256:'.length).startsWith(prefix[1]));
    if (matches.length === 1) return { id: matches[0] };
  }
  return undefined;
}
