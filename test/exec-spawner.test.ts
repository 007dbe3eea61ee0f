/**
 * The exec wrapper with and without the spawner (rootless/spawner, the Go helper built into
 * dist/rootless/burrow-spawner): the same tools give the same results, failures the same
 * ToolError words, and with the spawner the tools are its children, not the daemon's.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSyncPipeTool, runTool, startSpawner, stopSpawner, ToolError } from '../rootless/exec.js';

const SPAWNER = resolve(import.meta.dirname, '..', 'dist', 'rootless', 'burrow-spawner');

async function failure(p: Promise<unknown>): Promise<ToolError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ToolError);
  return err as ToolError;
}

for (const mode of ['spawner', 'fork'] as const) {
  describe(`exec wrapper (${mode})`, () => {
    let dir = '';
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'burrow-exec-'));
      if (mode === 'spawner') startSpawner(SPAWNER);
    });
    afterAll(async () => {
      stopSpawner();
      await rm(dir, { recursive: true, force: true });
    });

    it('runs a tool with its output, input, environment and working dir', async () => {
      const r = await runTool('sh', ['-c', 'echo out; echo err >&2; exit 3'], { allowFailure: true });
      expect(r).toEqual({ stdout: 'out', stderr: 'err', exitCode: 3 });
      expect((await runTool('cat', [], { input: 'a\nb\n' })).stdout).toBe('a\nb');
      expect((await runTool('sh', ['-c', 'echo "$FOO"'], { env: { FOO: 'bar' } })).stdout).toBe('bar');
      expect((await runTool('sh', ['-c', 'echo "${HOME:-none}"'], { extendEnv: false, env: { PATH: process.env.PATH } })).stdout).toBe('none');
      expect((await runTool('pwd', [], { cwd: dir })).stdout).toBe(dir);
    });

    it('fails with the same words: non-zero exit, missing tool, timeout, signal', async () => {
      expect((await failure(runTool('sh', ['-c', 'echo nope >&2; exit 2']))).message).toBe('sh: nope');
      const missing = await failure(runTool('burrow-no-such-tool', []));
      expect(missing.message).toBe('burrow-no-such-tool: spawn burrow-no-such-tool ENOENT');
      expect(missing.exitCode).toBeUndefined();
      expect((await failure(runTool('sleep', ['5'], { timeoutMs: 100 }))).message).toBe('sleep: timed out after 100 ms');
      expect((await failure(runTool('sh', ['-c', 'kill -TERM $$']))).message).toBe('sh: killed by SIGTERM');
    });

    it("reads a sync pipe's first JSON object, or says it ended without one", async () => {
      const env = { ...process.env, _OCI_SYNCPIPE: '3' };
      const errFile = join(dir, 'err');
      const ok = await runSyncPipeTool('sh', ['-c', 'printf \'{"data": 42}\' >&3; sleep 0.2'], { env, stderrFile: errFile, timeoutMs: 5000 });
      expect(ok).toEqual({ kind: 'message', text: '{"data": 42}' });
      const ended = await runSyncPipeTool('sh', ['-c', 'echo oops >&2; exit 1'], { env, stderrFile: errFile, timeoutMs: 5000 });
      expect(ended).toEqual({ kind: 'ended' });
      expect((await readFile(errFile, 'utf8')).trim()).toBe('oops');
      expect(await runSyncPipeTool('sleep', ['2'], { env, stderrFile: errFile, timeoutMs: 100 })).toEqual({ kind: 'timedOut' });
    });

    it(mode === 'spawner' ? 'starts tools from the spawner, not from this process' : 'forks tools from this process', async () => {
      const parent = (await runTool('sh', ['-c', 'cat /proc/$PPID/comm'])).stdout;
      expect(parent).toBe(mode === 'spawner' ? 'burrow-spawner' : 'node');
    });
  });
}
