/**
 * Creates the AWS resources fanfold runs on (for tests against an emulator, and for the Lambda
 * runner's first start): the DynamoDB table, the work queue with its dead-letter queue, and the
 * bucket. Every step is idempotent: a resource that exists is kept (and a queue's attributes are
 * brought up to date).
 */
import {
  CreateTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  QueueNameExists,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { TTL_ATTRIBUTE } from './dynamo-items.js';
import { LIST_DAY, LIST_INDEX, LIST_SORT } from './job-list.js';

/** Options of {@link ensureQueuePair}. */
export interface QueuePairOptions {
  /** The work queue's name; the dead-letter queue is named `<name>-dlq` unless given. */
  readonly name: string;
  readonly deadLetterName?: string;
  /** The work queue's default visibility timeout, in whole seconds. @default 30 */
  readonly visibilityTimeoutSeconds?: number;
  /** Receives of a message before SQS moves it to the dead-letter queue. @default 5 */
  readonly maxReceiveCount?: number;
}

/** Creates (or updates) a queue whose RedrivePolicy moves messages to its own dead-letter queue. */
export async function ensureQueuePair(
  sqs: SQSClient,
  options: QueuePairOptions,
): Promise<{ queueUrl: string; deadLetterQueueUrl: string }> {
  const { name, visibilityTimeoutSeconds = 30, maxReceiveCount = 5 } = options;
  // Dead letters are kept as long as SQS allows, for inspection.
  const deadLetterQueueUrl = await ensureQueue(sqs, options.deadLetterName ?? `${name}-dlq`, {
    MessageRetentionPeriod: '1209600',
  });
  const arn = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: deadLetterQueueUrl, AttributeNames: ['QueueArn'] }),
  );
  const deadLetterTargetArn = arn.Attributes?.QueueArn;
  if (!deadLetterTargetArn) throw new Error(`SQS returned no QueueArn for ${deadLetterQueueUrl}`);
  const queueUrl = await ensureQueue(sqs, name, {
    VisibilityTimeout: String(visibilityTimeoutSeconds),
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn, maxReceiveCount: String(maxReceiveCount) }),
  });
  return { queueUrl, deadLetterQueueUrl };
}

async function ensureQueue(
  sqs: SQSClient,
  name: string,
  attributes: Record<string, string>,
): Promise<string> {
  try {
    const out = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    if (out.QueueUrl) return out.QueueUrl;
  } catch (e) {
    // It exists with other attributes: keep it and set ours.
    if (!(e instanceof QueueNameExists)) throw e;
  }
  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
  if (!QueueUrl) throw new Error(`SQS returned no URL for queue ${name}`);
  await sqs.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: attributes }));
  return QueueUrl;
}

/** Creates the job table (on-demand, keys `pk`/`sk`, the listing index, TTL on `expiresAt`) and waits until it is active. */
export async function ensureTable(dynamo: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await dynamo.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
          { AttributeName: LIST_DAY, AttributeType: 'S' },
          { AttributeName: LIST_SORT, AttributeType: 'N' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        // The jobs by day of creation (job-list.ts): keys only, so chunk writes never reach it.
        GlobalSecondaryIndexes: [
          {
            IndexName: LIST_INDEX,
            KeySchema: [
              { AttributeName: LIST_DAY, KeyType: 'HASH' },
              { AttributeName: LIST_SORT, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'KEYS_ONLY' },
          },
        ],
      }),
    );
  } catch (e) {
    if (!(e instanceof ResourceInUseException)) throw e;
  }
  await waitUntilTableExists({ client: dynamo, maxWaitTime: 300, minDelay: 1 }, { TableName: tableName });
  const ttl = await dynamo.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
  const status = ttl.TimeToLiveDescription?.TimeToLiveStatus;
  // Enabling twice is an error, and so is enabling while a change is in progress.
  if (status === 'ENABLED' || status === 'ENABLING') return;
  await dynamo.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
    }),
  );
}

/** Creates the bucket unless this account already owns it. */
export async function ensureBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (e) {
    const name = (e as { name?: string }).name;
    if (name !== 'BucketAlreadyOwnedByYou') throw e;
  }
}

/** Options of {@link setupAws}. */
export interface SetupAwsOptions {
  readonly clients: { readonly sqs: SQSClient; readonly dynamo: DynamoDBClient; readonly s3: S3Client };
  readonly tableName: string;
  readonly queue: QueuePairOptions;
  readonly bucket: string;
}

/** What {@link setupAws} made: the arguments of `awsBackend`. */
export interface AwsResources {
  readonly tableName: string;
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
  readonly bucket: string;
}

/** Creates the table, the queue pair and the bucket, idempotently. */
export async function setupAws(options: SetupAwsOptions): Promise<AwsResources> {
  const { clients, tableName, bucket } = options;
  const [queues] = await Promise.all([
    ensureQueuePair(clients.sqs, options.queue),
    ensureTable(clients.dynamo, tableName),
    ensureBucket(clients.s3, bucket),
  ]);
  return { tableName, ...queues, bucket };
}
