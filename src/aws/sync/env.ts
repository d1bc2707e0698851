/**
 * What the AWS primitives need: the table (locks, values, counters, managers live in the jobs
 * table under their own keys), the bucket (messages over the SQS limit), the name prefix of the SQS
 * queues made for `Queue` and `Pipe`, and the SDK clients. The SDK loads on first use: modules in
 * this folder import it only through {@link sdk} (or `import type`), so that `import 'fanfold'` for
 * the local context never parses it.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { loadSdk } from '../sdk.js';

/** The SDK clients the primitives use. */
export interface AwsSyncClients {
  readonly dynamo: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly s3: S3Client;
}

/** The environment of the AWS primitives. */
export interface AwsSyncEnv {
  /** The jobs table. */
  readonly table: string;
  /** The payload bucket. */
  readonly bucket: string;
  /** Name prefix of the SQS queues made for Queue and Pipe (the stack's IAM allows only these). */
  readonly queuePrefix: string;
  /** The clients, made on first use. */
  readonly clients: () => Promise<AwsSyncClients>;
  /** A held lock's lease; renewed every third of it while held, lost this long after its holder dies. @default 30_000 */
  readonly leaseMs: number;
  /** Polling waits (Event.wait, a blocked acquire…): first delay, doubled with full jitter up to `max`. @default { min: 20, max: 1000 } */
  readonly pollMs: { readonly min: number; readonly max: number };
}

/** The SDK modules, loaded once on first use. */
export const sdk = {
  dynamo: () => loadSdk(() => import('@aws-sdk/client-dynamodb')),
  sqs: () => loadSdk(() => import('@aws-sdk/client-sqs')),
  s3: () => loadSdk(() => import('@aws-sdk/client-s3')),
};
