import { describe, expect, it } from 'vitest';
import { containerChangesJson } from '../translate/container-changes-json.js';

/** Pure: a container's diff (domain kinds) as dockerd's wire JSON, compared as text. */
describe('container changes wire JSON', () => {
  it('numbers the kinds as archive.Change does (0 modified, 1 added, 2 deleted), in the given order', () => {
    expect(
      containerChangesJson([
        { path: '/etc', kind: 'modified' },
        { path: '/etc/new', kind: 'added' },
        { path: '/etc/old', kind: 'deleted' },
      ]),
    ).toBe('[{"Path":"/etc","Kind":0},{"Path":"/etc/new","Kind":1},{"Path":"/etc/old","Kind":2}]');
  });

  it('no change at all is null (a nil slice), not []', () => {
    expect(containerChangesJson([])).toBe('null');
  });
});
