/**
 * Lambda gives every concurrent invocation an environment of its own, so an event source mapping's
 * batch never waits for asynchronous invocations of its function to end. The runner caps a
 * function's containers, so it keeps the mappings' concurrency for them (`FunctionSandbox`
 * `reserveForMapping`): asynchronous invocations run on the containers left, at least one, and the
 * rest wait in Lambda's own event queue. Without that, asynchronous invocations as many as the cap
 * took every container, and a mapping's batch waited behind them at the queue's visibility timeout
 * (fanfold's drain workers did this to its mapping's batches).
 *
 * On the fixture assembly with three containers per function: three asynchronous invocations of the
 * consumer hold at a gate the test opens, and a message on one of its mappings' queues must run
 * while they are held (without the reservation it waited until the gate opened).
 */
import { randomUUID } from 'node:crypto';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3Client, sqsClient } from '../src/clients.js';
import { INSTALL_TIMEOUT_MS } from '../src/emulators.js';
import { type Cloud, startCloud } from '../src/runner.js';
import { copyAssembly, eventually, readTraces } from './support.js';

const CONTAINERS = 3;

let cloud: Cloud;
let lambda: LambdaClient;
let sqs: SQSClient;
let s3: S3Client;
let bucket: string;

beforeAll(async () => {
  // The consumer may run 5 minutes: a held event never times out (and is retried) while the test
  // looks, so a container frees only when the test opens the gate.
  // (Lambda refuses a mapping whose queue's visibility is shorter than the function's timeout.)
  const cdkOut = copyAssembly((t) => {
    t.Resources.Consumer5F3A2B9C!.Properties.Timeout = 300;
    for (const r of Object.values(t.Resources))
      if (r.Type === 'AWS::SQS::Queue' && r.Properties?.VisibilityTimeout !== undefined)
        r.Properties.VisibilityTimeout = 300;
  });
  cloud = await startCloud({ cdkOut, maxContainersPerFunction: CONTAINERS });
  lambda = new LambdaClient({ ...cloud.clientOptions, endpoint: cloud.lambdaEndpoint, maxAttempts: 1 });
  sqs = sqsClient(cloud.clientOptions);
  s3 = s3Client(cloud.clientOptions);
  bucket = cloud.stack.outputs.TraceBucketName!;
}, INSTALL_TIMEOUT_MS);

afterAll(async () => {
  lambda?.destroy();
  sqs?.destroy();
  s3?.destroy();
  await cloud?.stop();
});

/** How many invocations announced themselves at `test`'s gate. */
async function entered(test: string): Promise<number> {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `gate/${test}/entered/` }));
  return out.KeyCount ?? 0;
}

/** The records the consumer traced for `test`, once there are `count`. */
async function traced(test: string, count: number): Promise<number> {
  return eventually(async () => {
    const n = (await readTraces(s3, bucket, test)).flatMap((t) => t.records).length;
    return n >= count ? n : undefined;
  }, `${count} records of ${test}`);
}

describe('asynchronous invocations beside an event source mapping', () => {
  it('leave a container to the mapping: its batch runs while they hold every container they may take', async () => {
    const held = `async-held-${randomUUID()}`;
    const mapped = `mapped-${randomUUID()}`;
    const event = { Records: [{ messageId: `m-${held}`, body: JSON.stringify({ test: held, gate: true }) }] };
    try {
      for (let i = 0; i < CONTAINERS; i++) {
        const out = await lambda.send(
          new InvokeCommand({
            FunctionName: cloud.functionName('Consumer'),
            InvocationType: 'Event',
            Payload: JSON.stringify(event),
          }),
        );
        expect(out.StatusCode).toBe(202);
      }
      await eventually(async () => ((await entered(held)) >= 1 ? true : undefined), 'an event at the gate');

      // The narrow mapping: batches of one.
      const url = cloud.stack.outputs.NarrowQueueUrl!;
      await sqs.send(
        new SendMessageCommand({ QueueUrl: url, MessageBody: JSON.stringify({ test: mapped }) }),
      );
      // The mapping's batch runs while the events are still held at their gate.
      expect(await traced(mapped, 1)).toBe(1);
      // The mappings want more containers than there are: events get the one left to them.
      expect(await entered(held)).toBe(1);
    } finally {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `gate/${held}/open`, Body: 'open' }));
    }
    // The events that waited run once a container is theirs: none is lost.
    expect(await traced(held, CONTAINERS)).toBe(CONTAINERS);
  });
});
