/**
 * The sweeper of abandoned queues on moto: it deletes a queue whose creator stopped renewing it,
 * one with no registry item once old, and one left by a close that died, and keeps live ones.
 */
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import type { Queue } from '../../../src/api/queues.js';
import { ENV } from '../../../src/aws/lambda/env.js';
import { createSweeperHandler } from '../../../src/aws/lambda/sweeper.js';
import type { AwsSyncEnv } from '../../../src/aws/sync/env.js';
import { queues } from '../../../src/aws/sync/queues.js';
import { sweepQueues } from '../../../src/aws/sync/sweep.js';
import { ClosedError, InvalidArgumentError } from '../../../src/errors.js';
import { SHARE, type SyncHandle } from '../../../src/handles.js';
import { useSyncEnv } from '../sync-env.js';

const cloud = await useSyncEnv();

function queue(env: AwsSyncEnv): Queue {
  return (queues.make(env).Queue as () => Queue)();
}

const dataOf = (q: Queue) => q[SHARE]().data as { id: string; name: string };

/** Sets a field of the registry item of `q`, as a creator long gone (or a dead close) left it. */
async function setField(env: AwsSyncEnv, q: Queue, field: 'lastSeen' | 'closedAt', value: number) {
  await cloud.clients().dynamo.send(
    new UpdateItemCommand({
      TableName: env.table,
      Key: { pk: { S: `SYNC#${dataOf(q).id}` }, sk: { S: 'SYNC' } },
      UpdateExpression: `SET ${field} = :v`,
      ExpressionAttributeValues: { ':v': { N: String(value) } },
    }),
  );
}

async function exists(name: string): Promise<boolean> {
  try {
    await cloud.clients().sqs.send(new GetQueueUrlCommand({ QueueName: name }));
    return true;
  } catch {
    return false;
  }
}

describe('sweepQueues()', () => {
  it('deletes a queue whose creator stopped renewing it and keeps a live one', async () => {
    const env = cloud.env();
    const live = queue(env);
    const abandoned = queue(env);
    await live.put(1);
    await abandoned.put(1);
    await setField(env, abandoned, 'lastSeen', Date.now() - 3 * 3600_000);
    const report = await sweepQueues(env);
    expect(report.deleted).toEqual([{ name: dataOf(abandoned).name, reason: 'stale' }]);
    expect(report.kept).toEqual([dataOf(live).name]);
    expect(await exists(dataOf(abandoned).name)).toBe(false);
    expect(await live.get()).toBe(1);
    await live.close();
  });

  it('leaves a tombstone, so a party still using a swept queue gets ClosedError', async () => {
    const env = cloud.env();
    const q = queue(env);
    await q.put(1);
    const h = structuredClone(q[SHARE]()) as SyncHandle;
    await setField(env, q, 'lastSeen', Date.now() - 3 * 3600_000);
    await sweepQueues(env);
    const party = (queues.revive.Queue as (h: SyncHandle, e: AwsSyncEnv) => Queue)(h, { ...env });
    await expect(party.put(2)).rejects.toBeInstanceOf(ClosedError);
    await expect(party.get({ block: false })).rejects.toBeInstanceOf(ClosedError);
  });

  it('deletes a queue with no registry item once it is an hour old, not before', async () => {
    const env = cloud.env();
    const name = `${env.queuePrefix}q${'0'.repeat(32)}.fifo`;
    await cloud
      .clients()
      .sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { FifoQueue: 'true' } }));
    expect((await sweepQueues(env)).kept).toEqual([name]);
    const later = await sweepQueues(env, { now: Date.now() + 2 * 3600_000 });
    expect(later.deleted).toEqual([{ name, reason: 'orphan' }]);
  });

  it('finishes a close that died between its tombstone and deleting the queue', async () => {
    const env = cloud.env();
    const q = queue(env);
    await q.put(1);
    await setField(env, q, 'closedAt', Date.now());
    await expect(q.put(2)).rejects.toBeInstanceOf(ClosedError);
    expect((await sweepQueues(env)).deleted).toEqual([{ name: dataOf(q).name, reason: 'closed' }]);
  });

  it('leaves alone names under the prefix that fanfold did not make', async () => {
    const env = cloud.env();
    const name = `${env.queuePrefix}someone-else`;
    await cloud.clients().sqs.send(new CreateQueueCommand({ QueueName: name }));
    const report = await sweepQueues(env, { now: Date.now() + 24 * 3600_000 });
    expect(report).toEqual({ deleted: [], kept: [] });
    expect(await exists(name)).toBe(true);
  });
});

describe('createSweeperHandler()', () => {
  it('reads the table, prefix and threshold from the environment and sweeps', async () => {
    const env = cloud.env();
    const abandoned = queue(env);
    await abandoned.put(1);
    await setField(env, abandoned, 'lastSeen', Date.now() - 2 * 60_000);
    const reports: unknown[] = [];
    const handler = createSweeperHandler({
      env: { [ENV.table]: env.table, [ENV.queuePrefix]: env.queuePrefix, [ENV.queueStaleMs]: '60000' },
      clients: cloud.clients(),
      onReport: (r) => reports.push(r),
    });
    const report = await handler({});
    expect(report.deleted).toEqual([{ name: dataOf(abandoned).name, reason: 'stale' }]);
    expect(reports).toEqual([report]);
  });

  it('names every missing or malformed variable', async () => {
    const handler = createSweeperHandler({ env: { [ENV.queueStaleMs]: '5' }, clients: cloud.clients() });
    const error = handler({});
    await expect(error).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(error).rejects.toThrow(/FANFOLD_TABLE.*FANFOLD_QUEUE_PREFIX.*FANFOLD_QUEUE_STALE_MS/);
  });
});
