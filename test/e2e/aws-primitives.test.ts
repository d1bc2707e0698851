/**
 * Primitives passed into tasks (test/e2e/primitive-scenarios.ts) on the aws context, through the
 * runner: the e2e stack (its fixture module carries the primitive tasks) stood up on moto, each
 * `Process` a worker Lambda that revives the Lock, Value, Queues, Pipe end, Events and Barrier from
 * their handles on the stack's table and queues. `FANFOLD_E2E_LOGS=1` prints the functions' output.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { aws } from 'fanfold';
import { afterEach } from 'vitest';
import { createDynamoClient, createS3Client, createSqsClient } from '../../src/aws/clients.js';
import tasks from '../fixtures/pool-tasks.js';
import { INSTALL_TIMEOUT_MS, startCloud } from '../runner/index.js';
import { E2E_STACK, e2eAssembly, SYNTH_TIMEOUT_MS } from './assembly.js';
import { describePrimitiveScenarios } from './primitive-scenarios.js';

const logs: string[] = [];
afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail' || process.env.FANFOLD_E2E_LOGS === '1') {
    console.error(logs.slice(-300).join('\n'));
  }
});

describePrimitiveScenarios(
  'primitives passed into tasks on the aws context (runner)',
  async () => {
    const cloud = await startCloud({
      cdkOut: await e2eAssembly(),
      stack: E2E_STACK,
      onLog: (source, line) => logs.push(`[${source}] ${line}`),
    });
    const options = { ...cloud.clientOptions, maxAttempts: 1 };
    const clients = {
      lambda: new LambdaClient({ ...options, endpoint: cloud.lambdaEndpoint }),
      cloudformation: new CloudFormationClient({ ...options, endpoint: cloud.endpoints.cloudformation }),
      dynamo: createDynamoClient(options),
      s3: createS3Client(options),
      sqs: createSqsClient(options),
    };
    const mp = aws({ tasks, stack: E2E_STACK, clients, pollMs: { min: 20, max: 200 } });
    return {
      mp,
      pool: () => mp.Pool({ jobTimeoutMs: 60_000 }),
      async stop() {
        for (const c of Object.values(clients)) c.destroy();
        await cloud.stop();
      },
    };
  },
  SYNTH_TIMEOUT_MS + INSTALL_TIMEOUT_MS,
);
