/**
 * The shared Pool scenarios (test/e2e/pool-scenarios.ts, also run on the local context and on the
 * runner) against LocalStack: the e2e stack (test/e2e/stack.ts: the Pool tests' tasks, short
 * timeouts), deployed by scripts/test-localstack.mjs with `cdklocal deploy` next to the `Fanfold`
 * stack, driven through `aws({ tasks, stack })` with the SDK's endpoints from `AWS_ENDPOINT_URL`.
 * Run only through `npm run test:localstack`.
 */
import { aws } from 'fanfold';
import { E2E_STACK } from '../e2e/assembly.js';
import { Leaving, leavingDynamoClient } from '../e2e/gone-caller.js';
import { describePoolScenarios, type ScenarioEnv } from '../e2e/pool-scenarios.js';
import tasks from '../fixtures/pool-tasks.js';

/** LocalStack starts a Lambda container on first use: allow for cold starts. */
const JOB_TIMEOUT_MS = 90_000;
const POLL_MS = { min: 20, max: 200 };

async function makeEnv(): Promise<ScenarioEnv> {
  if (process.env.FANFOLD_LOCALSTACK !== '1' || !process.env.AWS_ENDPOINT_URL)
    throw new Error(
      'These scenarios run against stacks deployed to LocalStack: use `npm run test:localstack`',
    );
  const mp = aws({ tasks, stack: E2E_STACK, pollMs: POLL_MS });
  const pool = () => mp.Pool({ jobTimeoutMs: JOB_TIMEOUT_MS });
  return {
    pool,
    Event: () => mp.Event(),
    goneCaller() {
      const leaving = new Leaving();
      // Endpoint, region and credentials from the environment, as the context's own clients.
      const dynamo = leavingDynamoClient({}, leaving);
      const gone = aws({ tasks, stack: E2E_STACK, clients: { dynamo: dynamo.client }, pollMs: POLL_MS });
      const goner = gone.Pool({ jobTimeoutMs: JOB_TIMEOUT_MS });
      const attacher = pool();
      let disposed: Promise<void> | undefined;
      return {
        pool: goner,
        attacher,
        leave: () => leaving.leave(),
        dispose() {
          disposed ??= (async () => {
            leaving.end();
            await Promise.all([goner.terminate(), attacher.terminate()]);
            dynamo.destroy();
          })();
          return disposed;
        },
      };
    },
    async stop() {},
  };
}

describePoolScenarios('Pool scenarios on LocalStack (the e2e stack)', makeEnv, 60_000);
