/**
 * `npm run example:primitives`: the five primitives examples on the aws context, against this
 * machine's emulators (no AWS account), as `npm run example:app` does for the application example:
 *
 * 1. `cdk synth` of `infra.ts` (the `FanfoldPrimitives` stack with the examples' tasks);
 * 2. the Lambda runner (test/runner, `startCloud`) stands it up: moto for SQS, DynamoDB and S3, the
 *    bundled functions behind a local Invoke API, the queue mappings polling;
 * 3. each example runs in its own process with `FANFOLD_STACK` set, told where AWS is only through
 *    the SDK's standard variables; what the tasks print inside the functions (the worker's name, the
 *    lines printed under the Lock) is shown as `[lambda]` lines, since a Lambda's output goes to its
 *    logs, not to the caller;
 * 4. everything is stopped and the temp folder removed.
 *
 * The steps are `runExample` (examples/run-local.ts), shared with `npm run example:app`.
 * `FANFOLD_RUNNER_LOGS=1` prints all of the functions' output.
 */
import { runExample, seconds } from '../run-local.js';

const EXAMPLES = ['process-name', 'pipe', 'pool-map', 'shared-value', 'lock'] as const;
/** Lines the examples' tasks print (the rest of a function's output is the runtime's). */
const TASK_LINE = /^(hello |.*\bhello world \d)/;
const all = process.env.FANFOLD_RUNNER_LOGS === '1';

await runExample({
  name: 'primitives',
  stack: 'FanfoldPrimitives',
  onLog: (source, line) => {
    const text = line.replace(/^\S+\s+\S+\s+INFO\s+/, '');
    if (all) process.stderr.write(`[${source}] ${line}\n`);
    else if (TASK_LINE.test(text)) console.log(`  [lambda] ${text}`);
  },
  main: async (script) => {
    for (const name of EXAMPLES) {
      console.log(`[example:primitives] ${name}.ts`);
      const t = performance.now();
      await script(`examples/primitives/${name}.ts`);
      console.log(`[example:primitives] ${name}.ts done in ${seconds(t)}`);
    }
  },
});
