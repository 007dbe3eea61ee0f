import { describe, expect, it } from 'vitest';
import { volumeJson, volumeListJson, volumePruneJson, volumeUsageJson } from '../translate/volume-json.js';
import { diskUsageJson } from '../translate/disk-usage-json.js';
import type { Volume } from '../rootless/volumes/interface.js';

/** Pure: the engine's volumes as dockerd's wire JSON, compared as text so field order counts. */
const vol: Volume = {
  name: 'data',
  createdAt: new Date('2026-03-01T10:20:30.456Z'),
  mountpoint: '/var/lib/burrow/volumes/data/_data',
  labels: { a: '1' },
  options: { type: 'tmpfs', o: 'size=1m' },
};

describe('volume wire JSON', () => {
  it('inspect: dockerd field order, RFC 3339 seconds, driver and scope local', () => {
    expect(JSON.stringify(volumeJson(vol))).toBe(
      '{"CreatedAt":"2026-03-01T10:20:30Z","Driver":"local","Labels":{"a":"1"},"Mountpoint":"/var/lib/burrow/volumes/data/_data","Name":"data","Options":{"type":"tmpfs","o":"size=1m"},"Scope":"local"}',
    );
  });

  it('empty labels and options stay {} (not null), and whole seconds print without fractions', () => {
    const bare = { ...vol, createdAt: new Date('2026-03-01T10:20:30Z'), labels: {}, options: {} };
    expect(JSON.stringify(volumeJson(bare))).toBe(
      '{"CreatedAt":"2026-03-01T10:20:30Z","Driver":"local","Labels":{},"Mountpoint":"/var/lib/burrow/volumes/data/_data","Name":"data","Options":{},"Scope":"local"}',
    );
  });

  it('does not share the engine maps with the answer', () => {
    const json = volumeJson(vol);
    json.Labels.b = '2';
    expect(vol.labels).toEqual({ a: '1' });
  });

  it('list: Warnings is [], an empty list is []', () => {
    expect(JSON.stringify(volumeListJson([]))).toBe('{"Volumes":[],"Warnings":[]}');
    expect(volumeListJson([vol]).Volumes).toEqual([volumeJson(vol)]);
  });

  it('prune: nothing deleted is [] with 0 bytes', () => {
    expect(JSON.stringify(volumePruneJson({ deleted: [], spaceReclaimed: 0 }))).toBe('{"VolumesDeleted":[],"SpaceReclaimed":0}');
    expect(JSON.stringify(volumePruneJson({ deleted: ['a', 'b'], spaceReclaimed: 12 }))).toBe('{"VolumesDeleted":["a","b"],"SpaceReclaimed":12}');
  });

  it('system df: UsageData comes last', () => {
    expect(JSON.stringify(volumeUsageJson({ ...vol, labels: {}, options: {}, size: 4096, refCount: 2 }))).toBe(
      '{"CreatedAt":"2026-03-01T10:20:30Z","Driver":"local","Labels":{},"Mountpoint":"/var/lib/burrow/volumes/data/_data","Name":"data","Options":{},"Scope":"local","UsageData":{"Size":4096,"RefCount":2}}',
    );
  });

  it('system df: sections not asked for stay null, asked-for empty ones are []', () => {
    expect(JSON.stringify(diskUsageJson({ layersSize: 0, images: null, containers: null, volumes: null, buildCache: null }, new Date(0)))).toBe(
      '{"LayersSize":0,"Images":null,"Containers":null,"Volumes":null,"BuildCache":null}',
    );
    expect(JSON.stringify(diskUsageJson({ layersSize: 7, images: [], containers: [], volumes: [], buildCache: [] }, new Date(0)))).toBe(
      '{"LayersSize":7,"Images":[],"Containers":[],"Volumes":[],"BuildCache":[]}',
    );
  });
});
