/**
 * The functions as esbuild bundles them (`@fanfold/tasks` aliased to a tasks module, as the CDK
 * construct does), loaded and invoked in this process against moto: the worker bundle doubles as
 * its own thread script, and the handlers read their resources from the environment.
 */

import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DeleteQueueCommand } from '@aws-sdk/client-sqs';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsBackend } from '../../src/aws/backend.js';
import { toJsonSafe } from '../../src/aws/json-bytes.js';
import { ENV } from '../../src/aws/lambda/env.js';
import type { SqsBatchResponse } from '../../src/aws/lambda/events.js';
import { ensureBucket, ensureQueuePair, ensureTable } from '../../src/aws/setup.js';
import { decodeList, unspill } from '../../src/engine/codec.js';
import { pointSdkAt, useCloudTier } from '../support/cloud.js';
import { captureJsonLines } from '../support/stdio.js';
import { deliverBatch, lambdaJson, queueArn } from './esm.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TABLE = 'fanfold-bundles';
const BUCKET = 'fanfold-bundles';

const cloud = await useCloudTier();
const { sqs, dynamo, s3 } = cloud.clients;
// What Lambda sets: the bundles' SDK clients find moto through the endpoint variable.
pointSdkAt(cloud.emulators);
let out: string;
let queueUrl: string;
let dlqUrl: string;

type Handler = ((event: unknown) => Promise<unknown>) & { close?: () => Promise<void> };

async function bundle(name: string): Promise<Handler> {
  const outfile = join(out, name, 'index.mjs');
  await build({
    entryPoints: [join(ROOT, 'functions', `${name}.ts`)],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outfile,
    logLevel: 'silent',
    mainFields: ['module', 'main'],
    alias: { '@fanfold/tasks': join(ROOT, 'test/fixtures/tasks.ts'), fanfold: join(ROOT, 'src/index.ts') },
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
  });
  return ((await import(pathToFileURL(outfile).href)) as { handler: Handler }).handler;
}

beforeAll(async () => {
  const [queues] = await Promise.all([
    ensureQueuePair(sqs, { name: `bundles-${randomUUID().slice(0, 8)}`, maxReceiveCount: 2 }),
    ensureTable(dynamo, TABLE),
    ensureBucket(s3, BUCKET),
  ]);
  ({ queueUrl, deadLetterQueueUrl: dlqUrl } = queues);
  // What the construct sets: the function's resources.
  Object.assign(process.env, {
    [ENV.table]: TABLE,
    [ENV.queueUrl]: queueUrl,
    [ENV.deadLetterQueueUrl]: dlqUrl,
    [ENV.bucket]: BUCKET,
    [ENV.threads]: '2',
    [ENV.maxReceiveCount]: '2',
    [ENV.leaseMs]: '30000',
    [ENV.workers]: '4',
  });
  out = mkdtempSync(join(tmpdir(), 'fanfold-functions-'));
});

afterAll(async () => {
  for (const url of [queueUrl, dlqUrl]) if (url) await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
  if (out) rmSync(out, { recursive: true, force: true });
});

describe('functions bundles', () => {
  it('run a mapReduce job: the coordinator fans out, the worker bundle serves its own threads', async () => {
    const [coordinator, worker] = await Promise.all([bundle('coordinator'), bundle('worker')]);
    try {
      const reply = lambdaJson(
        await coordinator(
          lambdaJson(
            toJsonSafe({
              v: 1,
              type: 'submit',
              jobId: 'bundled-1',
              kind: 'mapReduce',
              task: 'square',
              reducer: 'sum',
              input: { kind: 'range', start: 0, stop: 100, step: 1 },
              workers: 4,
              deadline: Date.now() + 600_000,
            }),
          ),
        ),
      );
      expect(reply).toMatchObject({ ok: true, response: { created: true, total: 15 } });
      const arn = await queueArn(sqs, queueUrl);
      for (;;) {
        const { records, response } = await deliverBatch(
          sqs,
          queueUrl,
          arn,
          worker as (e: unknown) => Promise<SqsBatchResponse>,
        );
        if (records.length === 0) break;
        expect(response.batchItemFailures).toEqual([]);
      }
      const backend = awsBackend({
        tableName: TABLE,
        queueUrl,
        deadLetterQueueUrl: dlqUrl,
        bucket: BUCKET,
        clients: { sqs, dynamo, s3 },
      });
      const job = await backend.store.getJob('bundled-1');
      expect(job?.status).toBe('DONE');
      expect(decodeList(await unspill(job!.result!, backend.blobs))[0]).toBe(328_350);
    } finally {
      await worker.close?.();
    }
  });

  it('the dead-letter bundle reports a malformed dead letter and drops it', async () => {
    const dlq = await bundle('dlq');
    const event = {
      Records: [
        {
          messageId: 'm-1',
          receiptHandle: 'r-1',
          body: 'not json',
          attributes: { ApproximateReceiveCount: '3' },
          eventSource: 'aws:sqs',
          eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:q-dlq',
        },
      ],
    };
    let response: unknown;
    const lines = await captureJsonLines(async () => {
      response = await dlq(event);
    });
    expect(response).toEqual({ batchItemFailures: [] });
    // Reported as one JSON line for CloudWatch Logs, by the bundled Powertools Logger.
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'ERROR',
        message: 'dead-letter error',
        service: 'fanfold',
        error: expect.objectContaining({ name: 'ProtocolError', code: 'ERR_FANFOLD_PROTOCOL' }),
      }),
    ]);
  });
});
