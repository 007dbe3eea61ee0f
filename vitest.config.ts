import { defineConfig } from 'vitest/config';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The full lane (`npm test`, what `.ci/run` runs) has every file. The fast lane (`npm run test:fast`,
 * BURROW_LANE=fast) leaves out the files that take minutes: races run thousands of times, kill -9
 * rounds, long idle waits, churn, the Compose v2 projects and the BuildKit builds.
 */
const SLOW = ['test/cp-race.test.ts', 'test/fault-kill.test.ts', 'test/container-stress.test.ts', 'test/churn.test.ts', 'test/keepalive.test.ts', 'test/recovery.test.ts', 'test/compose-v2.test.ts', 'test/image-leases.test.ts', 'test/buildkit.test.ts'];

export default defineConfig({
  // The suite runs as an unprivileged user who may not write into the checkout.
  cacheDir: join(tmpdir(), `burrow-vitest-cache-${process.getuid?.() ?? 'x'}`),
  test: {
    include: ['test/**/*.test.ts'],
    exclude: process.env.BURROW_LANE === 'fast' ? SLOW : [],
    // BURROW_NO_TESTBED=1 runs pure unit suites without starting the registry and daemon.
    globalSetup: process.env.BURROW_NO_TESTBED ? [] : ['test/harness/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Suites mostly wait on real processes; more workers than cores keeps the long idle test off the critical path.
    maxWorkers: 4,
    reporters: ['default'],
  },
});
