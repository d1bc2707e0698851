/**
 * The cloud tier's set-up, once for every test file that needs the emulator: moto started for the
 * file and stopped after it, one SQS, DynamoDB and S3 client on it, and the file's tests' timeouts
 * scaled to how fast the emulator answers on this machine right now.
 *
 * Why scaled: a test of the cloud tier is a few hundred requests to one Python process. On a quiet
 * 2-core machine a request takes a few milliseconds; beside other work it takes several times
 * that, and a fixed 30 s budget that is generous on the first is tight on the second. The pace is
 * measured once, when the file starts (sequential cheap requests to SQS and DynamoDB after a
 * warm-up), and every timeout of the file is multiplied by it. Assertions never are: only the
 * budgets around awaited events and the tests' own timeouts follow the pace.
 *
 * Call it with top-level await, before the file declares its tests: vitest fixes a test's timeout
 * when the test is declared.
 *
 * @example
 * ```ts
 * const cloud = await useCloudTier();
 * it('sends', async () => {
 *   await cloud.clients.sqs.send(new ListQueuesCommand({}));
 * });
 * ```
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { ListQueuesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, vi } from 'vitest';
import { createDynamoClient, createS3Client, createSqsClient } from '../../src/aws/clients.js';
import { type Emulators, startEmulators } from '../runner/index.js';

/**
 * Milliseconds per request of the pace probe that count as a quiet 2-core machine. Measured on
 * the development machine after the warm-up: 6–7 ms at a load average of 6, 10–13 ms with two more
 * busy loops; a quiet machine answers faster than either. A slower answer scales the file's
 * timeouts up; a faster one never scales them down.
 */
export const QUIET_MS_PER_REQUEST = 4;
/** Requests before the probe's clock starts: moto loads each service's code on first use. */
const WARMUP_REQUESTS = 10;
/** Requests timed by the probe, half to SQS and half to DynamoDB. */
const PROBE_REQUESTS = 30;
/** The most a timeout is scaled: past this, the machine is too slow for the tier to say anything. */
export const MAX_PACE = 8;
/** A cloud test's budget at pace 1. */
export const BASE_TEST_TIMEOUT_MS = 30_000;

/** The SDK clients of a file, on its emulator. */
export interface CloudClients {
  readonly sqs: SQSClient;
  readonly dynamo: DynamoDBClient;
  readonly s3: S3Client;
}

/** What {@link useCloudTier} gives a test file. */
export interface CloudTier {
  /** This file's emulator. */
  readonly emulators: Emulators;
  /** Region, endpoint and dummy credentials, for clients a test makes itself. */
  readonly clientOptions: Emulators['clientOptions'];
  /** One client per service, destroyed after the file. */
  readonly clients: CloudClients;
  /** How many times slower than {@link QUIET_MS_PER_REQUEST} the emulator answered (1 to {@link MAX_PACE}). */
  readonly pace: number;
  /** `ms` × {@link pace}, rounded: a budget around an awaited event on this machine. */
  scaled(ms: number): number;
}

/** Options of {@link useCloudTier}. */
export interface CloudTierOptions {
  /** The file's test timeout at pace 1. @default {@link BASE_TEST_TIMEOUT_MS} */
  readonly testTimeoutMs?: number;
}

/** Creates one client per service on `clientOptions`. */
export function cloudClients(clientOptions: Emulators['clientOptions']): CloudClients {
  return {
    sqs: createSqsClient(clientOptions),
    dynamo: createDynamoClient(clientOptions),
    s3: createS3Client(clientOptions),
  };
}

/** Destroys the clients of {@link cloudClients}: their sockets close at once. */
export function destroyClients(clients: CloudClients): void {
  for (const c of [clients.sqs, clients.dynamo, clients.s3]) c.destroy();
}

/** The variables through which SDK clients made elsewhere (worker threads, bundles) find moto. */
const SDK_VARIABLES = [
  'AWS_ENDPOINT_URL',
  'AWS_REGION',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
] as const;

/**
 * Points the SDK's own environment variables at `emulators` (as Lambda's environment points a
 * function at its region) for the rest of the file, and puts them back after it. For code that
 * makes its own clients: worker threads copy `process.env` when they start, bundles read it.
 */
export function pointSdkAt(emulators: Emulators): void {
  const saved = Object.fromEntries(SDK_VARIABLES.map((k) => [k, process.env[k]]));
  process.env.AWS_ENDPOINT_URL = emulators.endpoint;
  process.env.AWS_REGION = emulators.clientOptions.region;
  process.env.AWS_ACCESS_KEY_ID = emulators.clientOptions.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = emulators.clientOptions.credentials.secretAccessKey;
  afterAll(() => {
    for (const k of SDK_VARIABLES) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });
}

/** Times sequential cheap requests to SQS and DynamoDB; returns the pace (1 to {@link MAX_PACE}). */
export async function measurePace(clients: CloudClients): Promise<number> {
  const one = (i: number) =>
    i % 2 === 0
      ? clients.sqs.send(new ListQueuesCommand({ MaxResults: 1 }))
      : clients.dynamo.send(new ListTablesCommand({ Limit: 1 }));
  for (let i = 0; i < WARMUP_REQUESTS; i++) await one(i);
  const started = performance.now();
  for (let i = 0; i < PROBE_REQUESTS; i++) await one(i);
  const msPerRequest = (performance.now() - started) / PROBE_REQUESTS;
  return Math.min(MAX_PACE, Math.max(1, msPerRequest / QUIET_MS_PER_REQUEST));
}

/**
 * Starts this file's emulator and clients, measures the pace, scales the timeouts of the tests
 * and hooks declared after the call, and stops everything after the file's last test.
 */
export async function useCloudTier(options: CloudTierOptions = {}): Promise<CloudTier> {
  const emulators = await startEmulators();
  const clients = cloudClients(emulators.clientOptions);
  afterAll(async () => {
    destroyClients(clients);
    await emulators.stop();
  });
  const pace = await measurePace(clients);
  const scaled = (ms: number) => Math.round(ms * pace);
  const timeout = scaled(options.testTimeoutMs ?? BASE_TEST_TIMEOUT_MS);
  vi.setConfig({ testTimeout: timeout, hookTimeout: timeout });
  return { emulators, clientOptions: emulators.clientOptions, clients, pace, scaled };
}
