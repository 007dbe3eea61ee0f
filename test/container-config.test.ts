import { describe, expect, it } from 'vitest';
import {
  cleanPath,
  effectiveStopSignal,
  effectiveWorkingDir,
  mergeContainerConfig,
  processArgs,
  resolveAdditionalGroups,
  resolveUser,
  type ImageConfig,
} from '../translate/container-config.js';
import { errorOf } from './harness/engine-errors.js';

const image: ImageConfig = {
  User: 'app',
  Env: ['PATH=/usr/bin:/bin', 'LANG=C.UTF-8', 'FOO=image'],
  Cmd: ['nginx', '-g', 'daemon off;'],
  Entrypoint: ['/docker-entrypoint.sh'],
  WorkingDir: '/srv',
  Labels: { maintainer: 'img', shared: 'image' },
  ExposedPorts: { '80/tcp': {} },
  Volumes: { '/data': {} },
  StopSignal: 'SIGQUIT',
  Healthcheck: { Test: ['CMD', 'true'], Interval: 5e9, Retries: 3 },
  ArgsEscaped: true,
};


describe('mergeContainerConfig: command', () => {
  it('takes image Entrypoint and Cmd when the request has neither', () => {
    const m = mergeContainerConfig({}, image);
    expect(m.Entrypoint).toEqual(['/docker-entrypoint.sh']);
    expect(m.Cmd).toEqual(['nginx', '-g', 'daemon off;']);
    expect(m.ArgsEscaped).toBe(true);
  });

  it('a request Cmd replaces the image Cmd and keeps the image Entrypoint', () => {
    const m = mergeContainerConfig({ Cmd: ['ls'] }, image);
    expect(m.Entrypoint).toEqual(['/docker-entrypoint.sh']);
    expect(m.Cmd).toEqual(['ls']);
    expect(processArgs(m)).toEqual(['/docker-entrypoint.sh', 'ls']);
  });

  it('a request Entrypoint discards the image Cmd', () => {
    const m = mergeContainerConfig({ Entrypoint: ['/bin/sh'] }, image);
    expect(m.Entrypoint).toEqual(['/bin/sh']);
    expect(m.Cmd).toBeNull();
  });

  it('a request Entrypoint plus Cmd keeps both from the request', () => {
    const m = mergeContainerConfig({ Entrypoint: ['/bin/sh'], Cmd: ['-c', 'echo'] }, image);
    expect(processArgs(m)).toEqual(['/bin/sh', '-c', 'echo']);
  });

  it('Entrypoint [""] clears the entrypoint and does not take the image Cmd', () => {
    const m = mergeContainerConfig({ Entrypoint: [''], Cmd: ['echo', 'hi'] }, image);
    expect(m.Entrypoint).toBeNull();
    expect(m.Cmd).toEqual(['echo', 'hi']);
  });

  it('Entrypoint [""] without Cmd leaves no command', () => {
    expect(errorOf(() => mergeContainerConfig({ Entrypoint: [''] }, image)).message).toBe('no command specified');
  });

  it('an explicit empty Entrypoint [] drops the image entrypoint but keeps the image Cmd', () => {
    const m = mergeContainerConfig({ Entrypoint: [] }, image);
    expect(m.Entrypoint).toEqual([]);
    expect(m.Cmd).toEqual(['nginx', '-g', 'daemon off;']);
  });

  it('accepts string forms of Cmd and Entrypoint', () => {
    const m = mergeContainerConfig({ Entrypoint: '/bin/sh', Cmd: 'x' }, null);
    expect(processArgs(m)).toEqual(['/bin/sh', 'x']);
  });

  it('fails with 400 when neither side has a command', () => {
    const e = errorOf(() => mergeContainerConfig({}, { Env: [] }));
    expect(e.statusCode).toBe(400);
    expect(e.message).toBe('no command specified');
  });
});

describe('mergeContainerConfig: other fields', () => {
  it('Env: request overrides image by key, image-only keys appended', () => {
    const m = mergeContainerConfig({ Env: ['FOO=req', 'NEW=1'] }, image);
    expect(m.Env).toEqual(['FOO=req', 'NEW=1', 'PATH=/usr/bin:/bin', 'LANG=C.UTF-8']);
  });

  it('Env: a bare key in the request also shadows the image value', () => {
    const m = mergeContainerConfig({ Env: ['FOO'] }, image);
    expect(m.Env).toEqual(['FOO', 'PATH=/usr/bin:/bin', 'LANG=C.UTF-8']);
  });

  it('Env: empty request takes the image env', () => {
    expect(mergeContainerConfig({ Env: [] }, image).Env).toEqual(image.Env);
  });

  it('User: request wins, else image, else empty', () => {
    expect(mergeContainerConfig({ User: '1000' }, image).User).toBe('1000');
    expect(mergeContainerConfig({}, image).User).toBe('app');
    expect(mergeContainerConfig({ Cmd: ['x'] }, null).User).toBe('');
  });

  it('Labels: union, request wins', () => {
    const m = mergeContainerConfig({ Labels: { shared: 'req', mine: '1' } }, image);
    expect(m.Labels).toEqual({ maintainer: 'img', shared: 'req', mine: '1' });
    expect(mergeContainerConfig({ Cmd: ['x'] }, null).Labels).toEqual({});
  });

  it('ExposedPorts and Volumes: union', () => {
    const m = mergeContainerConfig({ ExposedPorts: { '443/tcp': {} }, Volumes: { '/logs': {} } }, image);
    expect(Object.keys(m.ExposedPorts ?? {}).sort()).toEqual(['443/tcp', '80/tcp']);
    expect(Object.keys(m.Volumes ?? {}).sort()).toEqual(['/data', '/logs']);
    expect(mergeContainerConfig({}, image).ExposedPorts).toEqual({ '80/tcp': {} });
  });

  it('WorkingDir: request, image, else empty (effective "/"), cleaned, must be absolute', () => {
    expect(mergeContainerConfig({ WorkingDir: '/a/../b/' }, image).WorkingDir).toBe('/b');
    expect(mergeContainerConfig({}, image).WorkingDir).toBe('/srv');
    const none = mergeContainerConfig({ Cmd: ['x'] }, null);
    expect(none.WorkingDir).toBe('');
    expect(effectiveWorkingDir(none)).toBe('/');
    const e = errorOf(() => mergeContainerConfig({ WorkingDir: 'rel' }, image));
    expect(e.statusCode).toBe(400);
    expect(e.message).toBe("the working directory 'rel' is invalid, it needs to be an absolute path");
  });

  it('StopSignal: request, image, default SIGTERM', () => {
    expect(mergeContainerConfig({ StopSignal: 'SIGINT' }, image).StopSignal).toBe('SIGINT');
    expect(mergeContainerConfig({}, image).StopSignal).toBe('SIGQUIT');
    const none = mergeContainerConfig({ Cmd: ['x'] }, null);
    expect(none.StopSignal).toBeUndefined();
    expect(effectiveStopSignal(none)).toBe('SIGTERM');
  });

  it('Healthcheck: image used when absent; request fields filled from the image when zero', () => {
    expect(mergeContainerConfig({}, image).Healthcheck).toEqual(image.Healthcheck);
    const m = mergeContainerConfig({ Healthcheck: { Test: ['CMD', 'check'], Timeout: 1e9 } }, image);
    expect(m.Healthcheck).toEqual({ Test: ['CMD', 'check'], Timeout: 1e9, Interval: 5e9, Retries: 3 });
    const off = mergeContainerConfig({ Healthcheck: { Test: ['NONE'] } }, image);
    expect(off.Healthcheck?.Test).toEqual(['NONE']);
    expect(mergeContainerConfig({ Cmd: ['x'] }, null).Healthcheck).toBeUndefined();
  });

  it('keeps unrelated request fields', () => {
    const m = mergeContainerConfig({ Cmd: ['x'], Tty: true, OpenStdin: true, Hostname: 'h', Image: 'busybox' }, null);
    expect(m).toMatchObject({ Tty: true, OpenStdin: true, Hostname: 'h', Image: 'busybox' });
  });

  it('cleanPath', () => {
    expect(cleanPath('/')).toBe('/');
    expect(cleanPath('//a/./b/../c/')).toBe('/a/c');
    expect(cleanPath('/..')).toBe('/');
  });
});

const passwd = [
  'root:x:0:0:root:/root:/bin/sh',
  '# comment',
  '',
  'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
  'alice:x:1000:1000:Alice:/home/alice:/bin/sh',
  '1234:x:5000:5000::/home/numeric:/bin/sh',
  'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
].join('\n');
const group = [
  'root:x:0:',
  'wheel:x:10:alice,bob',
  'audio:x:29:alice',
  'staff:x:50:',
  'alice:x:1000:',
  '999:x:4242:',
  'nogroup:x:65534:',
].join('\n');

describe('resolveUser', () => {
  it('empty user is root with root\'s passwd entry', () => {
    expect(resolveUser('', passwd, group)).toEqual({ uid: 0, gid: 0, additionalGids: [], home: '/root' });
  });

  it('a name gives its uid, primary gid and supplementary groups', () => {
    expect(resolveUser('alice', passwd, group)).toEqual({ uid: 1000, gid: 1000, additionalGids: [10, 29], home: '/home/alice' });
  });

  it('a uid in passwd resolves like the name', () => {
    expect(resolveUser('1000', passwd, group)).toEqual({ uid: 1000, gid: 1000, additionalGids: [10, 29], home: '/home/alice' });
  });

  it('a numeric user is a uid, never a name', () => {
    // passwd has a user *named* "1234" with uid 5000; dockerd still takes 1234 as a uid.
    expect(resolveUser('1234', passwd, group)).toEqual({ uid: 1234, gid: 0, additionalGids: [], home: '/' });
  });

  it('a uid not in passwd is allowed with gid 0', () => {
    expect(resolveUser('4321', passwd, group)).toEqual({ uid: 4321, gid: 0, additionalGids: [], home: '/' });
  });

  it('uid:gid numeric, not in the files', () => {
    expect(resolveUser('4321:777', passwd, group)).toEqual({ uid: 4321, gid: 777, additionalGids: [], home: '/' });
  });

  it('name:group uses the group and drops supplementary groups', () => {
    expect(resolveUser('alice:staff', passwd, group)).toEqual({ uid: 1000, gid: 50, additionalGids: [], home: '/home/alice' });
  });

  it('a numeric group is a gid, never a name', () => {
    expect(resolveUser('alice:999', passwd, group).gid).toBe(999);
    expect(resolveUser('alice:4242', passwd, group).gid).toBe(4242);
  });

  it('empty group part ("alice:") behaves like "alice"', () => {
    expect(resolveUser('alice:', passwd, group).additionalGids).toEqual([10, 29]);
  });

  it('unknown user name: dockerd wording', () => {
    const e = errorOf(() => resolveUser('foo', passwd, group));
    expect(e.message).toBe('unable to find user foo: no matching entries in passwd file');
  });

  it('unknown group name: dockerd wording', () => {
    const e = errorOf(() => resolveUser('alice:nope', passwd, group));
    expect(e.message).toBe('unable to find group nope: no matching entries in group file');
  });

  it('works without passwd/group files for numeric ids only', () => {
    expect(resolveUser('65534:65534', '', '')).toEqual({ uid: 65534, gid: 65534, additionalGids: [], home: '/' });
    expect(errorOf(() => resolveUser('nobody', '', '')).message).toBe('unable to find user nobody: no matching entries in passwd file');
  });

  it('rejects out-of-range ids', () => {
    expect(errorOf(() => resolveUser('-1', passwd, group)).message).toBe('uids and gids must be in range 0-2147483647');
    expect(errorOf(() => resolveUser('5:4294967296', passwd, group)).message).toBe('uids and gids must be in range 0-2147483647');
  });
});

describe('resolveAdditionalGroups (GroupAdd)', () => {
  it('names and numbers, deduplicated, order kept', () => {
    expect(resolveAdditionalGroups(['audio', '10', '777', 'wheel'], group)).toEqual([29, 10, 777]);
  });

  it('unknown names fail', () => {
    expect(errorOf(() => resolveAdditionalGroups(['nope'], group)).message).toBe('Unable to find group nope: no matching entries in group file');
  });
});
