/**
 * The port contract suites against the AWS adapters, on moto's server (SQS, DynamoDB, S3) started
 * by this file. Each queue harness gets a fresh queue and dead-letter queue; the store, ledger and
 * blob harnesses share one table and one bucket (the suites use fresh ids and prefixes).
 */
import { randomUUID } from 'node:crypto';
import { DeleteQueueCommand } from '@aws-sdk/client-sqs';
import { DynamoFanoutLedger } from '../../src/aws/dynamo-fanout.js';
import { DynamoJobStore } from '../../src/aws/dynamo-store.js';
import { S3BlobStore } from '../../src/aws/s3-blobs.js';
import { ensureBucket, ensureQueuePair, ensureTable } from '../../src/aws/setup.js';
import { SqsWorkQueue } from '../../src/aws/sqs-queue.js';
import { describeBlobStoreContract } from '../contract/blob-store.contract.js';
import { describeFanoutLedgerContract } from '../contract/fanout-ledger.contract.js';
import { describeJobCompletionContract } from '../contract/job-completion.contract.js';
import { describeJobListContract } from '../contract/job-list.contract.js';
import { describeJobStoreContract, type MakeJobStore } from '../contract/job-store.contract.js';
import { describeWorkQueueContract } from '../contract/work-queue.contract.js';
import { useCloudTier } from '../support/cloud.js';

const TABLE = 'fanfold-contract';
const BUCKET = 'fanfold-contract';

const { sqs, dynamo, s3 } = (await useCloudTier()).clients;
await Promise.all([ensureTable(dynamo, TABLE), ensureBucket(s3, BUCKET)]);

// SQS timeouts are whole seconds: the expiry tests use 1 s.
describeWorkQueueContract(
  'SQS on moto',
  async ({ visibilityMs, maxReceiveCount }) => {
    const name = `contract-${randomUUID().slice(0, 8)}`;
    const { queueUrl, deadLetterQueueUrl } = await ensureQueuePair(sqs, {
      name,
      visibilityTimeoutSeconds: Math.ceil(visibilityMs / 1000),
      maxReceiveCount,
    });
    return {
      queue: new SqsWorkQueue({ client: sqs, queueUrl }),
      deadLetters: new SqsWorkQueue({ client: sqs, queueUrl: deadLetterQueueUrl }),
      close: async () => {
        await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
        await sqs.send(new DeleteQueueCommand({ QueueUrl: deadLetterQueueUrl }));
      },
    };
  },
  { visibilityMs: 1000 },
);

const makeDynamoStore: MakeJobStore = async ({ maxInlineBytes, smallShards, clock }) => ({
  store: new DynamoJobStore({
    client: dynamo,
    tableName: TABLE,
    clock,
    ...(maxInlineBytes === undefined ? {} : { maxInlineBytes }),
    ...(smallShards ? { sharding: { chunksPerShard: 11, maxShards: 4, openShards: 4 } } : {}),
  }),
  close: () => {},
});
describeJobStoreContract('DynamoDB on moto', makeDynamoStore, { notifies: false });
describeJobCompletionContract('DynamoDB on moto', makeDynamoStore);

describeJobListContract('DynamoDB on moto', async ({ clock }) => ({
  store: new DynamoJobStore({ client: dynamo, tableName: TABLE, clock }),
  close: () => {},
}));

describeBlobStoreContract('S3 on moto', async () => ({
  blobs: new S3BlobStore({ client: s3, bucket: BUCKET, prefix: 'contract/' }),
  close: () => {},
}));

describeFanoutLedgerContract(
  'DynamoDB on moto',
  async () => new DynamoFanoutLedger({ client: dynamo, tableName: TABLE }),
);
