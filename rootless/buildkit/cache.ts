/**
 * BuildKit's cache in the figures dockerd gives: `docker system df` lists buildkitd's records beside
 * the classic builder's, and POST /build/prune (`docker builder prune` without buildx, `docker system
 * prune`) prunes both. buildkitd is asked only once it has run here: a daemon that never built with
 * BuildKit has no such cache and does not start one to say so.
 */
import { access } from 'node:fs/promises';
import type { BuildCacheRecord, BuildPruneReport, BuildService } from '../build/interface.js';
import { decodeDiskUsage, decodeUsageRecord, encodePruneRequest, type UsageRecord } from '../../translate/buildkit-wire.js';
import type { Buildkitd } from './daemon.js';

export function cacheRecord(r: UsageRecord): BuildCacheRecord {
  return {
    id: r.id,
    parents: [...r.parents],
    type: r.recordType,
    description: r.description,
    inUse: r.inUse,
    shared: r.shared,
    size: r.size,
    createdAt: (r.createdAt ?? new Date(0)).toISOString(),
    lastUsedAt: r.lastUsedAt ? r.lastUsedAt.toISOString() : null,
    usageCount: r.usageCount,
  };
}

export class BuildkitCache {
  constructor(private readonly daemon: Buildkitd) {}

  private async everRan(): Promise<boolean> {
    return access(this.daemon.configFile).then(() => true, () => false);
  }

  private async call<T>(work: (socket: string) => Promise<T>): Promise<T> {
    const socket = await this.daemon.acquire();
    try {
      return await work(socket);
    } finally {
      this.daemon.release();
    }
  }

  async records(): Promise<BuildCacheRecord[]> {
    if (!(await this.everRan())) return [];
    // node:http2 loads only once buildkitd has been used (the daemon may never build with BuildKit).
    const { grpcCall } = await import('./grpc-call.js');
    const [resp] = await this.call((s) => grpcCall(s, '/moby.buildkit.v1.Control/DiskUsage', Buffer.alloc(0)));
    return resp ? decodeDiskUsage(resp).map(cacheRecord) : [];
  }

  async prune(all: boolean): Promise<BuildPruneReport> {
    if (!(await this.everRan())) return { deleted: [], spaceReclaimed: 0 };
    const { grpcCall } = await import('./grpc-call.js');
    const deleted = (await this.call((s) => grpcCall(s, '/moby.buildkit.v1.Control/Prune', encodePruneRequest(all), 10 * 60_000))).map(decodeUsageRecord);
    return { deleted: deleted.map((r) => r.id), spaceReclaimed: deleted.reduce((n, r) => n + r.size, 0) };
  }
}

/** The classic builder's service with BuildKit's cache added to its disk usage and prune. */
export function withBuildkitCache(classic: BuildService, cache: BuildkitCache): BuildService {
  return {
    build: (params, emit) => classic.build(params, emit),
    diskUsage: async () => [...(await classic.diskUsage()), ...(await cache.records())],
    prune: async (params) => {
      const [a, b] = [await classic.prune(params), await cache.prune(params.all)];
      return { deleted: [...a.deleted, ...b.deleted], spaceReclaimed: a.spaceReclaimed + b.spaceReclaimed };
    },
  };
}
