import { describe, expect, it } from 'vitest';
import { execInspectJson } from '../translate/exec-process.js';
import type { ExecDetails } from '../rootless/containers/interface.js';

/** Pure: an exec instance as GET /exec/{id}/json, compared as text so field order and nulls count. */
const running: ExecDetails = {
  id: 'e'.repeat(64),
  containerId: 'c'.repeat(64),
  running: true,
  exitCode: null,
  pid: 4242,
  request: { Cmd: ['sh', '-c', 'sleep 1'], Tty: true, AttachStdout: true, AttachStderr: true, User: 'nobody', DetachKeys: 'ctrl-x' },
};

describe('exec inspect wire JSON', () => {
  it('a running exec: ExitCode null, user given, dockerd field order', () => {
    expect(JSON.stringify(execInspectJson(running))).toBe(
      `{"ID":"${'e'.repeat(64)}","Running":true,"ExitCode":null,"ProcessConfig":{"tty":true,"entrypoint":"sh","arguments":["-c","sleep 1"],"privileged":false,"user":"nobody"},"OpenStdin":false,"OpenStderr":true,"OpenStdout":true,"CanRemove":false,"ContainerID":"${'c'.repeat(64)}","DetachKeys":"ctrl-x","Pid":4242}`,
    );
  });

  it('a finished exec without user or detach keys: no user field, DetachKeys "", Pid 0', () => {
    const done = execInspectJson({ ...running, running: false, exitCode: 3, pid: 0, request: { Cmd: ['true'] } });
    expect(done).toMatchObject({ Running: false, ExitCode: 3, DetachKeys: '', Pid: 0, ProcessConfig: { tty: false, entrypoint: 'true', arguments: [], privileged: false } });
    expect(done.ProcessConfig).not.toHaveProperty('user');
  });
});
