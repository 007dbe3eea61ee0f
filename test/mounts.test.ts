import { describe, expect, it } from 'vitest';
import { EngineError } from '../translate/errors.js';
import { parseBind, parseMountRequests, parseTmpfsEntry, toResolvedMount } from '../translate/mounts.js';
import { parseMountSpec } from '../translate/mount-spec.js';
import type { MountRequest } from '../translate/mount-request.js';
import { parseVolumeDriverOpts } from '../translate/volume-opts.js';
import { volumeNameProblem } from '../translate/volume-name.js';
import { volumeListFilter, volumePruneFilter, type VolumeRecord } from '../translate/volume-json.js';

/** The status and message an engine error would reach the client with. */
function refusal(fn: () => unknown): { status: number; message: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof EngineError) return { status: err.statusCode, message: err.message };
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('Binds strings', () => {
  it('name:/path is a named volume with copy-up', () => {
    expect(parseBind('data:/var/lib/data')).toEqual({
      kind: 'volume', origin: 'binds', mode: '', name: 'data', destination: '/var/lib/data', readOnly: false, copyUp: true, chown: false, labels: {}, driverOpts: {},
    });
  });

  it('/host:/path[:mode] is a bind, rprivate by default, destination cleaned', () => {
    const b = parseBind('/srv/www/:/usr/share/www/:ro,Z');
    expect(b).toMatchObject({ kind: 'bind', source: '/srv/www', destination: '/usr/share/www', readOnly: true, propagation: 'rprivate', mode: 'ro,Z', createSource: true });
    expect(parseBind('/a:/b:rslave')).toMatchObject({ propagation: 'rslave', readOnly: false });
    expect(parseBind('/a:/b:rw,z,cached')).toMatchObject({ kind: 'bind', readOnly: false });
  });

  it('a lone /path is an anonymous volume', () => {
    const v = parseBind('/cache');
    expect(v).toMatchObject({ kind: 'volume', destination: '/cache', copyUp: true });
    expect('name' in v).toBe(false);
  });

  it('nocopy turns copy-up off for volumes and is refused on binds', () => {
    expect(parseBind('v1:/x:nocopy')).toMatchObject({ kind: 'volume', copyUp: false });
    expect(refusal(() => parseBind('/a:/b:nocopy'))).toEqual({
      status: 400,
      message: `invalid volume specification: '/a:/b:nocopy': invalid mount config for type "bind": field VolumeOptions must not be specified`,
    });
  });

  it('U asks for a chown, on volumes and binds', () => {
    expect(parseBind('v1:/x:U')).toMatchObject({ kind: 'volume', chown: true });
    expect(parseBind('/h:/x:ro,U')).toMatchObject({ kind: 'bind', chown: true, readOnly: true });
  });

  it('refuses unknown and repeated modes', () => {
    expect(refusal(() => parseBind('/a:/b:rx'))).toEqual({ status: 400, message: 'invalid mode: rx' });
    expect(refusal(() => parseBind('/a:/b:ro,rw'))).toEqual({ status: 400, message: 'invalid mode: ro,rw' });
    expect(refusal(() => parseBind('/a:/b:z,Z')).message).toBe('invalid mode: z,Z');
  });

  it('refuses malformed specs with dockerd texts', () => {
    for (const raw of [':/b', '/a:/b:ro:x', '/foo:rw']) {
      expect(refusal(() => parseBind(raw))).toEqual({ status: 400, message: `invalid volume specification: '${raw}'` });
    }
    expect(refusal(() => parseBind('/a:rel'))).toEqual({
      status: 400,
      message: `invalid volume specification: '/a:rel': invalid mount config for type "bind": invalid mount path: 'rel' mount path must be absolute`,
    });
    expect(refusal(() => parseBind('v1:/')).message).toBe(`invalid volume specification: 'v1:/': invalid mount config for type "volume": invalid specification: destination can't be '/'`);
    expect(refusal(() => parseBind('v1:/x:rshared')).message).toBe(`invalid volume specification: 'v1:/x:rshared': invalid mount config for type "volume": field BindOptions must not be specified`);
    expect(refusal(() => parseBind('/x:ro')).message).toBe(`invalid volume specification: '/x:ro'`);
  });

  it('a relative host path is a volume name, refused like dockerd', () => {
    expect(refusal(() => parseBind('./data:/data'))).toEqual({
      status: 400,
      message: `create ./data: "./data" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`,
    });
    expect(refusal(() => parseBind('x:/data')).message).toBe('create x: volume name is too short, names should be at least two alphanumeric characters');
  });

  it('refuses shared propagation: the engine mount namespace is private', () => {
    const r = refusal(() => parseBind('/a:/b:rshared'));
    expect(r.status).toBe(400);
    expect(r.message).toContain('propagation mode rshared is not available to the rootless engine');
  });
});

describe('Mounts array', () => {
  it('volume with NoCopy, Labels, driver options and subpath', () => {
    expect(
      parseMountSpec({ Type: 'volume', Source: 'v1', Target: '/v', VolumeOptions: { NoCopy: true, Labels: { a: 'b' }, DriverConfig: { Name: 'local', Options: { type: 'tmpfs' } }, Subpath: 'sub/dir' } }),
    ).toEqual({
      kind: 'volume', origin: 'mounts', mode: '', name: 'v1', destination: '/v', readOnly: false, copyUp: false, chown: false, labels: { a: 'b' }, driverOpts: { type: 'tmpfs' }, subpath: 'sub/dir',
    });
    expect(refusal(() => parseMountSpec({ Type: 'volume', Source: 'v1', Target: '/v', VolumeOptions: { Subpath: '../up' } })).status).toBe(400);
    expect(refusal(() => parseMountSpec({ Type: 'volume', Target: '/v', ReadOnly: true })).message).toBe(
      'invalid mount config for type "volume": must not set ReadOnly mode when using anonymous volumes',
    );
    expect(refusal(() => parseMountSpec({ Type: 'volume', Source: 'v1', Target: '/v', VolumeOptions: { DriverConfig: { Name: 'nfs-plugin' } } })).message).toBe(
      'error looking up volume plugin nfs-plugin: plugin "nfs-plugin" not found',
    );
  });

  it('bind with propagation, NonRecursive and CreateMountpoint', () => {
    expect(parseMountSpec({ Type: 'bind', Source: '/h', Target: '/c', ReadOnly: true, BindOptions: { Propagation: 'slave', NonRecursive: true } })).toMatchObject({
      kind: 'bind', source: '/h', destination: '/c', readOnly: true, propagation: 'slave', nonRecursive: true, createSource: false,
    });
    expect(parseMountSpec({ Type: 'bind', Source: '/h', Target: '/c', BindOptions: { CreateMountpoint: true } })).toMatchObject({ createSource: true, propagation: 'rprivate' });
    expect(refusal(() => parseMountSpec({ Type: 'bind', Target: '/c' })).message).toBe('invalid mount config for type "bind": field Source must not be empty');
    expect(refusal(() => parseMountSpec({ Type: 'bind', Source: 'rel', Target: '/c' })).message).toBe(`invalid mount config for type "bind": invalid mount path: 'rel' mount path must be absolute`);
    expect(refusal(() => parseMountSpec({ Type: 'bind', Source: '/h', Target: '/c', BindOptions: { Propagation: 'weird' } })).message).toBe(
      'invalid mount config for type "bind": invalid propagation mode: weird',
    );
    expect(refusal(() => parseMountSpec({ Type: 'bind', Source: '/h', Target: '/c', BindOptions: { Propagation: 'shared' } })).message).toContain('not available to the rootless engine');
    expect(refusal(() => parseMountSpec({ Type: 'bind', Source: '/h', Target: '/c', VolumeOptions: { NoCopy: true } })).message).toBe(
      'invalid mount config for type "bind": field VolumeOptions must not be specified',
    );
  });

  it('tmpfs SizeBytes and Mode become mount options like dockerd writes them', () => {
    expect(parseMountSpec({ Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 1048576, Mode: 0o1777 } })).toEqual({
      kind: 'tmpfs', origin: 'mounts', mode: '', destination: '/t', readOnly: false, options: ['mode=1777', 'size=1m'],
    });
    expect(parseMountSpec({ Type: 'tmpfs', Target: '/t', ReadOnly: true, TmpfsOptions: { SizeBytes: 1000 } })).toMatchObject({ readOnly: true, options: ['ro', 'size=1000'] });
    expect(parseMountSpec({ Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 3 * 2 ** 30 } })).toMatchObject({ options: ['size=3g'] });
    expect(refusal(() => parseMountSpec({ Type: 'tmpfs', Source: 'x', Target: '/t' })).message).toBe('invalid mount config for type "tmpfs": field Source must not be specified');
  });

  it('unknown types and missing targets are refused', () => {
    expect(refusal(() => parseMountSpec({ Type: 'npipe', Source: '/p', Target: '/p' })).message).toBe('invalid mount config for type "npipe": mount type unknown');
    expect(refusal(() => parseMountSpec({ Type: 'volume', Source: 'v1' })).message).toBe('invalid mount config for type "volume": field Target must not be empty');
  });
});

describe('Tmpfs map', () => {
  it('parses options and refuses unknown ones', () => {
    expect(parseTmpfsEntry('/run', 'rw,size=1m,noexec')).toEqual({ kind: 'tmpfs', origin: 'tmpfs', mode: '', destination: '/run', readOnly: false, options: ['rw', 'size=1m', 'noexec'] });
    expect(parseTmpfsEntry('/ro', 'ro')).toMatchObject({ readOnly: true });
    expect(refusal(() => parseTmpfsEntry('/run', 'bogus=1')).message).toBe('invalid tmpfs option ["bogus" "1"]');
    expect(refusal(() => parseTmpfsEntry('run', '')).status).toBe(400);
  });
});

describe('all mount sources together', () => {
  it('orders Binds, Mounts, Tmpfs, then config volumes nothing else covers', () => {
    const out = parseMountRequests({
      binds: ['data:/data', '/host:/host'],
      mounts: [{ Type: 'tmpfs', Target: '/scratch' }],
      tmpfs: { '/run': 'size=1m' },
      configVolumes: { '/data': {}, '/var/cache/app': {}, '/run': {} },
    });
    expect(out.map((m: MountRequest) => [m.kind, m.destination, m.origin])).toEqual([
      ['volume', '/data', 'binds'],
      ['bind', '/host', 'binds'],
      ['tmpfs', '/scratch', 'mounts'],
      ['tmpfs', '/run', 'tmpfs'],
      ['volume', '/var/cache/app', 'config-volumes'],
    ]);
    const anon = out[4];
    expect(anon?.kind === 'volume' && anon.name === undefined && anon.copyUp).toBe(true);
  });

  it('refuses a destination used twice', () => {
    expect(refusal(() => parseMountRequests({ binds: ['a1:/x', '/h:/x/'] }))).toEqual({ status: 400, message: 'Duplicate mount point: /x' });
    expect(refusal(() => parseMountRequests({ binds: ['a1:/x'], mounts: [{ Type: 'tmpfs', Target: '/x' }] })).message).toBe('Duplicate mount point: /x');
    expect(refusal(() => parseMountRequests({ mounts: [{ Type: 'tmpfs', Target: '/y' }], tmpfs: { '/y': '' } })).message).toBe('Duplicate mount point: /y');
  });

  it('refuses a volume driver other than local', () => {
    expect(refusal(() => parseMountRequests({ binds: ['v1:/x'], volumeDriver: 'convoy' })).message).toBe('error looking up volume plugin convoy: plugin "convoy" not found');
    expect(parseMountRequests({ binds: ['/h:/x'], volumeDriver: 'convoy' })).toHaveLength(1);
  });

  it('resolves requests into what oci-spec takes', () => {
    const [vol, bind, tmp] = parseMountRequests({ binds: ['v1:/v:ro', '/h:/b:slave'], tmpfs: { '/t': 'size=1m' } });
    expect(toResolvedMount(vol!, '/data/volumes/v1/_data')).toEqual({ type: 'volume', source: '/data/volumes/v1/_data', destination: '/v', readOnly: true, propagation: 'rprivate' });
    expect(toResolvedMount(bind!)).toEqual({ type: 'bind', source: '/h', destination: '/b', readOnly: false, propagation: 'slave' });
    expect(toResolvedMount(tmp!)).toEqual({ type: 'tmpfs', destination: '/t', readOnly: false, options: ['size=1m'] });
    expect(refusal(() => toResolvedMount(vol!)).status).toBe(400);
  });
});

describe('volume names and driver options', () => {
  it('validates names like dockerd; no valid name can leave the volumes directory', () => {
    expect(volumeNameProblem('ok')).toBeUndefined();
    expect(volumeNameProblem('a.b_c-d')).toBeUndefined();
    expect(volumeNameProblem('x')).toMatch(/too short/);
    for (const bad of ['../etc', 'a/b', '..', '.hidden', '-x', 'a b', '']) expect(volumeNameProblem(bad), bad).toBeDefined();
  });

  it('accepts plain, tmpfs and bind-style options and refuses what rootless cannot mount', () => {
    expect(parseVolumeDriverOpts({})).toEqual({ kind: 'directory' });
    expect(parseVolumeDriverOpts({ type: 'tmpfs', o: 'size=1m,uid=1000' })).toEqual({ kind: 'tmpfs', options: ['size=1m', 'uid=1000'] });
    expect(parseVolumeDriverOpts({ type: 'tmpfs', device: 'tmpfs' })).toEqual({ kind: 'tmpfs', options: [] });
    expect(parseVolumeDriverOpts({ type: 'none', o: 'bind', device: '/srv' })).toEqual({ kind: 'bind', device: '/srv', recursive: false });
    expect(refusal(() => parseVolumeDriverOpts({ type: 'nfs', o: 'addr=10.0.0.1', device: ':/export' })).message).toMatch(/volume type "nfs" is not supported by the rootless engine/);
    expect(refusal(() => parseVolumeDriverOpts({ type: 'ext4', device: '/dev/sdb1' })).message).toMatch(/"ext4" is not supported/);
    expect(refusal(() => parseVolumeDriverOpts({ foo: 'bar' })).message).toBe('invalid option: "foo"');
    expect(refusal(() => parseVolumeDriverOpts({ o: 'bind', device: '/srv' })).message).toBe('missing required option: "type"');
    expect(refusal(() => parseVolumeDriverOpts({ type: 'none', o: 'bind', device: 'rel' })).status).toBe(400);
    expect(refusal(() => parseVolumeDriverOpts({ size: '10m' })).message).toBe('quota size requested but no quota support');
  });
});

describe('volume filters', () => {
  const rec = (Name: string, Labels: Record<string, string> = {}, Anonymous = false): VolumeRecord => ({ Name, CreatedAt: '2024-01-01T00:00:00Z', Labels, Options: {}, Anonymous });
  const views = [
    { record: rec('alpha', { env: 'prod' }), inUse: true },
    { record: rec('beta', { env: 'dev' }), inUse: false },
    { record: rec('c'.repeat(64), { 'com.docker.volume.anonymous': '' }), inUse: false },
  ];
  const names = (keep: (v: (typeof views)[number]) => boolean): string[] => views.filter(keep).map((v) => v.record.Name);

  it('list: dangling, driver, label, name', () => {
    expect(names(volumeListFilter('{"dangling":["true"]}'))).toEqual(['beta', 'c'.repeat(64)]);
    expect(names(volumeListFilter('{"dangling":["0"]}'))).toEqual(['alpha']);
    expect(names(volumeListFilter('{"label":["env=dev"]}'))).toEqual(['beta']);
    expect(names(volumeListFilter('{"label":["env"]}'))).toEqual(['alpha', 'beta']);
    expect(names(volumeListFilter('{"name":["alp"]}'))).toEqual(['alpha']);
    expect(names(volumeListFilter('{"driver":["nfs"]}'))).toEqual([]);
    expect(refusal(() => volumeListFilter('{"dangling":["maybe"]}')).message).toBe("invalid filter 'dangling=maybe'");
    expect(refusal(() => volumeListFilter('{"nope":["x"]}')).message).toBe("invalid filter 'nope'");
  });

  it('prune: anonymous only unless all, never in use, label and label!', () => {
    expect(names(volumePruneFilter(undefined, false))).toEqual(['c'.repeat(64)]);
    expect(names(volumePruneFilter('{"all":["true"]}', false))).toEqual(['beta', 'c'.repeat(64)]);
    expect(names(volumePruneFilter(undefined, true))).toEqual(['beta', 'c'.repeat(64)]);
    expect(names(volumePruneFilter('{"all":["1"],"label!":["env"]}', false))).toEqual(['c'.repeat(64)]);
  });
});
