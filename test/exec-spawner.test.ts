/**
 * The exec wrapper with and without the spawner (rootless/spawner, the Go helper built into
 * dist/rootless/burrow-spawner): the same tools give the same results, failures the same
 * ToolError words, and with the spawner the tools are its children, not the daemon's.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Readable } from 'node:stream';
import { runSyncPipeTool, runTool, spawnStreamedTool, startSpawner, stopSpawner, ToolError, type DrivenChild } from '../rootless/exec.js';

const SPAWNER = resolve(import.meta.dirname, '..', 'dist', 'rootless', 'burrow-spawner');

async function failure(p: Promise<unknown>): Promise<ToolError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ToolError);
  return err as ToolError;
}

async function collect(s: Readable | null): Promise<string> {
  const chunks: Buffer[] = [];
  if (s) for await (const b of s) chunks.push(b as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const exited = (c: DrivenChild): Promise<{ code: number | null; signal: NodeJS.Signals | null } | Error> =>
  new Promise((resolve) => {
    c.once('exit', (code, signal) => resolve({ code, signal }));
    c.once('error', (err) => resolve(err));
  });

for (const mode of ['spawner', 'fork'] as const) {
  describe(`exec wrapper (${mode})`, () => {
    let dir = '';
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'burrow-exec-'));
      if (mode === 'spawner') startSpawner({ binary: SPAWNER, socket: join(dir, 'spawner.sock') });
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

    it('streams a tool: stdin in, stdout and stderr apart (pipes inside), the exit, a start failure', async () => {
      const c = spawnStreamedTool('sh', ['-c', 'cat; echo err >&2; test -p /dev/stdout && echo pipe; head -c 1000000 /dev/zero | wc -c; exit 4'], { stdio: ['pipe', 'pipe', 'pipe'] });
      const [out, err, end] = [collect(c.stdout), collect(c.stderr), exited(c)];
      c.stdin?.end('in\n');
      expect(await end).toEqual({ code: 4, signal: null });
      // The spawner gives real pipes, as dockerd's FIFOs are; Node's 'pipe' stdio are socketpairs.
      expect(await out).toBe(mode === 'spawner' ? 'in\npipe\n1000000\n' : 'in\n1000000\n');
      expect(await err).toBe('err\n');
      const killed = spawnStreamedTool('sleep', ['10'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const killedEnd = exited(killed);
      setTimeout(() => killed.kill('SIGKILL'), 100);
      expect(await killedEnd).toEqual({ code: null, signal: 'SIGKILL' });
      const missing = await exited(spawnStreamedTool('burrow-no-such-tool', [], { stdio: ['ignore', 'pipe', 'pipe'] }));
      expect(missing).toBeInstanceOf(Error);
      expect((missing as Error).message).toBe('spawn burrow-no-such-tool ENOENT');
    });

    it(mode === 'spawner' ? 'starts tools from the spawner, not from this process' : 'forks tools from this process', async () => {
      const parent = (await runTool('sh', ['-c', 'cat /proc/$PPID/comm'])).stdout;
      expect(parent).toBe(mode === 'spawner' ? 'burrow-spawner' : 'node');
    });

    if (mode === 'spawner') {
      it('starts a spawner that died again, from this process, once it had lived a while', async () => {
        const ppid = async (): Promise<number> => Number((await runTool('sh', ['-c', 'echo $PPID'])).stdout);
        const first = await ppid();
        expect(first).not.toBe(process.pid);
        process.kill(first, 'SIGKILL');
        // The restart gap (5 s since the last start) keeps a helper that dies at once from looping.
        await new Promise((r) => setTimeout(r, 5_500));
        expect((await runTool('true', [], { allowFailure: true })).exitCode).toBe(0);
        const second = await ppid();
        expect(second).not.toBe(first);
        expect(second).not.toBe(process.pid);
        expect(await readFile(`/proc/${second}/comm`, 'utf8')).toBe('burrow-spawner\n');
      });
    }
  });
}
