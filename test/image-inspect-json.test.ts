/** Pure: image inspect's shape per API version, and the config dockerd makes for a legacy-layout layer. */
import { describe, expect, it } from 'vitest';
import { imageInspect, imageInspectJson } from '../translate/image-json.js';
import { inspectConfig, legacyContainerConfig } from '../translate/image-inspect-config.js';
import { configFromV1, goCompact, goTime, historyFromV1, rawMembers } from '../translate/legacy-image-config.js';

const driver = { name: 'overlay2', layerDirs: [] };

describe('image inspect per API version', () => {
  it('Config: only the OCI image-config fields, empty ones dropped, legacy defaults per version', () => {
    const raw = { Hostname: 'h', Image: 'sha256:abc', Env: ['A=b'], Cmd: [], OnBuild: null, ExposedPorts: {}, StopTimeout: 3, Shell: ['/bin/bash', '-c'] };
    expect(inspectConfig(raw, '1.52')).toEqual({ Env: ['A=b'], Shell: ['/bin/bash', '-c'] });
    expect(inspectConfig(raw, '1.50')).toEqual({ Cmd: null, Entrypoint: null, Env: ['A=b'], Labels: null, OnBuild: null, Shell: ['/bin/bash', '-c'], User: '', Volumes: null, WorkingDir: '' });
    const old = inspectConfig(raw, '1.41');
    expect(old).toMatchObject({ Hostname: '', Image: '', AttachStdin: false, Tty: false, OnBuild: null, Env: ['A=b'] });
    expect(old).not.toHaveProperty('StopTimeout');
    expect(Object.keys(old)).toEqual([...Object.keys(old)].sort());
    expect(inspectConfig({ OnBuild: ['RUN true'] }, '1.50').OnBuild).toEqual(['RUN true']);
  });

  it('top level: Comment from history, Created omitted when unknown (zero before 1.44), VirtualSize and ContainerConfig for old clients', () => {
    const view = { id: 'sha256:' + 'a'.repeat(64), repoTags: [], repoDigests: [], size: 5, config: { history: [{ comment: 'first' }, { comment: 'last' }], container_config: { Cmd: ['sh'] } } };
    const now = imageInspect(view, driver, '1.50');
    expect(now.Comment).toBe('last');
    expect(now).not.toHaveProperty('Created');
    expect(now).not.toHaveProperty('VirtualSize');
    expect(now.GraphDriver).toEqual({ Name: 'overlay2', Data: null });
    expect(now.RootFS).toEqual({ Type: 'layers' });
    const old = imageInspect(view, driver, '1.43');
    expect(old.Created).toBe('0001-01-01T00:00:00Z');
    expect(old.VirtualSize).toBe(5);
    expect(old.Container).toBe('');
    expect(old.ContainerConfig).toMatchObject({ Hostname: '', Cmd: ['sh'], Env: null, OnBuild: null });
    expect(imageInspect(view, driver, '1.44')).not.toHaveProperty('VirtualSize');
    expect(imageInspect(view, driver, '1.44')).toHaveProperty('ContainerConfig');
    expect(imageInspect(view, driver, '1.45')).not.toHaveProperty('ContainerConfig');
    expect(legacyContainerConfig(undefined)).toMatchObject({ Image: '', Volumes: null, Labels: null });
  });

  it("the engine's details: the same document, graph driver data from its layer dirs, no graphDriver key leaking", () => {
    const view = { id: 'sha256:' + 'b'.repeat(64), repoTags: ['a:1'], repoDigests: [], size: 7, config: { created: '2024-01-01T00:00:00Z' }, lastTagTime: '2024-02-02T00:00:00Z' };
    const graphDriver = { name: 'overlay2', layerDirs: ['/s/l2/diff', '/s/l1/diff'] };
    const json = imageInspectJson({ ...view, graphDriver }, '1.50');
    expect(JSON.stringify(json)).toBe(JSON.stringify(imageInspect(view, graphDriver, '1.50')));
    expect(json).not.toHaveProperty('graphDriver');
    expect(json.GraphDriver).toEqual({ Name: 'overlay2', Data: { LowerDir: '/s/l1/diff', MergedDir: '/s/l2/merged', UpperDir: '/s/l2/diff', WorkDir: '/s/l2/work' } });
    expect(json.Metadata).toEqual({ LastTagTime: '2024-02-02T00:00:00Z' });
  });
});

describe('legacy docker save layout: the config dockerd makes', () => {
  it('Go times, compaction and member order', () => {
    expect(goTime('2015-08-01T10:00:00.120000000Z')).toBe('2015-08-01T10:00:00.12Z');
    expect(goTime('2015-08-01T10:00:00+00:00')).toBe('2015-08-01T10:00:00Z');
    expect(goCompact('{ "a" : [1.0, "x <y> & z"] }')).toBe('{"a":[1.0,"x \\u003cy\\u003e \\u0026 z"]}');
    expect([...rawMembers('{"b": {"c": [1, "}"]}, "a": 1e3, "z": "s", "n": null}')]).toEqual([
      ['b', '{"c": [1, "}"]}'],
      ['a', '1e3'],
      ['z', '"s"'],
      ['n', 'null'],
    ]);
  });

  it('drops the v1 identity members, adds rootfs and history, sorts the keys', () => {
    const v1 = JSON.stringify({ id: 'x'.repeat(64), parent: 'y'.repeat(64), Size: 12, created: '2015-08-01T10:00:00.000Z', docker_version: '1.9.1', container_config: { Cmd: ['/bin/sh', '-c', '#(nop) CMD ["sh"]'] }, config: { Cmd: ['sh'] }, os: 'linux', architecture: 'amd64' });
    const history = [historyFromV1(JSON.parse(v1) as Record<string, unknown>)];
    expect(history).toEqual([{ created: '2015-08-01T10:00:00Z', created_by: '/bin/sh -c #(nop) CMD ["sh"]' }]);
    const diff = 'sha256:' + 'd'.repeat(64);
    expect(configFromV1(v1, [diff], history).toString()).toBe(
      `{"architecture":"amd64","config":{"Cmd":["sh"]},"container_config":{"Cmd":["/bin/sh","-c","#(nop) CMD [\\"sh\\"]"]},"created":"2015-08-01T10:00:00.000Z","docker_version":"1.9.1","history":[{"created":"2015-08-01T10:00:00Z","created_by":"/bin/sh -c #(nop) CMD [\\"sh\\"]"}],"os":"linux","rootfs":{"type":"layers","diff_ids":["${diff}"]}}`,
    );
  });
});
