/**
 * `npm run example:app`: the application example against this machine's emulators, no AWS account.
 *
 * 1. `cdk synth` of `infra.ts` (the `FanfoldExample` stack with the example's tasks) into a temp folder;
 * 2. the Lambda runner (test/runner, `startCloud`) stands the stack up: moto on 127.0.0.1 for SQS,
 *    DynamoDB and S3, the bundled functions behind a local Invoke API, the queue mappings polling;
 * 3. `main.ts` runs as any application would, in its own process, told where AWS is only through
 *    the environment (`AWS_ENDPOINT_URL_*`, region, dummy credentials);
 * 4. everything is stopped and the temp folder removed.
 *
 * The steps are `runExample` (examples/run-local.ts), shared with `npm run example:primitives`.
 * `FANFOLD_RUNNER_LOGS=1` prints the functions' output.
 */
import { runExample } from '../run-local.js';

await runExample({
  name: 'app',
  stack: 'FanfoldExample',
  main: (script) => script('examples/app/main.ts'),
});
