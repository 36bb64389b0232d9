import { defineConfig } from 'vitest/config';

/**
 * Suites that measure throughput or latency under load (the must-shows of issues 4, 6 and 7)
 * run last, one file at a time, so the rest of the suite does not compete with them for
 * this machine's two cores. Everything else runs two files at a time.
 */
const MEASURING_SUITES = [
  'test/gateway-ws/slow-consumer.spec.ts',
  'test/minion/agent-throughput.spec.ts',
  'test/minion/supervisor-throughput.spec.ts',
  'test/supervision/log-flood.spec.ts',
  'test/ops-e2e/rolling-restart.spec.ts',
  'test/ops-e2e/leader-failover.spec.ts',
];

export default defineConfig({
  test: {
    // End-to-end suites spawn `bin/corral.js`, which runs dist/: build it once per run.
    globalSetup: ['test/setup/build.ts'],
    // Native addons (lmdb, uWS) are happiest in child processes rather than worker threads.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'suite',
          include: ['{store,actors,projections,gateway,ops,test}/**/*.spec.ts'],
          exclude: ['**/node_modules/**', 'dist/**', ...MEASURING_SUITES],
          // 2 cores: more parallel files only adds contention to the end-to-end suites.
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'under-load',
          include: MEASURING_SUITES,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
