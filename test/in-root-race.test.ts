/**
 * The in-root helper resolves paths in a tree the container changes while it is read. Python's
 * realpath reads a link with a readlink after the lstat that found it; a container that swaps the link
 * for a file in between made that readlink fail with EINVAL, and `docker cp` answered 500 "Invalid
 * argument" (seen once in cp-race's 2,000 calls). The helper's own realpath must never fail that way.
 * Real kernel, real rename races: a second process swaps a file and a symlink at one name.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const helperDir = join(import.meta.dirname, '..', 'rootless', 'in_root');
const dir = await mkdtemp(join(tmpdir(), 'burrow-in-root-race-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Swaps `<dir>/x` between a regular file and a symlink to "/" with renames, as fast as it can. */
const racer = `
import os, sys
d = sys.argv[1]
while True:
    try:
        open(d + "/f", "w").close(); os.rename(d + "/f", d + "/x")
        os.symlink("/", d + "/l"); os.rename(d + "/l", d + "/x")
    except OSError:
        pass
`;

/** Calls Python's realpath and the helper's in turn while the racer runs; prints the two failure counts. */
const prober = `
import errno, json, os, subprocess, sys, time
sys.path.insert(0, sys.argv[1])
import kernel
d = sys.argv[2]
racer = subprocess.Popen([sys.executable, "-c", sys.argv[3], d])
try:
    time.sleep(0.1)
    raw = fixed = calls = 0
    other = []
    deadline = time.monotonic() + 20
    while (calls < 20000 or raw < 5) and time.monotonic() < deadline:
        calls += 1
        try:
            os.path.realpath(d + "/x")
        except OSError as err:
            raw += err.errno == errno.EINVAL
        try:
            kernel.realpath(d + "/x")
        except BaseException as err:
            fixed += 1
            other.append(repr(err))
    print(json.dumps({"calls": calls, "raw": raw, "fixed": fixed, "errors": other[:3]}))
finally:
    racer.kill()
`;

describe('the in-root helper under a link swapped by rename', () => {
  it('resolves a path whose link turns into a file mid-read without failing', () => {
    const run = spawnSync('python3', ['-I', '-S', '-B', '-c', prober, helperDir, dir, racer], { encoding: 'utf8', timeout: 60_000 });
    expect(run.status, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as { calls: number; raw: number; fixed: number; errors: string[] };
    // The race really ran: Python's own realpath hit EINVAL.
    expect(result.raw, JSON.stringify(result)).toBeGreaterThan(0);
    expect(result.fixed, JSON.stringify(result)).toBe(0);
  }, 90_000);
});
