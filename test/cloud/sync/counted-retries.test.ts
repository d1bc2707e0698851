/**
 * The counted writes of the AWS primitives under the SDK's retries: `Value.add`, `Array.add` (with
 * and without the lock), the queues' counters (a put's slot, a get's release of it,
 * JoinableQueue's unfinished count) and a managed dict's `increment`. A write reaches moto, its answer is lost (a retryable 500
 * under the SDK's retry middleware), and the SDK sends it again: each write must count once.
 */
import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import type { JoinableQueue, Queue } from '../../../src/api/queues.js';
import type { SharedArray, Value } from '../../../src/api/sharedctypes.js';
import { awsPrimitives, awsReviver } from '../../../src/aws/sync/index.js';
import { syncKey } from '../../../src/aws/sync/items.js';
import { RETAIN_MS } from '../../../src/aws/sync/write-records.js';
import { SHARE } from '../../../src/handles.js';
import { useSyncEnv } from '../sync-env.js';
import { retryingEnvs } from './retried-writes.js';

const cloud = await useSyncEnv();
const lossy = retryingEnvs(cloud);

/** Whether an UpdateItem body is a write of the counter `#c` (a queue's) with `delta`. */
const countWrite = (delta: ':one' | ':minus') => (body: string) =>
  body.includes('ADD #c') && body.includes(`"${delta}"`);

describe('Value', () => {
  describe('add() when the SDK retries a write whose answer was lost', () => {
    it('adds once without the lock, and resolves its own result', async () => {
      const l = lossy();
      const v = awsPrimitives(l.env).Value('i', 5, { lock: false });
      l.loseAnswer('UpdateItem');
      expect(await v.add(1)).toBe(6);
      expect(l.lost()).toBe(1);
      expect(await v.get()).toBe(6);
    });

    it('adds once holding the lock (a fenced write)', async () => {
      const l = lossy();
      const v = awsPrimitives(l.env).Value('i', 5);
      const got = await v.withLock(async () => {
        l.loseAnswer('TransactWriteItems');
        return v.add(1);
      });
      expect(l.lost()).toBe(1);
      expect(got).toBe(6);
      expect(await v.get()).toBe(6);
    });
  });
});

describe('Array', () => {
  describe('add() when the SDK retries a write whose answer was lost', () => {
    it('adds once without the lock, and resolves its own result', async () => {
      const l = lossy();
      const a: SharedArray<'i'> = awsPrimitives(l.env).Array('i', [1, 2, 3], { lock: false });
      await a.set(0, 1);
      l.loseAnswer('UpdateItem');
      expect(await a.add(1, 10)).toBe(12);
      expect(l.lost()).toBe(1);
      expect(await a.slice()).toEqual([1, 12, 3]);
    });

    it('adds once holding the lock (a fenced write)', async () => {
      const l = lossy();
      const a: SharedArray<'i'> = awsPrimitives(l.env).Array('i', [1, 2, 3]);
      await a.set(0, 1);
      const got = await a.withLock(async () => {
        l.loseAnswer('TransactWriteItems');
        return a.add(1, 10);
      });
      expect(l.lost()).toBe(1);
      expect(got).toBe(12);
      expect(await a.slice()).toEqual([1, 12, 3]);
    });
  });
});

describe('Queue', () => {
  describe('when the SDK retries a counter write whose answer was lost', () => {
    it('put takes one slot: a bounded queue is not full after one item, and qsize counts one', async () => {
      const l = lossy();
      await using q: Queue<string> = awsPrimitives(l.env).Queue<string>(2);
      expect(await q.qsize()).toBe(0);
      l.loseAnswer('UpdateItem', countWrite(':one'));
      await q.putNowait('a');
      expect(l.lost()).toBe(1);
      expect(await q.qsize()).toBe(1);
      await q.putNowait('b');
      expect(await q.qsize()).toBe(2);
      expect([await q.get(), await q.get()]).toEqual(['a', 'b']);
      expect(await q.qsize()).toBe(0);
    });

    it("put takes the last slot once: the retry of the write that took it is not refused as 'full'", async () => {
      const l = lossy();
      await using q: Queue<string> = awsPrimitives(l.env).Queue<string>(1);
      expect(await q.qsize()).toBe(0);
      l.loseAnswer('UpdateItem', countWrite(':one'));
      await q.putNowait('only');
      expect(l.lost()).toBe(1);
      expect(await q.full()).toBe(true);
      expect(await q.get()).toBe('only');
      expect(await q.full()).toBe(false);
    });

    it('get gives its slot back once', async () => {
      const l = lossy();
      await using q: Queue<string> = awsPrimitives(l.env).Queue<string>();
      await q.put('a');
      await q.put('b');
      l.loseAnswer('UpdateItem', countWrite(':minus'));
      expect(await q.get()).toBe('a');
      expect(l.lost()).toBe(1);
      expect(await q.qsize()).toBe(1);
    });
  });
});

describe('JoinableQueue', () => {
  describe('taskDone() when the SDK retries the write whose answer was lost', () => {
    it('marks one task done: join still waits for the other', async () => {
      const l = lossy();
      await using q: JoinableQueue<number> = awsPrimitives(l.env).JoinableQueue<number>();
      await q.put(1);
      await q.put(2);
      await q.get();
      l.loseAnswer('UpdateItem', (body) => body.includes('unfinished > :zero'));
      await q.taskDone();
      expect(l.lost()).toBe(1);
      expect(await q.join(cloud.scaled(200))).toBe(false);
      await q.get();
      await q.taskDone();
      expect(await q.join(cloud.scaled(10_000))).toBe(true);
    });

    it('marks the last task done without OverReleaseError', async () => {
      const l = lossy();
      await using q: JoinableQueue<number> = awsPrimitives(l.env).JoinableQueue<number>();
      await q.put(1);
      await q.get();
      l.loseAnswer('UpdateItem', (body) => body.includes('unfinished > :zero'));
      await q.taskDone();
      expect(l.lost()).toBe(1);
      expect(await q.join(cloud.scaled(10_000))).toBe(true);
    });
  });
});

describe('Manager', () => {
  describe('dict increment() when the SDK retries the write whose answer was lost', () => {
    it('adds once, and resolves its own result', async () => {
      const l = lossy();
      await using m = awsPrimitives(l.env).Manager();
      const d = m.dict<number>({ hits: 5 });
      expect(await d.get('hits')).toBe(5);
      l.loseAnswer('UpdateItem', (body) => body.includes('ADD #n :d'));
      expect(await d.increment('hits')).toBe(6);
      expect(l.lost()).toBe(1);
      expect(await d.get('hits')).toBe(6);
    });

    it('adds once to a value DynamoDB cannot hold as a number (a compare-and-set)', async () => {
      const l = lossy();
      await using m = awsPrimitives(l.env).Manager();
      const d = m.dict<number>({ big: 1e21 });
      expect(await d.get('big')).toBe(1e21);
      l.loseAnswer('PutItem', (body) => body.includes('#v = :old'));
      expect(await d.increment('big', 1e21)).toBe(2e21);
      expect(l.lost()).toBe(1);
      expect(await d.get('big')).toBe(2e21);
    });
  });
});

describe('the records of counted writes', () => {
  const table = cloud.env().table;
  const { dynamo } = cloud.clients();
  /** The names of the records in the item of primitive `id`. */
  async function records(id: string): Promise<string[]> {
    const out = await dynamo.send(
      new GetItemCommand({ TableName: table, Key: syncKey(id), ConsistentRead: true }),
    );
    return Object.keys(out.Item ?? {}).filter((k) => /^o[0-9a-z]{17}$/.test(k));
  }

  it('stay one per party however many adds it made', async () => {
    const mp = awsPrimitives(cloud.env());
    const v = mp.Value('i', 0, { lock: false });
    const id = v[SHARE]().data.id as string;
    for (let i = 0; i < 12; i++) await v.add(1);
    expect(await records(id)).toHaveLength(1);
    const again = awsReviver(cloud.env())(v[SHARE]()) as Value<'i'>;
    await Promise.all(Array.from({ length: 6 }, () => again.add(1)));
    await again.add(1);
    expect(await records(id)).toHaveLength(2);
    expect(await v.get()).toBe(19);
  });

  it('are removed once older than the retention, when left by a party that is gone', async () => {
    const v = awsPrimitives(cloud.env()).Value('i', 0, { lock: false });
    const id = v[SHARE]().data.id as string;
    await v.add(1);
    // A record left by a party long gone: named after a time older than the retention.
    const old = `o${(Date.now() - RETAIN_MS - 60_000).toString(36).padStart(9, '0')}0badc0de`;
    await dynamo.send(
      new UpdateItemCommand({
        TableName: table,
        Key: syncKey(id),
        UpdateExpression: 'SET #o = :one',
        ExpressionAttributeNames: { '#o': old },
        ExpressionAttributeValues: { ':one': { N: '1' } },
      }),
    );
    expect(await records(id)).toContain(old);
    // A new party's first add sees the whole item, and its next write removes what it found stale.
    const party = awsReviver(cloud.env())(v[SHARE]()) as Value<'i'>;
    await party.add(1);
    await party.add(1);
    expect(await records(id)).not.toContain(old);
    expect(await v.get()).toBe(3);
  });
});
