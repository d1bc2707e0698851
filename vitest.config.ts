/**
 * The test tiers as vitest projects, each runnable alone (`npx vitest run --project cloud`, or
 * the npm scripts `test:unit`, `test:local`, `test:cloud`, `test:runner`, `test:package`, `test:localstack`);
 * `npm test` runs the five that run on any machine with Node and python3. docs/testing.md says
 * what each tier proves.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/** Installs moto once, before the first file of a tier on the emulator starts. */
const MOTO_SETUP = 'test/support/moto-setup.ts';
/** Scales a file's timeouts by the share of a core its process gets (the tiers without moto). */
const MACHINE_PACE = 'test/support/machine-pace.ts';

export default defineConfig({
  resolve: {
    // Tests run the source: 'fanfold' is this package's src/index.ts, as in tsconfig paths.
    alias: [
      { find: /^fanfold$/, replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
      { find: /^fanfold\/worker$/, replacement: fileURLToPath(new URL('./src/worker.ts', import.meta.url)) },
    ],
  },
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    env: {
      // The AWS SDK warns once per process that its releases after January 2027 need Node 22;
      // the suite starts dozens of processes on Node 20 and the warning says nothing about a
      // test. This is the SDK's own switch (@aws-sdk/core emitWarningIfUnsupportedVersion);
      // child processes the tests start inherit it.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          // Pure logic, the port contracts and engine faults on the in-memory adapters, the CLI,
          // the CDK template, the package as npm packs it, the LocalStack tier's decision: no
          // threads, no emulator.
          include: [
            'test/unit/**/*.test.ts',
            'test/contract/**/*.test.ts',
            'test/engine/**/*.test.ts',
            'test/cli/**/*.test.ts',
            'test/infra/**/*.test.ts',
            'test/localstack/**/*.test.ts',
          ],
          setupFiles: [MACHINE_PACE],
        },
      },
      {
        extends: true,
        test: {
          name: 'local',
          // The local context on real worker threads.
          include: ['test/local/**/*.test.ts', 'test/examples/**/*.test.ts', 'test/e2e/local.test.ts'],
          setupFiles: [MACHINE_PACE],
        },
      },
      {
        extends: true,
        test: {
          name: 'cloud',
          // The AWS adapters, handlers, bundles and the aws() context on moto. Each file starts
          // its own emulator (test/support/cloud.ts) and scales its timeouts by its pace.
          include: ['test/cloud/**/*.test.ts', 'test/aws/**/*.test.ts'],
          globalSetup: [MOTO_SETUP],
          // Concurrent tests of one file share its emulator, one Python process: at most this
          // many engines poll it at once (vitest's default, stated because it matters here).
          maxConcurrency: 5,
        },
      },
      {
        extends: true,
        test: {
          name: 'runner',
          // The Lambda runner's own tests (test/runner/, a package of its own: its README says
          // what it models) and fanfold's stacks from cdk.out run on it end to end.
          include: [
            'test/runner/**/*.test.ts',
            'test/e2e/aws.test.ts',
            'test/e2e/aws-primitives.test.ts',
            'test/e2e/fanfold-stack.test.ts',
            'test/e2e/workers.test.ts',
            'test/e2e/drains.test.ts',
            'test/e2e/stragglers.test.ts',
            'test/e2e/fanout.test.ts',
            'test/e2e/lambda-invoker.test.ts',
            'test/e2e/operations.test.ts',
            'test/e2e/dashboard.test.ts',
          ],
          globalSetup: [MOTO_SETUP],
          // The stack's functions are processes of this machine: its CPU share sets the pace.
          setupFiles: [MACHINE_PACE],
        },
      },
      {
        extends: true,
        test: {
          name: 'package',
          // The package as a user gets it: what npm pack ships, the launcher, the optional SDK,
          // and the packed tarball installed into new projects with npm and pnpm (getting started,
          // a bundled app, the construct's synth).
          include: ['test/package/**/*.test.ts'],
          globalSetup: ['test/package/support/pack-setup.ts'],
        },
      },
      // Deployed with cdklocal by scripts/test-localstack.mjs (`npm run test:localstack`), which
      // skips with one line where there is no Docker engine; run alone, its suites fail at once.
      { extends: './test/localstack/vitest.config.ts' },
    ],
  },
});
