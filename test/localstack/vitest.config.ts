/**
 * The LocalStack tier's vitest config: only the scenario suites (`*.e2e.ts`, which the default
 * config's `test/**\/*.test.ts` never picks up). Run by `scripts/test-localstack.mjs` after it has
 * deployed the Fanfold stack to LocalStack; run alone, the suites fail at once and say so.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('../../', import.meta.url)),
  resolve: {
    alias: { fanfold: fileURLToPath(new URL('../../src/index.ts', import.meta.url)) },
  },
  test: {
    // The LocalStack tier as a project of the root config (`vitest run --project localstack`).
    name: 'localstack',
    include: ['test/localstack/**/*.e2e.ts'],
    // Lambda on LocalStack starts a container per function on first use: cold starts of seconds.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // One stack, shared: the suites run one after another.
    fileParallelism: false,
  },
});
