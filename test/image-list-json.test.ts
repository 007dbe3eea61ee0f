import { describe, expect, it } from 'vitest';
import { imageDeleteJson, imageHistory, imageHistoryJson, imageListEntry, imagePruneJson, imageSearchJson, imageSummaryJson } from '../translate/image-json.js';
import type { ImageListEntry } from '../rootless/images/interface.js';
import { diskUsageJson } from '../translate/disk-usage-json.js';

/** Pure: the engine's image values as dockerd's wire JSON, compared as text so field order and nulls count. */
const id = `sha256:${'a'.repeat(64)}`;

describe('image list wire JSON', () => {
  it('GET /images/json: dockerd field order, ParentId "" and -1 for what only df computes', () => {
    const entry: ImageListEntry = { id, repoTags: ['busybox:latest'], repoDigests: ['busybox@sha256:bb'], created: 1700000000, size: 4096, labels: { a: 'b' } };
    expect(JSON.stringify(imageSummaryJson(entry))).toBe(
      `{"Id":"${id}","ParentId":"","RepoTags":["busybox:latest"],"RepoDigests":["busybox@sha256:bb"],"Created":1700000000,"Size":4096,"SharedSize":-1,"Labels":{"a":"b"},"Containers":-1}`,
    );
  });

  it('an untagged child: empty tags and digests stay [], labels {}, parent and df counts as given', () => {
    const entry: ImageListEntry = { id, parent: 'sha256:p', repoTags: [], repoDigests: [], created: 0, size: 0, labels: {}, sharedSize: 0, containers: 2 };
    expect(JSON.stringify(imageSummaryJson(entry))).toBe(`{"Id":"${id}","ParentId":"sha256:p","RepoTags":[],"RepoDigests":[],"Created":0,"Size":0,"SharedSize":0,"Labels":{},"Containers":2}`);
  });

  it('builds the entry from an image: creation time in seconds (0 without one), config labels ({} without)', () => {
    const view = { id, config: { created: '2024-05-06T07:08:09.9Z', config: { Labels: { x: 'y' } } }, repoTags: ['t:1'], repoDigests: [], size: 12 };
    expect(imageListEntry(view)).toEqual({ id, repoTags: ['t:1'], repoDigests: [], created: 1714979289, size: 12, labels: { x: 'y' } });
    expect(imageListEntry({ ...view, config: {}, parent: 'sha256:p' })).toMatchObject({ created: 0, labels: {}, parent: 'sha256:p' });
  });
});

describe('system df images', () => {
  it('Images carry the computed SharedSize and Containers in the summary field order', () => {
    const entry: ImageListEntry = { id, repoTags: ['a:1'], repoDigests: [], created: 5, size: 10, labels: {}, sharedSize: 4, containers: 1 };
    expect(JSON.stringify(diskUsageJson({ layersSize: 10, images: [entry], containers: null, volumes: null, buildCache: null }, new Date(0)))).toBe(
      `{"LayersSize":10,"Images":[{"Id":"${id}","ParentId":"","RepoTags":["a:1"],"RepoDigests":[],"Created":5,"Size":10,"SharedSize":4,"Labels":{},"Containers":1}],"Containers":null,"Volumes":null,"BuildCache":null}`,
    );
  });
});

describe('image history wire JSON', () => {
  it('rows no image stands for say <missing> with Tags null; a tagless image has Tags null too', () => {
    const config = { history: [{ created: '2024-01-01T00:00:00Z', created_by: '/bin/sh -c #(nop) ADD file', comment: 'c' }, { created_by: 'RUN x' }, { created_by: 'ENV a=b', empty_layer: true }] };
    const rows = imageHistory({ id, config, repoTags: [], repoDigests: [], size: 0 }, [100, 200]).map(imageHistoryJson);
    expect(JSON.stringify(rows)).toBe(
      `[{"Id":"${id}","Created":0,"CreatedBy":"ENV a=b","Tags":null,"Size":0,"Comment":""},` +
        `{"Id":"<missing>","Created":0,"CreatedBy":"RUN x","Tags":null,"Size":200,"Comment":""},` +
        `{"Id":"<missing>","Created":1704067200,"CreatedBy":"/bin/sh -c #(nop) ADD file","Tags":null,"Size":100,"Comment":"c"}]`,
    );
  });

  it('a tagged row carries its tags', () => {
    expect(imageHistoryJson({ id, created: 1, createdBy: 'x', tags: ['a:1', 'b:2'], size: 3, comment: '' })).toEqual({ Id: id, Created: 1, CreatedBy: 'x', Tags: ['a:1', 'b:2'], Size: 3, Comment: '' });
  });

  it('an image without history has no rows', () => {
    expect(imageHistory({ id, config: {}, repoTags: ['a:1'], repoDigests: [], size: 0 }, [])).toEqual([]);
  });
});

describe('image delete and prune wire JSON', () => {
  it('DELETE /images: Untagged and Deleted entries in order', () => {
    expect(JSON.stringify([{ untagged: 'busybox:latest' }, { deleted: id }].map(imageDeleteJson))).toBe(`[{"Untagged":"busybox:latest"},{"Deleted":"${id}"}]`);
  });

  it('prune: nothing pruned is ImagesDeleted null, as dockerd answers', () => {
    expect(JSON.stringify(imagePruneJson({ deletions: [], spaceReclaimed: 0 }))).toBe('{"ImagesDeleted":null,"SpaceReclaimed":0}');
    expect(JSON.stringify(imagePruneJson({ deletions: [{ untagged: 'x:1' }, { deleted: id }], spaceReclaimed: 9 }))).toBe(
      `{"ImagesDeleted":[{"Untagged":"x:1"},{"Deleted":"${id}"}],"SpaceReclaimed":9}`,
    );
  });
});

describe('image search wire JSON', () => {
  it('snake_case fields in the order the route has always written them; empty description stays ""', () => {
    expect(JSON.stringify(imageSearchJson({ name: 'localhost:5000/busybox', description: '', starCount: 0, isOfficial: false, isAutomated: false }))).toBe(
      '{"name":"localhost:5000/busybox","description":"","star_count":0,"is_official":false,"is_automated":false}',
    );
    expect(imageSearchJson({ name: 'busybox', description: 'd', starCount: 3, isOfficial: true, isAutomated: true })).toEqual({ name: 'busybox', description: 'd', star_count: 3, is_official: true, is_automated: true });
  });
});
