/**
 * The AWS context's primitives reach AWS directly; an SDK error must reach the caller (and a task,
 * through a revived handle) as an `AwsError` naming the primitive and its method, the SDK's error as
 * `cause`, as the caller's stores do (src/aws/sdk-errors.ts). Real failures: an endpoint on
 * 127.0.0.1 where nothing listens, and moto refusing a table that does not exist.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import type { Primitives } from '../../../src/api/context.js';
import { awsPrimitives, awsReviver } from '../../../src/aws/sync/index.js';
import { AwsError, ErrorCodes } from '../../../src/errors.js';
import { SHARE } from '../../../src/handles.js';
import { useSyncEnv } from '../sync-env.js';

const cloud = await useSyncEnv();
const refused = { ...cloud.emulators().clientOptions, endpoint: 'http://127.0.0.1:1', maxAttempts: 1 };
const closed = {
  dynamo: new DynamoDBClient(refused),
  sqs: new SQSClient(refused),
  s3: new S3Client(refused),
};
afterAll(() => {
  for (const c of Object.values(closed)) c.destroy();
});

/** The rejection of `p`, which must be an AwsError whose operation matches `operation`. */
async function expectAwsError(p: Promise<unknown>, operation: RegExp): Promise<AwsError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(AwsError);
  expect(e).toMatchObject({ code: ErrorCodes.AWS_FAILED });
  expect((e as AwsError).operation).toMatch(operation);
  expect((e as AwsError).cause).toBeInstanceOf(Error);
  expect((e as AwsError).cause).not.toBeInstanceOf(AwsError);
  return e as AwsError;
}

describe('the aws context primitives, when AWS fails', () => {
  const mp = (): Primitives => awsPrimitives(cloud.env({ clients: async () => closed }));

  it('reject with AwsError naming the primitive and its method, for a connection refused', async () => {
    const p = mp();
    const refusedBy = await expectAwsError(p.Lock().acquire(), /Lock acquire/);
    expect(String((refusedBy.cause as Error).message)).toMatch(/ECONNREFUSED|connect/);
    await expectAwsError(p.Value('i', 1).get(), /Value get/);
    await expectAwsError(p.Event().set(), /Event set/);
    await expectAwsError(p.Queue().put(1), /Queue put/);
    await expectAwsError(p.Semaphore(2).acquire(), /Semaphore acquire/);
  });

  it('reject with AwsError inside a task too: a revived handle is wrapped the same way', async () => {
    const lock = awsPrimitives(cloud.env()).Lock();
    const revived = awsReviver(cloud.env({ clients: async () => closed }))(lock[SHARE]()) as ReturnType<
      Primitives['Lock']
    >;
    await expectAwsError(revived.acquire(), /Lock acquire/);
  });

  it('reject with AwsError when the emulator answers with an error (a table that does not exist)', async () => {
    const p = awsPrimitives(cloud.env({ table: 'fanfold-no-such-table' }));
    const e = await expectAwsError(p.Value('i', 1).get(), /Value get/);
    expect(e.awsName).toBe('ResourceNotFoundException');
  });

  it('keep working as before when AWS answers', async () => {
    const p = awsPrimitives(cloud.env());
    const v = p.Value('i', 1);
    await v.set(41);
    expect(await v.get()).toBe(41);
    const lock = p.Lock();
    expect(await lock.acquire()).toBe(true);
    await lock.release();
  });
});
