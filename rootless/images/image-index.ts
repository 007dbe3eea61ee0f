/**
 * The image store's index.json (images, their layers and parents, and the references naming them)
 * and the questions about parents that need nothing but the index. Pure.
 */

export interface ImageEntry {
  /** Chain IDs, bottom layer first. */
  layers: string[];
  lastTagTime?: string;
  /** When this engine first stored the image. */
  added: string;
  /**
   * The image this one was made from (a build step's base, a commit's container image), as dockerd's
   * image store links them. Absent in indexes written before parents were kept; a parent that is
   * gone reads as none.
   */
  parent?: string;
}

export interface StoreIndex {
  version: 1;
  images: Record<string, ImageEntry>;
  /** Fully qualified reference ("docker.io/library/busybox:latest", "host/x@sha256:…") → image ID. */
  refs: Record<string, string>;
}

/** The image `id` was made from, if it is still stored. */
export function parentOf(index: StoreIndex, id: string): string | undefined {
  const parent = index.images[id]?.parent;
  return parent !== undefined && index.images[parent] ? parent : undefined;
}

/** Images made from `id` (dockerd's dependent child images). */
export function childrenOf(index: StoreIndex, id: string): string[] {
  return Object.entries(index.images)
    .filter(([, e]) => e.parent === id)
    .map(([child]) => child);
}

/** Every image that has at least one child: the intermediate images a plain listing hides. */
export function imagesWithChildren(index: StoreIndex): Set<string> {
  const out = new Set<string>();
  for (const e of Object.values(index.images)) if (e.parent !== undefined && index.images[e.parent]) out.add(e.parent);
  return out;
}

/** The chain from `id` up through its parents (`id` first). */
export function lineageOf(index: StoreIndex, id: string): string[] {
  const out: string[] = [];
  for (let cur: string | undefined = id; cur !== undefined && index.images[cur] !== undefined && !out.includes(cur); cur = parentOf(index, cur)) out.push(cur);
  return out;
}
