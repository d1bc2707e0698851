/**
 * Condition on DynamoDB (moto), beyond the primitives contract (test/contract/primitives, run on
 * moto by test/cloud/primitives.test.ts): which waiters a notify wakes and what it leaves in the
 * condition's item (no entry behind, the oldest first), a notify landing as a waiter times out, a
 * dead waiter, a deregistration retried by the SDK, malformed handles. Every party is the handle
 * revived with its own environment (so its own RLock identity); a waiter is known to be registered
 * once its first three requests (take the lock, register, release) were answered, and a party is
 * put between two steps by holding back one of its requests, never by sleeping.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import type { Condition, Lock, RLock } from '../../../src/api/synchronize.js';
import { condition } from '../../../src/aws/sync/condition.js';
import type { AwsSyncEnv } from '../../../src/aws/sync/env.js';
import { ErrorCodes } from '../../../src/errors.js';
import { SHARE, type SyncHandle } from '../../../src/handles.js';
import { useSyncEnv } from '../sync-env.js';
import { type CountingEnv, countingEnv } from './measure.js';
import { retryingEnvs } from './retried-writes.js';

const cloud = await useSyncEnv();
const lossy = retryingEnvs(cloud);

function make(lock?: Lock | RLock, env: AwsSyncEnv = cloud.env()): Condition {
  const c = condition.make(env).Condition?.(lock);
  if (!c) throw new Error('condition.make gave no Condition');
  return c;
}

/** The same condition as another party sees it. */
function other(c: Condition, env: AwsSyncEnv = cloud.env()): Condition {
  return condition.revive.Condition?.(c[SHARE](), env) as Condition;
}

/** A party that takes the lock and waits; resolves once it is registered and has released the lock. */
async function waiter(
  c: Condition,
  timeoutMs?: number,
): Promise<{ result: Promise<boolean>; counted: CountingEnv }> {
  const counted = countingEnv(cloud.env());
  const mine = other(c, counted.env);
  const result = (async () => {
    await mine.acquire();
    try {
      return await mine.wait(timeoutMs);
    } finally {
      await mine.release();
    }
  })();
  result.catch(() => undefined); // observed by the test later
  await counted.answered(3);
  return { result, counted };
}

/** Takes `c`'s lock as a party of its own and runs `fn` on it. */
async function asNotifier(c: Condition, fn: (c: Condition) => Promise<void>): Promise<void> {
  const mine = other(c);
  await mine.withLock(() => fn(mine));
}

/** How many waiters (or, with `prefix`, other attributes) `c`'s item lists. */
async function registered(c: Condition, prefix = 'w_'): Promise<number> {
  const out = await cloud.clients().dynamo.send(
    new GetItemCommand({
      TableName: cloud.env().table,
      Key: { pk: { S: `SYNC#${c[SHARE]().data.id}` }, sk: { S: 'SYNC' } },
      ConsistentRead: true,
    }),
  );
  return Object.keys(out.Item ?? {}).filter((k) => k.startsWith(prefix)).length;
}

describe('Condition', () => {
  describe('notify()', () => {
    it('wakes exactly one of several waiters', async () => {
      const c = make();
      const waiters = [await waiter(c), await waiter(c), await waiter(c)];
      await asNotifier(c, (n) => n.notify());
      const first = await Promise.race(waiters.map((w) => w.result));
      expect(first).toBe(true);
      expect(await registered(c)).toBe(2);
      await asNotifier(c, (n) => n.notifyAll());
      expect(await Promise.all(waiters.map((w) => w.result))).toEqual([true, true, true]);
    });

    it('wakes the oldest waiter first', async () => {
      const c = make();
      const oldest = await waiter(c);
      const younger = await waiter(c);
      await asNotifier(c, (n) => n.notify(1));
      expect(await oldest.result).toBe(true);
      expect(await registered(c)).toBe(1);
      await asNotifier(c, (n) => n.notify(1));
      expect(await younger.result).toBe(true);
    });

    it('does nothing when nobody waits', async () => {
      const c = make();
      await c.acquire();
      await c.notify(3);
      await c.release();
      expect(await registered(c)).toBe(0);
    });
  });

  describe('notifyAll()', () => {
    it('wakes every waiter', async () => {
      const c = make();
      const waiters = [await waiter(c), await waiter(c), await waiter(c)];
      await asNotifier(c, (n) => n.notifyAll());
      expect(await Promise.all(waiters.map((w) => w.result))).toEqual([true, true, true]);
      expect(await registered(c)).toBe(0);
    });
  });

  describe('wait()', () => {
    it('resolves false when the timeout runs out and leaves no entry behind', async () => {
      const c = make();
      await c.acquire();
      expect(await c.wait(100)).toBe(false);
      await c.release();
      expect(await registered(c)).toBe(0);
    });

    it('resolves false when its timed-out deregistration is retried by the SDK (answer lost)', async () => {
      const c = make();
      const l = lossy();
      const mine = other(c, l.env);
      l.loseAnswer('UpdateItem', (body) => body.includes('"#d_'));
      expect(await mine.withLock(() => mine.wait(50))).toBe(false);
      expect(l.lost()).toBe(1);
      expect(await registered(c)).toBe(0);
      expect(await registered(c, 'd_')).toBe(0); // its tombstone was dropped
    });

    it('counts a notify that lands as it times out (the notification is not lost)', async () => {
      const c = make();
      // Requests of the waiter: take, register, release, one poll read, then (timeout 0) deregister.
      const counted = countingEnv(cloud.env());
      const gate = counted.hold(5);
      const mine = other(c, counted.env);
      const result = mine.withLock(() => mine.wait(0));
      await gate.reached; // timed out; its entry is still there
      const younger = await waiter(c);
      await asNotifier(c, (n) => n.notify(1)); // chooses the timed-out waiter: it is older
      gate.open();
      expect(await result).toBe(true);
      expect(await registered(c)).toBe(1); // the younger one was not woken in its place
      await asNotifier(c, (n) => n.notify(1));
      expect(await younger.result).toBe(true);
    });

    it('is not absorbed by a waiter that died (its heartbeat stopped)', async () => {
      const short = { leaseMs: cloud.scaled(300) };
      const c = make(undefined, cloud.env(short));
      // The dead waiter: its first poll read (request 4) never leaves, so it never beats again.
      const deadEnv = countingEnv(cloud.env(short));
      deadEnv.hold(4);
      const dead = other(c, deadEnv.env);
      void dead.acquire().then(() => dead.wait());
      await deadEnv.answered(3);
      const liveEnv = countingEnv(cloud.env(short));
      const live = other(c, liveEnv.env);
      const woke = live.withLock(() => live.wait());
      await liveEnv.answered(3);
      await sleep(2 * short.leaseMs); // the dead waiter's heartbeat goes stale (the crash, not a sync)
      const notifier = other(c, cloud.env(short));
      await notifier.withLock(() => notifier.notify(1));
      expect(await woke).toBe(true);
      expect(await registered(c)).toBe(0); // the dead entry was dropped on the way
    });
  });

  describe('revive', () => {
    const id = crypto.randomUUID();
    const lock = (kind: string, ctx = 'aws') => ({
      $fanfold: 'handle',
      ctx,
      kind,
      data: { id: crypto.randomUUID() },
    });
    it.each([
      ['a non-UUID id', { id: 'x', lock: lock('RLock') }],
      ['a missing lock', { id }],
      ['a lock that is no handle', { id, lock: { id } }],
      ['a Semaphore as lock', { id, lock: lock('Semaphore') }],
      ['a local lock', { id, lock: lock('RLock', 'local') }],
      [
        'a lock with a bad id',
        { id, lock: { $fanfold: 'handle', ctx: 'aws', kind: 'Lock', data: { id: 'x' } } },
      ],
    ])('rejects %s', (_, data) => {
      const handle: SyncHandle = { $fanfold: 'handle', ctx: 'aws', kind: 'Condition', data };
      expect(() => condition.revive.Condition?.(handle, cloud.env())).toThrow(
        expect.objectContaining({ code: ErrorCodes.PROTOCOL }),
      );
    });
  });
});
