/** GET /containers/{id}/changes: a container's diff in dockerd's JSON (archive.Change). Pure. */
import type { FilesystemChange } from '../rootless/containers/tools-interface.js';

/** The FilesystemChange of the Engine API: Kind 0 modified, 1 added, 2 deleted. */
export interface FilesystemChangeJson {
  Path: string;
  Kind: 0 | 1 | 2;
}

const KIND: Record<FilesystemChange['kind'], FilesystemChangeJson['Kind']> = { modified: 0, added: 1, deleted: 2 };

/** The answer's text: dockerd encodes a nil slice, so no change at all is `null`, not `[]`. */
export function containerChangesJson(changes: readonly FilesystemChange[]): string {
  if (changes.length === 0) return 'null';
  return JSON.stringify(changes.map((c): FilesystemChangeJson => ({ Path: c.path, Kind: KIND[c.kind] })));
}
