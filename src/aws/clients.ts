/**
 * Factories for the SDK clients the AWS adapters use. Every adapter takes its client as an
 * argument, so callers (tests, the Lambda handlers) may build their own; these factories only
 * settle the endpoint the same way everywhere.
 */
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';

/** Options shared by the client factories. */
export interface AwsClientOptions {
  /** The AWS region. @default the SDK's own lookup (`AWS_REGION`, the shared config files) */
  readonly region?: string;
  /**
   * The endpoint, e.g. `http://127.0.0.1:5000` for an emulator.
   * @default `AWS_ENDPOINT_URL_<SERVICE>`, else `AWS_ENDPOINT_URL`, else the service's own
   */
  readonly endpoint?: string;
  /** Credentials, or a provider of them. @default the SDK's default provider chain */
  readonly credentials?: DynamoDBClientConfig['credentials'];
  /** Attempts per request, including the first, under the SDK's standard retry strategy. @default 3 */
  readonly maxAttempts?: number;
}

/** The service part of the `AWS_ENDPOINT_URL_<SERVICE>` variables. */
export type EndpointService = 'SQS' | 'DYNAMODB' | 'S3' | 'LAMBDA';

/**
 * The endpoint a client of `service` should use: the explicit one, else the environment's
 * service-specific or global endpoint variable, else `undefined` (the service's own endpoint).
 *
 * The SDK reads these variables itself; fanfold resolves them too because two settings depend
 * on whether an endpoint is set: S3 needs path-style addressing (an emulator on 127.0.0.1 has no
 * per-bucket host names), and SQS must not take its endpoint from a queue URL whose host an
 * emulator made up (fauxqs's `sqs.us-east-1.localhost` does not resolve).
 */
export function resolveEndpoint(
  service: EndpointService,
  explicit?: string,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (explicit) return explicit;
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS === 'true') return undefined;
  return env[`AWS_ENDPOINT_URL_${service}`] || env.AWS_ENDPOINT_URL || undefined;
}

function common(service: EndpointService, options: AwsClientOptions) {
  const endpoint = resolveEndpoint(service, options.endpoint);
  return {
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
  };
}

/** An SQS client; with an endpoint set, requests go there and never to a queue URL's host. */
export function createSqsClient(options: AwsClientOptions = {}): SQSClient {
  const config = common('SQS', options);
  return new SQSClient({ ...config, ...(config.endpoint ? { useQueueUrlAsEndpoint: false } : {}) });
}

/** A DynamoDB client. */
export function createDynamoClient(options: AwsClientOptions = {}): DynamoDBClient {
  return new DynamoDBClient(common('DYNAMODB', options));
}

/** An S3 client; path-style addressing whenever an endpoint is set. */
export function createS3Client(options: AwsClientOptions = {}): S3Client {
  const config = common('S3', options);
  return new S3Client({ ...config, ...(config.endpoint ? { forcePathStyle: true } : {}) });
}

/** A Lambda client (the coordinator invokes itself and the worker). */
export function createLambdaClient(options: AwsClientOptions = {}): LambdaClient {
  return new LambdaClient(common('LAMBDA', options));
}
