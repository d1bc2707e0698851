/**
 * An AWS primitives environment on moto, for the cloud tests of Lock, Queue, Value…: the file's
 * emulator (test/support/cloud.ts), a table and a bucket on it, and an {@link AwsSyncEnv} with
 * leases and polling scaled to the emulator's pace (overridable per test).
 *
 * @example
 * ```ts
 * const cloud = await useSyncEnv();
 * it('…', async () => { const lock = awsPrimitives(cloud.env()).Lock(); … });
 * ```
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { ensureBucket, ensureTable } from '../../src/aws/setup.js';
import type { AwsSyncClients, AwsSyncEnv } from '../../src/aws/sync/env.js';
import type { Emulators } from '../runner/index.js';
import { useCloudTier } from '../support/cloud.js';

/** A lease at pace 1: renewed every third of it, so a holder survives a slow request or two. */
const LEASE_MS = 3_000;

/** The running emulator and a factory of environments on it. */
export interface SyncEnvHarness {
  readonly emulators: () => Emulators;
  readonly clients: () => AwsSyncClients & {
    readonly sqs: SQSClient;
    readonly dynamo: DynamoDBClient;
    readonly s3: S3Client;
  };
  /** `ms` × the emulator's pace (test/support/cloud.ts): leases and budgets around events. */
  readonly scaled: (ms: number) => number;
  /** A fresh environment (own queue prefix) on the shared table and bucket. */
  readonly env: (overrides?: Partial<AwsSyncEnv>) => AwsSyncEnv;
}

/**
 * Starts this file's emulator (scaling its timeouts), makes the table and bucket, and returns the
 * harness. Call with top-level await, before the file's tests.
 */
export async function useSyncEnv(): Promise<SyncEnvHarness> {
  const table = `fanfold-sync-${randomUUID().slice(0, 8)}`;
  const bucket = `fanfold-sync-${randomUUID().slice(0, 8)}`;
  const cloud = await useCloudTier();
  const clients = cloud.clients;
  await Promise.all([ensureTable(clients.dynamo, table), ensureBucket(clients.s3, bucket)]);
  return {
    emulators: () => cloud.emulators,
    clients: () => clients,
    scaled: cloud.scaled,
    env: (overrides = {}) => ({
      table,
      bucket,
      queuePrefix: `fanfold-t${randomUUID().slice(0, 8)}-`,
      clients: async () => clients,
      leaseMs: cloud.scaled(LEASE_MS),
      pollMs: { min: 10, max: 200 },
      ...overrides,
    }),
  };
}
