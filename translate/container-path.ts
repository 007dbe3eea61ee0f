/**
 * Paths as the archive endpoints take them, cleaned the way dockerd's archive package cleans them.
 * Pure: resolving them is the in-root helper's job (rootless/containers/in-root.ts).
 */

/** archive.PreserveTrailingDotOrSeparator: "/a/." and "/a/" mean "the contents of a". */
export function preserveTrailing(cleaned: string, original: string): string {
  if (original.endsWith('/.') && !cleaned.endsWith('/.')) return cleaned === '/' ? '/.' : `${cleaned}/.`;
  if (original.endsWith('/') && !cleaned.endsWith('/')) return `${cleaned}/`;
  return cleaned;
}

/** filepath.Base: the last element, "/" for the root. */
export function baseName(abs: string): string {
  const trimmed = abs.replace(/\/+$/, '');
  if (trimmed === '') return '/';
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}
