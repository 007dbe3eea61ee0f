import { defineConfig } from 'vitest/config';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default defineConfig({
  // The suite runs as an unprivileged user who may not write into the checkout.
  cacheDir: join(tmpdir(), `burrow-vitest-cache-${process.getuid?.() ?? 'x'}`),
  test: {
    include: ['test/**/*.test.ts'],
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
