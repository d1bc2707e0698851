/**
 * `lines()` on the AWS adapters over moto: the S3 reader's sizes and byte ranges, and whole jobs
 * (coordinator, host, job store, queues on moto) over the lines of an S3 object, exact and in order.
 */
import { randomUUID } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { DeleteQueueCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsBackend } from '../../src/aws/backend.js';
import { S3ObjectReader } from '../../src/aws/s3-reader.js';
import { ensureBucket, ensureQueuePair, ensureTable } from '../../src/aws/setup.js';
import { JobClient } from '../../src/engine/client.js';
import { Coordinator } from '../../src/engine/coordinator.js';
import { Host } from '../../src/engine/host.js';
import { lines } from '../../src/engine/lines.js';
import { InvalidArgumentError, ProtocolError, TaskError } from '../../src/errors.js';
import { InlineExecutor } from '../engine/harness.js';
import linesTasks from '../fixtures/lines-tasks.js';
import { useCloudTier } from '../support/cloud.js';

const TABLE = 'fanfold-lines';
const BLOBS = 'fanfold-lines-blobs';
/** The user's own bucket, not the blob store's. */
const DATA = 'users-data-bucket';

const { sqs, dynamo, s3 } = (await useCloudTier()).clients;
await Promise.all([ensureTable(dynamo, TABLE), ensureBucket(s3, BLOBS), ensureBucket(s3, DATA)]);

async function put(key: string, text: string): Promise<{ bucket: string; key: string }> {
  await s3.send(new PutObjectCommand({ Bucket: DATA, Key: key, Body: Buffer.from(text) }));
  return { bucket: DATA, key };
}

function split(text: string): string[] {
  const out = text.split(/\r?\n/);
  if (out[out.length - 1] === '') out.pop();
  return out;
}

describe('S3ObjectReader', () => {
  it('reads the size and exact byte ranges of an object', async () => {
    const src = await put('reader/digits.txt', '0123456789€');
    const r = new S3ObjectReader({ client: s3 });
    expect(await r.size(src)).toBe(13);
    expect(Buffer.from(await r.read(src, 0, 1)).toString()).toBe('0');
    expect(Buffer.from(await r.read(src, 3, 8)).toString()).toBe('34567');
    expect(Buffer.from(await r.read(src, 10, 13)).toString()).toBe('€');
    expect((await r.read(src, 5, 5)).length).toBe(0);
  });

  it('a missing object, a range past its end and a file source are refused', async () => {
    const r = new S3ObjectReader({ client: s3 });
    const missing = { bucket: DATA, key: 'reader/none.txt' };
    await expect(r.size(missing)).rejects.toBeInstanceOf(ProtocolError);
    await expect(r.read(missing, 0, 4)).rejects.toBeInstanceOf(ProtocolError);
    const src = await put('reader/short.txt', 'abc');
    await expect(r.read(src, 1, 10)).rejects.toBeInstanceOf(ProtocolError);
    await expect(r.size({ path: '/etc/hostname' })).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

describe('jobs over the lines of an S3 object', () => {
  let queueUrl: string;
  let dlqUrl: string;
  let client: JobClient;
  let host: Host;
  const errors: unknown[] = [];

  beforeAll(async () => {
    const pair = await ensureQueuePair(sqs, {
      name: `lines-${randomUUID().slice(0, 8)}`,
      visibilityTimeoutSeconds: 30,
      maxReceiveCount: 3,
    });
    queueUrl = pair.queueUrl;
    dlqUrl = pair.deadLetterQueueUrl;
    const backend = awsBackend({
      tableName: TABLE,
      queueUrl,
      deadLetterQueueUrl: dlqUrl,
      bucket: BLOBS,
      clients: { sqs, dynamo, s3 },
    });
    const coordinator = new Coordinator(backend);
    client = new JobClient({
      coordinator: (req) => coordinator.handle(req),
      store: backend.store,
      blobs: backend.blobs,
      processes: 2,
      jobTimeoutMs: 60_000,
      window: 8,
    });
    host = new Host({
      backend,
      executor: new InlineExecutor(linesTasks.tasks),
      visibilityMs: 30_000,
      leaseMs: 5_000,
      waitMs: 100,
      onError: (e) => errors.push(e),
    });
    host.start();
  });

  afterAll(async () => {
    await host?.stop();
    for (const url of [queueUrl, dlqUrl]) if (url) await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
  });

  it('map and mapReduce give exact results in order', async () => {
    const parts: string[] = [];
    for (let i = 0; i < 3000; i++)
      parts.push(`${i}:${'z'.repeat(i % 41)}${i % 7 ? '' : '€'}`, i % 4 ? '\n' : '\r\n');
    parts.push('y'.repeat(20_000), '\nend');
    const text = parts.join('');
    const src = await put('jobs/big.txt', text);
    const want = split(text);
    const got = await client.map('map', 'echo', lines(src, { chunkBytes: 8192 }));
    expect(got).toEqual(want);
    const total = await client.mapReduce('length', lines(src, { chunkBytes: 16_384 }), 'add', undefined);
    expect(total).toBe(want.reduce((n, l) => n + l.length, 0));
    expect(errors).toEqual([]);
  }, 120_000);

  it('an empty object has no lines; a task error names the line in its range', async () => {
    expect(await client.map('map', 'echo', lines(await put('jobs/empty.txt', '')))).toEqual([]);
    // "boom" starts at byte 2: the second line of range [0, 4).
    const src = await put('jobs/boom.txt', 'a\nboom\nc\n');
    const err = await client.map('map', 'boomOn', lines(src, { chunkBytes: 4 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskError);
    expect((err as TaskError).message).toContain(`line 1 of byte range [0, 4) of s3://${DATA}/jobs/boom.txt`);
  }, 60_000);
});
