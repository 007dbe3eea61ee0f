import { describe, expect, it } from 'vitest';
import { DetachScanner, parseDetachKeys } from '../translate/detach-keys.js';
import { eventLine, eventMatches, parseEventFilters, type EngineEvent } from '../translate/events.js';
import { buildExecProcess, parseExecRequest } from '../translate/exec-process.js';
import { nextRestartDelay, shouldRestart, validateRestartPolicy } from '../translate/restart-policy.js';
import type { OciProcess } from '../translate/oci-types.js';

describe('detach keys', () => {
  it('parses Docker key specs and rejects bad ones', () => {
    expect([...parseDetachKeys('ctrl-p,ctrl-q')]).toEqual([16, 17]);
    expect([...parseDetachKeys('a,ctrl-@,ctrl-_')]).toEqual([97, 0, 31]);
    expect(() => parseDetachKeys('ctrl-1')).toThrow(/Invalid detach keys/);
  });

  it('holds a prefix back, passes it on when broken, detaches on the full sequence', () => {
    const s = new DetachScanner(parseDetachKeys('ctrl-p,ctrl-q'));
    expect(s.push(Buffer.from('ab\x10'))).toEqual({ pass: Buffer.from('ab'), detached: false });
    expect(s.push(Buffer.from('c'))).toEqual({ pass: Buffer.from('\x10c'), detached: false });
    expect(s.push(Buffer.from('x\x10\x10\x11rest'))).toEqual({ pass: Buffer.from('x\x10'), detached: true });
  });
});

describe('exec process', () => {
  const container: OciProcess = {
    terminal: false,
    user: { uid: 0, gid: 0 },
    args: ['sleep', '1'],
    env: ['PATH=/bin', 'HOSTNAME=abc', 'FOO=1'],
    cwd: '/app',
    capabilities: { bounding: ['CAP_CHOWN'], effective: ['CAP_CHOWN'], permitted: ['CAP_CHOWN'] },
    noNewPrivileges: true,
  };
  const passwd = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home/nobody:/bin/false\n';

  it('keeps the container security settings and applies the exec fields', () => {
    const p = buildExecProcess({ container, containerUser: '', request: parseExecRequest({ Cmd: ['id'], Env: ['FOO=2', 'BAR=3'], User: 'nobody', WorkingDir: '/tmp', Tty: true }), etcPasswd: passwd, etcGroup: '' });
    expect(p.args).toEqual(['id']);
    expect(p.env).toEqual(['PATH=/bin', 'HOSTNAME=abc', 'FOO=2', 'BAR=3', 'TERM=xterm', 'HOME=/home/nobody']);
    expect(p.user).toEqual({ uid: 65534, gid: 65534 });
    expect(p.cwd).toBe('/tmp');
    expect(p.terminal).toBe(true);
    expect(p.noNewPrivileges).toBe(true);
    expect(p.capabilities?.bounding).toEqual(['CAP_CHOWN']);
  });

  it('privileged gets every capability the kernel knows; bad bodies are 400s', () => {
    const p = buildExecProcess({ container, containerUser: '', request: parseExecRequest({ Cmd: ['true'], Privileged: true }), etcPasswd: passwd, etcGroup: '', hostCapabilityCount: 41 });
    expect(p.capabilities?.effective).toHaveLength(41);
    expect(p.cwd).toBe('/app');
    expect(() => parseExecRequest({ Cmd: [] })).toThrow(/No exec command specified/);
    expect(() => parseExecRequest({ Cmd: ['x'], WorkingDir: 'rel' })).toThrow(/absolute/);
  });
});

describe('restart policy', () => {
  it('decides like dockerd', () => {
    const f = { exitCode: 1, restartCount: 0, manuallyStopped: false };
    expect(shouldRestart({ Name: 'no' }, f)).toBe(false);
    expect(shouldRestart({ Name: 'always' }, { ...f, exitCode: 0, manuallyStopped: true })).toBe(true);
    expect(shouldRestart({ Name: 'unless-stopped' }, { ...f, manuallyStopped: true })).toBe(false);
    expect(shouldRestart({ Name: 'on-failure', MaximumRetryCount: 2 }, { ...f, restartCount: 1 })).toBe(true);
    expect(shouldRestart({ Name: 'on-failure', MaximumRetryCount: 2 }, { ...f, restartCount: 2 })).toBe(false);
    expect(shouldRestart({ Name: 'on-failure' }, { ...f, exitCode: 0 })).toBe(false);
    expect(() => validateRestartPolicy({ Name: 'sometimes' }, false)).toThrow(/invalid restart policy/);
    expect(() => validateRestartPolicy({ Name: 'always', MaximumRetryCount: 3 }, false)).toThrow(/on-failure/);
    expect(() => validateRestartPolicy({ Name: 'always' }, true)).toThrow(/AutoRemove/);
  });

  it('backs off from 100 ms, doubling to a minute, reset after 10 s up', () => {
    expect(nextRestartDelay(0, 0)).toBe(100);
    expect(nextRestartDelay(100, 500)).toBe(200);
    expect(nextRestartDelay(40_000, 500)).toBe(60_000);
    expect(nextRestartDelay(3200, 10_000)).toBe(100);
  });
});

describe('events', () => {
  const e: EngineEvent = { type: 'container', action: 'exec_start: sh -c ls', actorId: 'abc123', attributes: { name: 'web', image: 'busybox', team: 'a' }, timeNano: 1700000000123456789n };

  it('carries the legacy fields and an exact timeNano', () => {
    const line = eventLine(e, true);
    expect(line.endsWith('\n')).toBe(true);
    expect(line).toContain('"timeNano":1700000000123456789');
    expect(JSON.parse(line)).toMatchObject({ status: 'exec_start: sh -c ls', id: 'abc123', from: 'busybox', Type: 'container', scope: 'local', time: 1700000000 });
    expect(JSON.parse(eventLine(e, false))).not.toHaveProperty('status');
  });

  it('matches filters as dockerd does', () => {
    const m = (raw: Record<string, string[]>): boolean => eventMatches(e, parseEventFilters(JSON.stringify(raw)));
    expect(m({ event: ['exec_start'] })).toBe(true);
    expect(m({ container: ['web'] })).toBe(true);
    expect(m({ container: ['abc'] })).toBe(true);
    expect(m({ image: ['busybox:latest'] })).toBe(true);
    expect(m({ label: ['team=a'] })).toBe(true);
    expect(m({ label: ['team=b'] })).toBe(false);
    expect(m({ type: ['image'] })).toBe(false);
    expect(() => parseEventFilters(JSON.stringify({ type: ['bogus'] }))).toThrow(/invalid filter/);
  });
});
