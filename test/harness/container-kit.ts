import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import type { dockerCli } from './clients.js';

export type DockerCli = ReturnType<typeof dockerCli>;

/** Polls until `what` holds; suites wait on real processes, so nothing here is a timing assertion. The bound is generous (30 s): the full suite runs four files at once on two cores, and two waits on a daemon restart ran out at 15 s under that load. */
export async function waitFor(what: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await what())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(100);
  }
}

/** Names a suite's containers so it can force-remove every one of them at the end. */
export function containerKit(docker: DockerCli) {
  const created = new Set<string>();
  let counter = 0;
  return {
    created,
    uniqueName(prefix: string): string {
      const name = `${prefix}-${process.pid}-${++counter}`;
      created.add(name);
      return name;
    },
    async inspectField(name: string, format: string, cli: DockerCli = docker): Promise<string> {
      const r = await cli(['inspect', '--format', format, name]);
      expect(r.stderr).toBe('');
      return r.stdout.trim();
    },
    /** Runs `docker args`, expects success and returns its trimmed stdout. */
    async ok(args: string[]): Promise<string> {
      const r = await docker(args);
      expect(r.code, `docker ${args.join(' ')}: ${r.stderr}`).toBe(0);
      return r.stdout.trim();
    },
    async removeAll(): Promise<void> {
      for (const name of created) await docker(['rm', '-f', name]);
      created.clear();
    },
  };
}

/** Processes naming the container (conmon, crun, its init waiting on the exec fifo): none once it is gone. */
export async function processesOf(id: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (argv.includes(id) || argv.some((a) => a.includes(`/containers/${id}/`))) found.push(`${entry}: ${argv.join(' ')}`);
  }
  return found;
}
