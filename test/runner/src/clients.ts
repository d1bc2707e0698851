/**
 * SDK clients on an emulator's endpoint, as the runner and its callers make them: S3 with
 * path-style addressing (127.0.0.1 has no per-bucket host names), SQS sending to the endpoint and
 * never to the host of a queue URL the emulator made up.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';

/** Region, endpoint and credentials of an emulator (see {@link Emulators.clientOptions}). */
export interface EmulatorClientOptions {
  readonly region: string;
  readonly endpoint: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** Attempts per request, the first included. @default the SDK's (3) */
  readonly maxAttempts?: number;
}

/** One client per service the emulator serves. Destroy them when done. */
export interface EmulatorClients {
  readonly sqs: SQSClient;
  readonly dynamo: DynamoDBClient;
  readonly s3: S3Client;
}

/** An SQS client on the emulator. */
export function sqsClient(o: EmulatorClientOptions): SQSClient {
  return new SQSClient({ ...o, useQueueUrlAsEndpoint: false });
}

/** A DynamoDB client on the emulator. */
export function dynamoClient(o: EmulatorClientOptions): DynamoDBClient {
  return new DynamoDBClient(o);
}

/** An S3 client on the emulator, path-style. */
export function s3Client(o: EmulatorClientOptions): S3Client {
  return new S3Client({ ...o, forcePathStyle: true });
}

/** One client of each service on the emulator. */
export function emulatorClients(o: EmulatorClientOptions): EmulatorClients {
  return { sqs: sqsClient(o), dynamo: dynamoClient(o), s3: s3Client(o) };
}
