/**
 * What the `aws` context loads on first use: the SDK clients, the adapters, the stack lookup and
 * the coordinator invoker. Kept out of `context.ts` so that importing fanfold does not parse the
 * AWS SDK (about 0.3 s at start) for programs that only use the local context.
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { createDynamoClient, createS3Client, createSqsClient } from './clients.js';
import { DynamoJobStore } from './dynamo-store.js';
import {
  coordinatorInvoker,
  createCloudFormationClient,
  readStackOutputs,
  type StackResources,
} from './invoke.js';
import { S3BlobStore } from './s3-blobs.js';
import { asFanfoldError, withAwsErrors } from './sdk-errors.js';
import type { Settings } from './settings.js';
import type { AwsSyncClients } from './sync/env.js';

/** A pool's connection to a deployed stack. */
export interface Connection {
  readonly store: DynamoJobStore;
  readonly blobs: S3BlobStore;
  readonly invoke: ReturnType<typeof coordinatorInvoker>;
  readonly processes: number;
}

/** The stack's resources: the explicit ones, or its CloudFormation outputs. */
export async function findResources(s: Settings): Promise<StackResources> {
  if (s.resources) return { ...s.resources, workers: s.resources.workers };
  const own = s.clients.cloudformation === undefined;
  const cfn = s.clients.cloudformation ?? createCloudFormationClient(s.region);
  try {
    return await readStackOutputs(cfn, s.stack ?? 'Fanfold');
  } catch (e) {
    throw asFanfoldError(`reading the outputs of the CloudFormation stack ${s.stack ?? 'Fanfold'}`, e);
  } finally {
    if (own) cfn.destroy();
  }
}

/**
 * The primitives' clients: the settings' own, else made in the settings' region. Made once per
 * context and kept for its life (primitives outlive pools), so never destroyed here.
 */
export function syncClients(s: Settings): AwsSyncClients {
  const region = s.region === undefined ? {} : { region: s.region };
  return {
    dynamo: s.clients.dynamo ?? createDynamoClient(region),
    s3: s.clients.s3 ?? createS3Client(region),
    sqs: s.clients.sqs ?? createSqsClient(region),
  };
}

/** Makes the clients the settings do not provide (handing each to `own`) and the adapters over them. */
export function connect(
  s: Settings,
  r: StackResources,
  maxInlineBytes: number,
  blobPrefix: string,
  own: (client: { destroy(): void }) => void,
): Connection {
  const c = s.clients;
  const region = s.region === undefined ? {} : { region: s.region };
  const mine = <C extends { destroy(): void }>(client: C): C => {
    own(client);
    return client;
  };
  const dynamo = c.dynamo ?? mine(createDynamoClient(region));
  const s3 = c.s3 ?? mine(createS3Client(region));
  const lambda = c.lambda ?? mine(new LambdaClient(region));
  const blobs = withAwsErrors(
    new S3BlobStore({ client: s3, bucket: r.bucket, prefix: blobPrefix }),
    `the blob store (S3 bucket ${r.bucket})`,
  );
  return {
    store: withAwsErrors(
      new DynamoJobStore({ client: dynamo, tableName: r.table, maxInlineBytes }),
      `the job store (DynamoDB table ${r.table})`,
    ),
    blobs,
    invoke: coordinatorInvoker({ client: lambda, functionName: r.coordinator, blobs }),
    processes: r.workers ?? 1000,
  };
}
