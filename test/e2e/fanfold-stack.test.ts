/**
 * The real `Fanfold` stack on the runner: the template `cdk synth` writes, its resources created
 * in moto, its four bundled functions behind the Invoke API and its two event source mappings
 * polling; then pools of the `aws` context run jobs through the coordinator bundle, the worker
 * bundle's threads and the table, found from the stack's outputs as on AWS.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DescribeTimeToLiveCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import tasks from '../../examples/wordfreq.tasks.js';
import { createDynamoClient, createS3Client, createSqsClient } from '../../src/aws/clients.js';
import { aws } from '../../src/aws/context.js';
import { ENV } from '../../src/aws/lambda/env.js';
import { type Cloud, INSTALL_TIMEOUT_MS, startCloud } from '../runner/index.js';
import {
  FANFOLD_STACK,
  type FanfoldAssembly,
  fanfoldAssembly,
  SYNTH_TIMEOUT_MS,
} from './fanfold-assembly.js';

let assembly: FanfoldAssembly;
let cloud: Cloud;
let texts: string;
/** The functions' output, printed when a test fails. */
const logs: string[] = [];

beforeAll(async () => {
  assembly = await fanfoldAssembly();
  cloud = await startCloud({
    cdkOut: assembly.dir,
    stack: FANFOLD_STACK,
    onLog: (source, line) => logs.push(`[${source}] ${line}`),
  });
  texts = mkdtempSync(join(tmpdir(), 'fanfold-texts-'));
  writeFileSync(join(texts, 'a.txt'), 'the cat and the hat');
  writeFileSync(join(texts, 'b.txt'), 'The cat sat; the end.');
}, SYNTH_TIMEOUT_MS + INSTALL_TIMEOUT_MS);

afterAll(async () => {
  await cloud?.stop();
  assembly?.dispose();
  if (texts) rmSync(texts, { recursive: true, force: true });
});

describe('the Fanfold stack on the runner', () => {
  it('stands up: queues with redrive, the table with TTL, four functions, two mappings polling', async () => {
    const { stack } = cloud;
    const sqs = createSqsClient(cloud.clientOptions);
    const dynamo = createDynamoClient(cloud.clientOptions);
    try {
      const fn = (prefix: string) => stack.functions.find((f) => f.logicalId.startsWith(`Fanfold${prefix}`));
      const coordinator = fn('Coordinator');
      const worker = fn('Worker');
      const deadLetter = fn('DeadLetter');
      const sweeper = fn('Sweeper');
      expect(stack.functions).toHaveLength(4);
      for (const f of [coordinator, worker, deadLetter, sweeper])
        expect(f?.codeDir).toMatch(/asset\.[0-9a-f]{64}$/);
      expect(coordinator?.name).toBe(stack.outputs.FanfoldCoordinatorFunction);
      expect(worker?.environment[ENV.queueUrl]).toBe(stack.outputs.FanfoldQueueUrl);
      expect(worker?.environment[ENV.table]).toBe(stack.outputs.FanfoldTable);

      const queue = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: stack.outputs.FanfoldQueueUrl, AttributeNames: ['All'] }),
      );
      const dlq = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: stack.outputs.FanfoldDeadLetterQueueUrl,
          AttributeNames: ['QueueArn'],
        }),
      );
      const redrive = JSON.parse(queue.Attributes?.RedrivePolicy ?? '{}') as {
        deadLetterTargetArn?: string;
        maxReceiveCount?: unknown;
      };
      expect(redrive.deadLetterTargetArn).toBe(dlq.Attributes?.QueueArn);
      expect(String(redrive.maxReceiveCount)).toBe(worker?.environment[ENV.maxReceiveCount]);
      expect(Number(queue.Attributes?.VisibilityTimeout)).toBeGreaterThanOrEqual(
        6 * (worker?.timeoutSeconds ?? 0),
      );

      const ttl = await dynamo.send(new DescribeTimeToLiveCommand({ TableName: stack.outputs.FanfoldTable }));
      expect(ttl.TimeToLiveDescription?.AttributeName).toBe('expiresAt');

      expect(cloud.pollers.map((p) => [p.spec.queueUrl, p.spec.functionName]).sort()).toEqual(
        [
          [stack.outputs.FanfoldQueueUrl, worker?.name],
          [stack.outputs.FanfoldDeadLetterQueueUrl, deadLetter?.name],
        ].sort(),
      );
      expect(cloud.pollers.every((p) => p.spec.reportBatchItemFailures)).toBe(true);
    } finally {
      sqs.destroy();
      dynamo.destroy();
    }
  });

  it('runs map and mapReduce jobs through the coordinator and the workers, finding the stack by name', async () => {
    const options = { ...cloud.clientOptions, maxAttempts: 1 };
    const clients = {
      lambda: new LambdaClient({ ...options, endpoint: cloud.lambdaEndpoint }),
      cloudformation: new CloudFormationClient({ ...options, endpoint: cloud.endpoints.cloudformation }),
      dynamo: createDynamoClient(options),
      s3: createS3Client(options),
    };
    onTestFailed(() => console.error(`assembly: ${assembly.source} ${assembly.dir}\n${logs.join('\n')}`));
    try {
      const mp = aws({ tasks, stack: FANFOLD_STACK, clients });
      // A job that cannot finish fails within the test's time, with the functions' logs.
      await using pool = mp.Pool({ jobTimeoutMs: 20_000 });
      const files = [join(texts, 'a.txt'), join(texts, 'b.txt')];
      expect(await pool.map('countWords', files)).toEqual([
        { the: 2, cat: 1, and: 1, hat: 1 },
        { the: 2, cat: 1, sat: 1, end: 1 },
      ]);
      expect(await pool.mapReduce('countWords', files, 'mergeCounts')).toEqual({
        the: 4,
        cat: 2,
        and: 1,
        hat: 1,
        sat: 1,
        end: 1,
      });
      const invoked = (prefix: string) =>
        cloud.sandboxes.get(cloud.functionName(`Fanfold${prefix}`))!.stats().invocations;
      expect(invoked('Coordinator')).toBeGreaterThanOrEqual(2);
      expect(invoked('Worker')).toBeGreaterThanOrEqual(1);
      expect(invoked('DeadLetter')).toBe(0);
      expect(cloud.errors).toEqual([]);
    } finally {
      for (const client of Object.values(clients)) client.destroy();
    }
  });

  it("runs the sweeper's bundle: a queue under the stack's prefix whose creator is long gone is deleted", async () => {
    const options = { ...cloud.clientOptions, maxAttempts: 1 };
    const sqs = createSqsClient(options);
    const dynamo = createDynamoClient(options);
    const lambda = new LambdaClient({ ...options, endpoint: cloud.lambdaEndpoint });
    onTestFailed(() => console.error(logs.join('\n')));
    try {
      const prefix = cloud.stack.outputs.FanfoldQueuePrefix ?? '';
      expect(prefix).toBe(`${FANFOLD_STACK}_`);
      const id = 'f'.repeat(32);
      const name = `${prefix}q${id}.fifo`;
      await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { FifoQueue: 'true' } }));
      await dynamo.send(
        new PutItemCommand({
          TableName: cloud.stack.outputs.FanfoldTable,
          Item: {
            pk: { S: `SYNC#${id}` },
            sk: { S: 'SYNC' },
            lastSeen: { N: String(Date.now() - 86_400_000) },
          },
        }),
      );
      const out = await lambda.send(
        new InvokeCommand({ FunctionName: cloud.functionName('FanfoldSweeper') }),
      );
      expect(out.FunctionError).toBeUndefined();
      const report = JSON.parse(Buffer.from(out.Payload ?? new Uint8Array()).toString()) as {
        deleted: unknown;
      };
      expect(report.deleted).toEqual([{ name, reason: 'stale' }]);
    } finally {
      sqs.destroy();
      dynamo.destroy();
      lambda.destroy();
    }
  });
});
