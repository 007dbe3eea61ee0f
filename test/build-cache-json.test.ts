import { describe, expect, it } from 'vitest';
import { buildCacheJson, buildPruneJson } from '../translate/build-cache-json.js';
import { diskUsageJson } from '../translate/disk-usage-json.js';
import { cacheRecord } from '../rootless/buildkit/cache.js';
import type { BuildCacheRecord } from '../rootless/build/interface.js';

/** Pure: build cache records and prune reports as dockerd's wire JSON, compared as text so field order counts. */
const step: BuildCacheRecord = {
  id: 'a'.repeat(64),
  parents: [],
  type: 'regular',
  description: '/bin/sh -c echo hi > /x',
  inUse: false,
  shared: true,
  size: 4096,
  createdAt: '2026-03-01T10:20:30.123456789Z',
  lastUsedAt: null,
  usageCount: 0,
};

describe('build cache wire JSON', () => {
  it('a classic step: types.BuildCache field order, no parents is null, the recorded time as is', () => {
    expect(JSON.stringify(buildCacheJson(step))).toBe(
      `{"ID":"${'a'.repeat(64)}","Parents":null,"Type":"regular","Description":"/bin/sh -c echo hi > /x","InUse":false,"Shared":true,"Size":4096,` +
        '"CreatedAt":"2026-03-01T10:20:30.123456789Z","LastUsedAt":null,"UsageCount":0}',
    );
  });

  it("a BuildKit record: parents listed, buildkitd's times in RFC 3339", () => {
    const rec = cacheRecord({
      id: 'k1',
      parents: ['k0'],
      recordType: 'exec.cachemount',
      description: 'cached mount /root/.cache',
      inUse: true,
      shared: false,
      size: 12,
      createdAt: new Date('2026-03-01T10:00:00.5Z'),
      lastUsedAt: new Date('2026-03-02T11:00:00Z'),
      usageCount: 3,
    });
    expect(JSON.stringify(buildCacheJson(rec))).toBe(
      '{"ID":"k1","Parents":["k0"],"Type":"exec.cachemount","Description":"cached mount /root/.cache","InUse":true,"Shared":false,"Size":12,' +
        '"CreatedAt":"2026-03-01T10:00:00.500Z","LastUsedAt":"2026-03-02T11:00:00.000Z","UsageCount":3}',
    );
  });

  it('prune: nothing deleted is [] with 0 bytes', () => {
    expect(JSON.stringify(buildPruneJson({ deleted: [], spaceReclaimed: 0 }))).toBe('{"CachesDeleted":[],"SpaceReclaimed":0}');
    expect(JSON.stringify(buildPruneJson({ deleted: ['a', 'k1'], spaceReclaimed: 4108 }))).toBe('{"CachesDeleted":["a","k1"],"SpaceReclaimed":4108}');
  });

  it('system df: BuildCache null when not asked for, [] when empty, the entries otherwise', () => {
    const report = { layersSize: 0, images: null, containers: null, volumes: null };
    const now = new Date(0);
    expect(JSON.stringify(diskUsageJson({ ...report, buildCache: null }, now))).toBe('{"LayersSize":0,"Images":null,"Containers":null,"Volumes":null,"BuildCache":null}');
    expect(JSON.stringify(diskUsageJson({ ...report, buildCache: [] }, now))).toBe('{"LayersSize":0,"Images":null,"Containers":null,"Volumes":null,"BuildCache":[]}');
    expect(JSON.stringify(diskUsageJson({ ...report, buildCache: [step] }, now))).toBe(
      `{"LayersSize":0,"Images":null,"Containers":null,"Volumes":null,"BuildCache":[${JSON.stringify(buildCacheJson(step))}]}`,
    );
  });
});
