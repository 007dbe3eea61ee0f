/** Images as dockerd shows them: list summaries, inspect, history, delete records. Pure. */
import type { ImageDeletion, ImageDetails, ImageHistoryEntry, ImageListEntry, ImagePruneReport, ImageSearchResult } from '../rootless/images/interface.js';
import type { ImageConfig } from './image-config.js';
import { diffIdsOf } from './image-config.js';
import { versionAtLeast } from './api-version.js';
import { inspectConfig, legacyContainerConfig } from './image-inspect-config.js';

export interface ImageView {
  id: string;
  config: ImageConfig;
  /** Familiar strings: "busybox:latest". */
  repoTags: string[];
  /** Familiar strings: "busybox@sha256:…". */
  repoDigests: string[];
  size: number;
  lastTagTime?: string;
  /** The parent image's ID (build steps, commits); absent for pulled and loaded images. */
  parent?: string;
}

export interface ImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[];
  RepoDigests: string[];
  Created: number;
  Size: number;
  SharedSize: number;
  Labels: Record<string, string>;
  Containers: number;
}

export interface ImageHistoryItem {
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

export type ImageDeleteItem = { Untagged: string } | { Deleted: string };

const ZERO_TIME = '0001-01-01T00:00:00Z';

export function createdSeconds(cfg: ImageConfig): number {
  const t = cfg.created ? Date.parse(cfg.created) : NaN;
  return Number.isFinite(t) ? Math.floor(t / 1000) : 0;
}

export function imageLabels(cfg: ImageConfig): Record<string, string> {
  const labels = cfg.config?.Labels;
  return labels && typeof labels === 'object' && !Array.isArray(labels) ? (labels as Record<string, string>) : {};
}

/** The list entry of an image the engine holds; SharedSize and Containers are left to /system/df. */
export function imageListEntry(v: ImageView): ImageListEntry {
  return {
    id: v.id,
    ...(v.parent !== undefined ? { parent: v.parent } : {}),
    repoTags: v.repoTags,
    repoDigests: v.repoDigests,
    created: createdSeconds(v.config),
    size: v.size,
    labels: imageLabels(v.config),
  };
}

/** An entry of GET /images/json (and of /system/df's Images), in dockerd's field order. */
export function imageSummaryJson(e: ImageListEntry): ImageSummary {
  return {
    Id: e.id,
    ParentId: e.parent ?? '',
    RepoTags: e.repoTags,
    RepoDigests: e.repoDigests,
    Created: e.created,
    Size: e.size,
    // dockerd computes these only when asked (shared-size=1 / container counts); -1 means "not computed".
    SharedSize: e.sharedSize ?? -1,
    Labels: e.labels,
    Containers: e.containers ?? -1,
  };
}

/** A row of GET /images/{name}/history: `<missing>` for rows no local image stands for, Tags null when none. */
export function imageHistoryJson(e: ImageHistoryEntry): ImageHistoryItem {
  return { Id: e.id ?? '<missing>', Created: e.created, CreatedBy: e.createdBy, Tags: e.tags.length > 0 ? e.tags : null, Size: e.size, Comment: e.comment };
}

/** An entry of DELETE /images/{name} and of prune's ImagesDeleted. */
export function imageDeleteJson(d: ImageDeletion): ImageDeleteItem {
  return 'untagged' in d ? { Untagged: d.untagged } : { Deleted: d.deleted };
}

/** An entry of GET /images/search, snake_case as the registry's v1 search API and dockerd write it. */
export function imageSearchJson(r: ImageSearchResult): { name: string; description: string; star_count: number; is_official: boolean; is_automated: boolean } {
  return { name: r.name, description: r.description, star_count: r.starCount, is_official: r.isOfficial, is_automated: r.isAutomated };
}

/** POST /images/prune: ImagesDeleted is null, not [], when nothing went (dockerd's nil slice). */
export function imagePruneJson(r: ImagePruneReport): { ImagesDeleted: ImageDeleteItem[] | null; SpaceReclaimed: number } {
  return { ImagesDeleted: r.deletions.length > 0 ? r.deletions.map(imageDeleteJson) : null, SpaceReclaimed: r.spaceReclaimed };
}

export interface GraphDriverView {
  name: string;
  /** Diff dirs, top layer first. */
  layerDirs: string[];
}

/**
 * GET /images/{name}/json for `apiVersion`, field for field as dockerd 28 (graph-driver store)
 * answers: VirtualSize before 1.44, Container/ContainerConfig before 1.45, Config shaped per version
 * (image-inspect-config.ts), Created left out when the image has none (zero time before 1.44), and
 * Comment falling back to the last history entry's.
 */
export function imageInspect(v: ImageView, driver: GraphDriverView, apiVersion: string): Record<string, unknown> {
  const cfg = v.config;
  const data: Record<string, string> = {};
  const [top, ...lower] = driver.layerDirs;
  if (top !== undefined) {
    const topDir = top.replace(/\/diff$/, '');
    if (lower.length > 0) data.LowerDir = lower.join(':');
    data.MergedDir = `${topDir}/merged`;
    data.UpperDir = top;
    data.WorkDir = `${topDir}/work`;
  }
  const before = (version: string): boolean => !versionAtLeast(apiVersion, version);
  const history = cfg.history ?? [];
  const comment = cfg.comment || (history.length > 0 ? (history[history.length - 1].comment ?? '') : '');
  const created = cfg.created ?? (before('1.44') ? ZERO_TIME : undefined);
  const layers = diffIdsOf(cfg);
  return {
    Id: v.id,
    RepoTags: v.repoTags,
    RepoDigests: v.repoDigests,
    Parent: v.parent ?? '',
    Comment: comment,
    ...(created !== undefined ? { Created: created } : {}),
    ...(before('1.45') ? { Container: cfg.container ?? '', ContainerConfig: legacyContainerConfig(cfg.container_config) } : {}),
    DockerVersion: cfg.docker_version ?? '',
    Author: cfg.author ?? '',
    Config: inspectConfig(cfg.config, apiVersion),
    Architecture: cfg.architecture ?? '',
    ...(cfg.variant ? { Variant: cfg.variant } : {}),
    Os: cfg.os ?? '',
    ...(cfg['os.version'] ? { OsVersion: cfg['os.version'] } : {}),
    Size: v.size,
    ...(before('1.44') ? { VirtualSize: v.size } : {}),
    // A layerless image has no layer metadata: Go's nil map.
    GraphDriver: { Name: driver.name, Data: top !== undefined ? data : null },
    RootFS: { Type: cfg.rootfs?.type ?? 'layers', ...(layers.length > 0 ? { Layers: layers } : {}) },
    Metadata: { LastTagTime: v.lastTagTime ?? ZERO_TIME },
  };
}

/** GET /images/{name}/json for the engine's image details. */
export function imageInspectJson(d: ImageDetails, apiVersion: string): Record<string, unknown> {
  const { graphDriver, ...view } = d;
  return imageInspect(view, graphDriver, apiVersion);
}

/** One image of a history's parent chain: its ID and tags. */
export interface LineageImage {
  id: string;
  repoTags: string[];
}

/**
 * Newest first. As dockerd does, the rows take the IDs (and tags) of the image and then of its parent
 * chain one row each, top down, until the chain ends; the rest say `<missing>`. Without a lineage
 * only the top row has the image's own ID, as for a pulled image.
 */
export function imageHistory(v: ImageView, layerSizes: readonly number[], lineage: readonly LineageImage[] = [{ id: v.id, repoTags: v.repoTags }]): ImageHistoryEntry[] {
  const history = v.config.history ?? [];
  let layer = 0;
  const rows = history.map((h) => {
    const size = h.empty_layer ? 0 : (layerSizes[layer++] ?? 0);
    const t = h.created ? Date.parse(h.created) : NaN;
    return { created: Number.isFinite(t) ? Math.floor(t / 1000) : 0, createdBy: h.created_by ?? '', size, comment: h.comment ?? '' };
  });
  rows.reverse();
  return rows.map((row, i) => {
    const img = lineage[i];
    return img === undefined ? { ...row, tags: [] } : { id: img.id, ...row, tags: img.repoTags };
  });
}
