/**
 * An AWS primitives environment on moto, for the cloud tests of Lock, Queue, Value…: starts the
 * emulator once per test file, makes the table and the bucket, and gives an {@link AwsSyncEnv} with
 * short leases and fast polling (overridable per test).
 *
 * @example
 * ```ts
 * const cloud = useSyncEnv();
 * it('…', async () => { const lock = awsPrimitives(cloud.env()).Lock(); … });
 * ```
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll } from 'vitest';
import { createDynamoClient, createS3Client, createSqsClient } from '../../src/aws/clients.js';
import { ensureBucket, ensureTable } from '../../src/aws/setup.js';
import type { AwsSyncClients, AwsSyncEnv } from '../../src/aws/sync/env.js';
import { type Emulators, INSTALL_TIMEOUT_MS, startEmulators } from '../support/emulators.js';

/** The running emulator and a factory of environments on it. */
export interface SyncEnvHarness {
  readonly emulators: () => Emulators;
  readonly clients: () => AwsSyncClients & {
    readonly sqs: SQSClient;
    readonly dynamo: DynamoDBClient;
    readonly s3: S3Client;
  };
  /** A fresh environment (own queue prefix) on the shared table and bucket. */
  readonly env: (overrides?: Partial<AwsSyncEnv>) => AwsSyncEnv;
}

/** Starts moto for this file (beforeAll/afterAll) and returns the harness. */
export function useSyncEnv(): SyncEnvHarness {
  const table = `fanfold-sync-${randomUUID().slice(0, 8)}`;
  const bucket = `fanfold-sync-${randomUUID().slice(0, 8)}`;
  let emulators: Emulators | undefined;
  let clients: (AwsSyncClients & { sqs: SQSClient; dynamo: DynamoDBClient; s3: S3Client }) | undefined;

  beforeAll(async () => {
    emulators = await startEmulators();
    clients = {
      dynamo: createDynamoClient(emulators.clientOptions),
      sqs: createSqsClient(emulators.clientOptions),
      s3: createS3Client(emulators.clientOptions),
    };
    await Promise.all([ensureTable(clients.dynamo, table), ensureBucket(clients.s3, bucket)]);
  }, INSTALL_TIMEOUT_MS);

  afterAll(async () => {
    if (clients) for (const c of [clients.sqs, clients.dynamo, clients.s3]) c.destroy();
    await emulators?.stop();
  });

  const need = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error('useSyncEnv(): the emulator is not running (call inside tests)');
    return v;
  };
  return {
    emulators: () => need(emulators),
    clients: () => need(clients),
    env: (overrides = {}) => {
      const c = need(clients);
      return {
        table,
        bucket,
        queuePrefix: `fanfold-t${randomUUID().slice(0, 8)}-`,
        clients: async () => c,
        leaseMs: 3_000,
        pollMs: { min: 10, max: 200 },
        ...overrides,
      };
    },
  };
}
