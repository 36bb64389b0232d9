import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{store,actors,projections,gateway,ops,test}/**/*.spec.ts'],
    exclude: ['**/node_modules/**', 'dist/**'],
    // End-to-end suites spawn `bin/corral.js`, which runs dist/: build it once per run.
    globalSetup: ['test/setup/build.ts'],
    // Native addons (lmdb, uWS) are happiest in child processes rather than worker threads.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // 2 cores: more parallel files only adds contention to the timing-sensitive suites.
    maxWorkers: 2,
  },
});
