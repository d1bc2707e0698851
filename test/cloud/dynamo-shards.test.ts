/**
 * What DynamoJobStore's sharded recording does on the table, beyond the port contracts: where the
 * records and counters go, what one recording sends, the size (so the cost) of a chunk record, and
 * a recorder that dies between its transaction and its mark.
 */
import { randomUUID } from 'node:crypto';
import {
  type DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  type TransactWriteItemsCommandInput,
} from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { createDynamoClient } from '../../src/aws/clients.js';
import { DynamoJobStore, type DynamoJobStoreOptions } from '../../src/aws/dynamo-store.js';
import { expectedIn } from '../../src/aws/job-shards.js';
import { ensureTable } from '../../src/aws/setup.js';
import type { ChunkAttempt, Data, JobSpec } from '../../src/ports.js';
import { useCloudTier } from '../support/cloud.js';
import { itemSize } from '../support/dynamo-size.js';

const TABLE = 'fanfold-shards';
const cloud = await useCloudTier();
const { dynamo } = cloud.clients;
await ensureTable(dynamo, TABLE);

const small = { chunksPerShard: 11, maxShards: 4, openShards: 4 };
const data = (i: number): Data => ({ enc: 'v8', bytes: new Uint8Array([i & 0xff]) });
const spec = (total: number): JobSpec => ({
  id: `job-${randomUUID()}`,
  kind: 'map',
  task: 't',
  total,
  deadline: Date.now() + 60_000,
});

/** A client that records each command's name and input, and may fail one before it is sent. */
function watchedClient(failIf?: (name: string, input: Record<string, unknown>) => boolean) {
  const client = createDynamoClient(cloud.clientOptions);
  const sent: { name: string; input: Record<string, unknown> }[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const call = { name: context.commandName ?? '?', input: args.input as Record<string, unknown> };
      if (failIf?.(call.name, call.input)) throw new Error(`injected: ${call.name} lost`);
      sent.push(call);
      return next(args);
    },
    { step: 'initialize', name: 'watch' },
  );
  return { client, sent };
}

function store(client: DynamoDBClient, o: Partial<DynamoJobStoreOptions> = {}): DynamoJobStore {
  return new DynamoJobStore({ client, tableName: TABLE, ...o });
}

async function shardItems(jobId: string, k: number) {
  const out = await dynamo.send(
    new QueryCommand({
      TableName: TABLE,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': { S: `JOB#${jobId}#${k}` } },
      ConsistentRead: true,
    }),
  );
  return out.Items ?? [];
}

describe('DynamoJobStore sharded recording', () => {
  it("puts each chunk's record and count under its shard's partition key", async () => {
    const s = store(dynamo, { sharding: small });
    const job = spec(41);
    expect((await s.createJob(job)).job.shards).toBe(4);
    await s.completeChunks(
      job.id,
      Array.from({ length: 41 }, (_, i) => ({ index: i, result: data(i) })),
    );
    for (let k = 0; k < 4; k++) {
      const items = await shardItems(job.id, k);
      const counter = items.find((it) => it.sk?.S === 'COUNT');
      expect(Number(counter?.done?.N)).toBe(expectedIn(k, 41, 4));
      const chunks = items
        .filter((it) => it.sk?.S?.startsWith('CHUNK#'))
        .map((it) => Number(it.sk!.S!.slice(6)));
      expect(chunks).toEqual(
        Array.from({ length: 41 }, (_, i) => i).filter((i) => Math.floor(i / 10) % 4 === k),
      );
    }
  });

  it('records a group across two shards in one transaction: a put per chunk, one counter update per shard', async () => {
    const { client, sent } = watchedClient();
    const s = store(client, { sharding: small });
    const job = spec(41);
    await s.createJob(job);
    sent.length = 0;
    const { shards, deadline } = (await s.getJob(job.id))!;
    sent.length = 0;
    await s.completeChunks(
      job.id,
      [8, 9, 10, 11].map((i) => ({ index: i, result: data(i) })),
      { shards, deadline },
    );
    // No read before the write (the message carried the layout): transaction, read, nothing to mark.
    expect(sent.map((c) => c.name)).toEqual(['TransactWriteItemsCommand', 'BatchGetItemCommand']);
    const items = (sent[0]!.input as unknown as TransactWriteItemsCommandInput).TransactItems ?? [];
    expect(items.filter((a) => a.Put)).toHaveLength(4);
    expect(items.filter((a) => a.Update).map((a) => a.Update!.Key!.pk!.S)).toEqual([
      `JOB#${job.id}#0`,
      `JOB#${job.id}#1`,
    ]);
    expect(items.some((a) => a.Update?.Key?.sk?.S === 'JOB' || a.ConditionCheck)).toBe(false);
    client.destroy();
  });

  it('reads a job it has seen with one request: the job item and every counter', async () => {
    const { client, sent } = watchedClient();
    const s = store(client, { sharding: small });
    const job = spec(41);
    await store(dynamo, { sharding: small }).createJob(job);
    await s.getJob(job.id);
    expect(sent.map((c) => c.name)).toEqual(['GetItemCommand', 'BatchGetItemCommand']);
    sent.length = 0;
    expect(await s.getJob(job.id)).toMatchObject({ shards: 4, done: 0 });
    expect(sent.map((c) => c.name)).toEqual(['BatchGetItemCommand']);
    client.destroy();
  });

  it('keeps the record of 100 numbers with its attempt under 1 KB, so it costs the write units an unsharded record did', async () => {
    const s = store(dynamo);
    const job = spec(128_000);
    expect((await s.createJob(job)).job.shards).toBe(64);
    const result: Data = { enc: 'f64', bytes: new Uint8Array(new Float64Array(100).fill(Math.PI).buffer) };
    const attempt: ChunkAttempt = {
      worker: `worker-${randomUUID()}`,
      thread: 5,
      startedAt: Date.now(),
      ms: 1234.567891,
      attempt: 5,
      backup: true,
    };
    await s.completeChunks(job.id, [{ index: 127_999, result, attempt }]);
    const out = await dynamo.send(
      new GetItemCommand({
        TableName: TABLE,
        Key: { pk: { S: `JOB#${job.id}#63` }, sk: { S: 'CHUNK#0000127999' } },
      }),
    );
    expect(out.Item).toBeDefined();
    // 100 numbers are 800 bytes; keys, TTL and attempt take the rest (about 960 bytes in all).
    expect(itemSize(out.Item!)).toBeLessThanOrEqual(1024);
    expect((await s.readAttempts(job.id, [127_999])).get(127_999)).toEqual({ ...attempt, ms: 1234.568 });
  });

  it('lets a finaliser claim a job whose last recorder died between its transaction and its mark', async () => {
    const lose = (name: string, input: Record<string, unknown>) =>
      name === 'UpdateItemCommand' && String(input.UpdateExpression).includes('#doneShards');
    const dying = watchedClient(lose);
    const job = spec(12);
    await store(dynamo, { sharding: small }).createJob(job);
    const all = Array.from({ length: 12 }, (_, i) => ({ index: i, result: data(i) }));
    await expect(store(dying.client, { sharding: small }).completeChunks(job.id, all)).rejects.toThrow(
      /injected/,
    );
    dying.client.destroy();
    const other = store(dynamo, { sharding: small });
    expect(await other.getJob(job.id)).toMatchObject({ done: 12, status: 'RUNNING' });
    // The redelivery of the group is all duplicates, but checks (and marks) its shards again.
    expect((await other.completeChunks(job.id, all.slice(0, 1)))[0]).toMatchObject({
      first: false,
      complete: false,
    });
    expect((await other.completeChunks(job.id, all.slice(11)))[0]).toMatchObject({
      first: false,
      complete: true,
    });
    const job2 = spec(12);
    await other.createJob(job2);
    const dying2 = watchedClient(lose);
    await expect(store(dying2.client, { sharding: small }).completeChunks(job2.id, all)).rejects.toThrow(
      /injected/,
    );
    dying2.client.destroy();
    // Without a redelivery: the claim itself finds the shards full, marks them and claims.
    expect((await other.claimFinaliser(job2.id, 'a', 10_000)).claimed).toBe(true);
  });
});
