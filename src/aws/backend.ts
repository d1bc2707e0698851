/** The AWS {@link Backend}: the engine's ports on SQS, DynamoDB and S3. */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Backend } from '../ports.js';
import { createDynamoClient, createS3Client, createSqsClient } from './clients.js';
import { DynamoFanoutLedger } from './dynamo-fanout.js';
import { DynamoJobStore, type DynamoJobStoreOptions } from './dynamo-store.js';
import { S3BlobStore } from './s3-blobs.js';
import { S3ObjectReader } from './s3-reader.js';
import { SqsWorkQueue } from './sqs-queue.js';

/** Options of {@link awsBackend}. */
export interface AwsBackendOptions {
  /** The job table (see `ensureTable`). */
  readonly tableName: string;
  /** The work queue; its RedrivePolicy must move messages to `deadLetterQueueUrl`. */
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
  /** The bucket for payloads too large to travel inline. */
  readonly bucket: string;
  /** Key prefix inside the bucket. @default 'fanfold/' */
  readonly blobPrefix?: string;
  /** Clients to use; each one missing is made by the `create*Client` factory with `region`. */
  readonly clients?: { readonly sqs?: SQSClient; readonly dynamo?: DynamoDBClient; readonly s3?: S3Client };
  /** Region of the clients made here. @default the SDK's own lookup */
  readonly region?: string;
  /** Passed to {@link DynamoJobStore}. */
  readonly store?: Omit<DynamoJobStoreOptions, 'client' | 'tableName'>;
  /** SendMessageBatch calls in flight when the work queue sends (`SqsWorkQueueOptions.sendConcurrency`). @default 4 */
  readonly sendConcurrency?: number;
}

/**
 * The ports on AWS.
 *
 * @example
 * ```ts
 * const backend = awsBackend({ tableName: 'fanfold', queueUrl, deadLetterQueueUrl, bucket: 'my-fanfold' });
 * ```
 */
export function awsBackend(options: AwsBackendOptions): Backend {
  const region = options.region === undefined ? {} : { region: options.region };
  const sqs = options.clients?.sqs ?? createSqsClient(region);
  const dynamo = options.clients?.dynamo ?? createDynamoClient(region);
  const s3 = options.clients?.s3 ?? createS3Client(region);
  return {
    queue: new SqsWorkQueue({
      client: sqs,
      queueUrl: options.queueUrl,
      ...(options.sendConcurrency === undefined ? {} : { sendConcurrency: options.sendConcurrency }),
    }),
    deadLetters: new SqsWorkQueue({ client: sqs, queueUrl: options.deadLetterQueueUrl }),
    store: new DynamoJobStore({ ...options.store, client: dynamo, tableName: options.tableName }),
    blobs: new S3BlobStore({ client: s3, bucket: options.bucket, prefix: options.blobPrefix ?? 'fanfold/' }),
    // The objects of lines() jobs, in users' own buckets (the roles need s3:GetObject on them).
    objects: new S3ObjectReader({ client: s3 }),
    // Its progress items expire a week after they are written (the ledger's default): a job's own
    // records go at its deadline plus the store's retention, so these outlive them, harmlessly.
    fanout: new DynamoFanoutLedger({ client: dynamo, tableName: options.tableName }),
  };
}
