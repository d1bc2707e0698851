/**
 * `awsJobs()` (list, inspect, attach, cancel: what the CLI's job commands use) reports an AWS
 * failure as an `AwsError` naming what it was doing, the SDK's error as `cause`: a real failure,
 * clients pointed at a port on 127.0.0.1 where nothing listens, and moto refusing a missing table.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { awsJobs } from '../../src/aws/operations.js';
import { AwsError, ErrorCodes } from '../../src/errors.js';
import { useCloudTier } from '../support/cloud.js';

const cloud = await useCloudTier();
const refused = { ...cloud.emulators.clientOptions, endpoint: 'http://127.0.0.1:1', maxAttempts: 1 };
const closed = {
  dynamo: new DynamoDBClient(refused),
  s3: new S3Client(refused),
  lambda: new LambdaClient(refused),
  cloudformation: new CloudFormationClient(refused),
};
afterAll(() => {
  for (const c of Object.values(closed)) c.destroy();
});
const resources = {
  coordinator: 'fanfold-coordinator',
  table: 'fanfold-ops-errors',
  bucket: 'fanfold-ops-errors',
};

async function awsErrorOf(p: Promise<unknown>): Promise<AwsError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(AwsError);
  expect(e).toMatchObject({ code: ErrorCodes.AWS_FAILED });
  expect((e as AwsError).cause).toBeInstanceOf(Error);
  return e as AwsError;
}

describe('awsJobs() when AWS fails', () => {
  it('rejects list, inspect, attach and cancel with AwsError on a refused connection', async () => {
    const jobs = awsJobs({ resources, clients: closed });
    try {
      expect((await awsErrorOf(jobs.list())).operation).toMatch(/DynamoDB table fanfold-ops-errors/);
      expect((await awsErrorOf(jobs.inspect('j1'))).operation).toMatch(/getJob\(j1\)/);
      expect((await awsErrorOf(jobs.attach('j1'))).operation).toMatch(/getJob\(j1\)/);
      expect((await awsErrorOf(jobs.cancel('j1'))).operation).toMatch(/coordinator fanfold-coordinator/);
      expect((await awsErrorOf(awsJobs({ stack: 'Missing', clients: closed }).list())).operation).toMatch(
        /CloudFormation stack Missing/,
      );
    } finally {
      jobs.close();
    }
  });

  it('rejects with AwsError when the emulator answers with an error (a table that does not exist)', async () => {
    const jobs = awsJobs({ resources, clients: { ...cloud.clients } });
    try {
      expect(await awsErrorOf(jobs.inspect('j1'))).toMatchObject({ awsName: 'ResourceNotFoundException' });
    } finally {
      jobs.close();
    }
  });
});
