/** Scratch build contexts for the build suites: a directory per call, and paths beside them, all removed by `cleanup`. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function buildContexts(prefix: string) {
  const dirs: string[] = [];
  return {
    /** A fresh directory holding `files` (paths may have subdirectories). */
    async context(files: Record<string, string>): Promise<string> {
      const dir = await mkdtemp(join(tmpdir(), `${prefix}-`));
      dirs.push(dir);
      for (const [name, content] of Object.entries(files)) {
        await mkdir(join(dir, name, '..'), { recursive: true });
        await writeFile(join(dir, name), content);
      }
      return dir;
    },
    /** `<dir><suffix>`: a file next to a context (a secret, a key, an archive), so not sent with it; removed by `cleanup` too. */
    beside(dir: string, suffix: string): string {
      const path = `${dir}${suffix}`;
      dirs.push(path);
      return path;
    },
    async cleanup(): Promise<void> {
      for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
    },
  };
}
