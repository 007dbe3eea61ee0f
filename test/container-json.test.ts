import { describe, expect, it } from 'vitest';
import { containerInspect, containerInspectJson, containerListJson, containerPruneJson, containerSummary, humanDuration, statusText } from '../translate/container-json.js';
import { startExitCode, startFailure } from '../translate/runtime-errors.js';
import { ZERO_TIME, type ContainerRecord } from '../translate/container-record.js';
import { parseLogLine } from '../translate/log-frames.js';
import { logChunks } from '../translate/log-chunks.js';
import { encodeChunks } from '../translate/stream-frames.js';
import { generateName, normalizeName } from '../translate/names.js';
import { parseSignal } from '../translate/signals.js';

const base: ContainerRecord = {
  id: 'a'.repeat(64),
  name: '/x',
  created: '2026-01-01T00:00:00.000Z',
  image: 'busybox',
  imageId: `sha256:${'b'.repeat(64)}`,
  config: { Env: [], Cmd: ['true'], Entrypoint: null, Labels: {}, WorkingDir: '', User: '' },
  hostConfig: {},
  state: { status: 'created', pid: 0, exitCode: 0, oomKilled: false, error: '', startedAt: ZERO_TIME, finishedAt: ZERO_TIME },
  restartCount: 0,
  paths: { root: '/r', log: '/r/log', hosts: '/r/hosts', hostname: '/r/hostname', resolvConf: '/r/resolv.conf' },
  driver: 'overlay2',
};

describe('container JSON', () => {
  it('prints dockerd status texts', () => {
    const now = new Date('2026-01-01T00:10:00.000Z');
    expect(statusText(base, now)).toBe('Created');
    expect(statusText({ ...base, state: { ...base.state, status: 'running', startedAt: '2026-01-01T00:09:57.000Z' } }, now)).toBe('Up 3 seconds');
    expect(statusText({ ...base, state: { ...base.state, status: 'exited', exitCode: 3, finishedAt: '2026-01-01T00:09:58.000Z' } }, now)).toBe('Exited (3) 2 seconds ago');
    expect(humanDuration(500)).toBe('Less than a second');
    expect(humanDuration(90_000)).toBe('About a minute');
    expect(humanDuration(3 * 3600_000)).toBe('3 hours');
  });
  it('list entries: the summary, SizeRw and SizeRootFs last only when computed', () => {
    const now = new Date('2026-01-01T00:10:00.000Z');
    expect(JSON.stringify(containerListJson({ record: base }, now))).toBe(JSON.stringify(containerSummary(base, now)));
    const sized = containerListJson({ record: base, sizes: { rw: 0, rootFs: 4096 } }, now);
    expect(Object.keys(sized).slice(-2)).toEqual(['SizeRw', 'SizeRootFs']);
    expect(sized).toMatchObject({ SizeRw: 0, SizeRootFs: 4096, Status: 'Created', Names: ['/x'], Labels: {} });
  });

  it('inspect: the document, ExecIDs null without execs, sizes last only with ?size=1', () => {
    expect(JSON.stringify(containerInspectJson({ record: base, execIds: [] }))).toBe(JSON.stringify(containerInspect(base, [])));
    expect(containerInspectJson({ record: base, execIds: [] }).ExecIDs).toBeNull();
    const sized = containerInspectJson({ record: base, execIds: ['e1'], sizes: { rw: 5, rootFs: 10 } });
    expect(sized.ExecIDs).toEqual(['e1']);
    expect(Object.keys(sized).slice(-2)).toEqual(['SizeRw', 'SizeRootFs']);
    expect(JSON.stringify(containerInspectJson({ record: base, execIds: ['e1'] }))).not.toContain('SizeRw');
  });

  it('prune: nothing pruned is [] with 0 bytes', () => {
    expect(JSON.stringify(containerPruneJson({ deleted: [], spaceReclaimed: 0 }))).toBe('{"ContainersDeleted":[],"SpaceReclaimed":0}');
    expect(JSON.stringify(containerPruneJson({ deleted: ['a'], spaceReclaimed: 3 }))).toBe('{"ContainersDeleted":["a"],"SpaceReclaimed":3}');
  });
});

describe('log frames', () => {
  it('turns k8s-file lines into multiplexed frames or raw bytes', () => {
    const line = parseLogLine('2026-11-27T19:13:14.123456789+00:00 stderr F oops');
    expect(line).toEqual({ time: '2026-11-27T19:13:14.123456789+00:00', stream: 'stderr', partial: false, text: 'oops' });
    const log = Buffer.from('2026-11-27T19:13:14.123456789+00:00 stderr F oops\n');
    const all = { stdout: true, stderr: true };
    expect(encodeChunks(logChunks(log, { ...all, timestamps: false }), { tty: false })).toEqual(Buffer.from('\x02\x00\x00\x00\x00\x00\x00\x05oops\n', 'latin1'));
    expect(encodeChunks(logChunks(log, { ...all, timestamps: true }), { tty: true, timestamps: true }).toString()).toBe('2026-11-27T19:13:14.123456789Z oops\n');
    const partial = parseLogLine('2026-11-27T19:13:14.1+00:00 stdout P abc');
    expect(partial?.partial).toBe(true);
    expect(parseLogLine('2026-11-27T19:13:14.1+00:00 stdout F')?.text).toBe('');
  });
});

describe('names and signals', () => {
  it('validates names the way dockerd does and generates adjective_surname', () => {
    expect(normalizeName('web-1')).toBe('/web-1');
    expect(normalizeName('/web.1')).toBe('/web.1');
    expect(() => normalizeName('-x')).toThrow(/Invalid container name/);
    expect(() => normalizeName('a')).toThrow(/Invalid container name/);
    expect(generateName(() => false)).toMatch(/^[a-z]+_[a-z]+$/);
  });

  it('parses signal names and numbers', () => {
    expect(parseSignal('KILL')).toBe(9);
    expect(parseSignal('sigterm')).toBe(15);
    expect(parseSignal('10')).toBe(10);
    expect(() => parseSignal('NOPE')).toThrow(/Invalid signal/);
  });
});

describe('runtime start failures in dockerd words', () => {
  it('maps crun messages to the text and exit codes the docker CLI acts on', () => {
    expect(startFailure('executable file `nosuch` not found in $PATH: No such file or directory', 'nosuch')).toEqual({
      message: 'OCI runtime create failed: unable to start container process: exec: "nosuch": executable file not found in $PATH: unknown',
      exitCode: 127,
    });
    expect(startFailure('executable file `/a/b` not found in $PATH: No such file or directory', '/a/b')?.message).toContain('exec: "/a/b": stat /a/b: no such file or directory');
    expect(startFailure('open executable: Permission denied', '/etc/passwd')).toMatchObject({ exitCode: 126, message: expect.stringContaining('permission denied') });
    expect(startFailure('open executable: Operation not permitted', '/etc')?.exitCode).toBe(126);
    expect(startFailure('mount `/x` to `/y`: No such file or directory', 'sh')).toBeUndefined();
    expect(startExitCode('mount `/x` to `/y`: No such file or directory', 'sh')).toBe(127);
    expect(startExitCode('open executable: Operation not permitted', '/etc')).toBe(126);
    expect(startExitCode('cgroup: cannot write memory.max', 'sh')).toBe(128);
  });
});
