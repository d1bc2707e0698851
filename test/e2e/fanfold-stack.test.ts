/**
 * The real `Fanfold` stack on the runner: the template `cdk synth` writes, its resources created
 * in moto, its four bundled functions behind the Invoke API and its two event source mappings
 * polling; then pools of the `aws` context run jobs through the coordinator bundle, the worker
 * bundle's threads and the table, found from the stack's outputs as on AWS.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeTimeToLiveCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, onTestFailed, vi } from 'vitest';
import tasks from '../../examples/wordfreq.tasks.js';
import { STACK_OUTPUTS } from '../../src/aws/invoke.js';
import { ENV } from '../../src/aws/lambda/env.js';
import { tasksFingerprint } from '../../src/aws/tasks-fingerprint.js';
import { TasksMismatchError } from '../../src/errors.js';
import otherTasks from '../fixtures/tasks.js';
import { type Cloud, INSTALL_TIMEOUT_MS } from '../runner/index.js';
import { useCloudTier } from '../support/cloud.js';
import { printLogsOnFailure, type RunnerStack, startRunnerStack } from '../support/runner-stack.js';
import {
  FANFOLD_STACK,
  type FanfoldAssembly,
  fanfoldAssembly,
  SYNTH_TIMEOUT_MS,
} from './fanfold-assembly.js';

const tier = await useCloudTier();
let assembly: FanfoldAssembly;
let runner: RunnerStack;
let cloud: Cloud;
let texts: string;
printLogsOnFailure(() => runner?.logs);

beforeAll(async () => {
  assembly = await fanfoldAssembly();
  runner = await startRunnerStack({ cdkOut: assembly.dir, stack: FANFOLD_STACK, emulators: tier.emulators });
  cloud = runner.cloud;
  texts = mkdtempSync(join(tmpdir(), 'fanfold-texts-'));
  writeFileSync(join(texts, 'a.txt'), 'the cat and the hat');
  writeFileSync(join(texts, 'b.txt'), 'The cat sat; the end.');
}, SYNTH_TIMEOUT_MS + INSTALL_TIMEOUT_MS);

afterAll(async () => {
  await runner?.stop();
  assembly?.dispose();
  if (texts) rmSync(texts, { recursive: true, force: true });
});

describe('the Fanfold stack on the runner', () => {
  it('stands up: queues with redrive, the table with TTL, four functions, two mappings polling', async () => {
    const { stack } = cloud;
    const { sqs, dynamo } = runner.clients;
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
  });

  it('runs map and mapReduce jobs through the coordinator and the workers, finding the stack by name', async () => {
    onTestFailed(() => console.error(`assembly: ${assembly.source} ${assembly.dir}`));
    const mp = runner.context({ tasks });
    // A job that cannot finish fails within the test's time, with the functions' logs.
    await using pool = mp.Pool({ jobTimeoutMs: tier.scaled(20_000) });
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
  });

  it("writes the worker's metrics in embedded metric format, and refuses a caller whose tasks module is another", async () => {
    // The jobs of the test before: 2 chunks of the map, 2 of the mapReduce (one file per chunk).
    // A worker writes its metrics as its invocation ends, which may be after the pool's call
    // returned: wait for the lines (the runner collects the containers' output as it comes).
    const blobs = () =>
      runner.logs
        .map((l) => l.slice(l.indexOf('] ') + 2))
        .filter((l) => l.startsWith('{"_aws"'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    const done = () =>
      blobs()
        .flatMap((b) => (b.ChunksDone === undefined ? [] : ([b.ChunksDone].flat() as number[])))
        .reduce((a, b) => a + b, 0);
    await vi.waitFor(() => expect(done()).toBe(4), { timeout: tier.scaled(30_000), interval: 100 });
    expect(blobs().every((b) => b.service === FANFOLD_STACK)).toBe(true);
    // At the stack's default level (WARN) a job that went well logs nothing else.
    expect(runner.logs.filter((l) => l.includes('"level":"DEBUG"') || l.includes('"level":"INFO"'))).toEqual(
      [],
    );

    const deployed = cloud.stack.outputs[STACK_OUTPUTS.tasksFingerprint];
    expect(deployed).toBe(await tasksFingerprint(tasks.module!));
    await using other = runner.context({ tasks: otherTasks }).Pool();
    await expect(other.map('square', [1])).rejects.toBeInstanceOf(TasksMismatchError);
  });

  it("runs the sweeper's bundle: a queue under the stack's prefix whose creator is long gone is deleted", async () => {
    const { sqs, dynamo, lambda } = runner.clients;
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
    const out = await lambda.send(new InvokeCommand({ FunctionName: cloud.functionName('FanfoldSweeper') }));
    expect(out.FunctionError).toBeUndefined();
    const report = JSON.parse(Buffer.from(out.Payload ?? new Uint8Array()).toString()) as {
      deleted: unknown;
    };
    expect(report.deleted).toEqual([{ name, reason: 'stale' }]);
  });
});
