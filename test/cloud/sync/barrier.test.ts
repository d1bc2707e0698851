/**
 * Barrier on DynamoDB (moto), beyond the primitives contract (test/contract/primitives, run on moto
 * by test/cloud/primitives.test.ts): 40 parties (every write stays one size), arrivals and releases
 * retried by the SDK after a lost answer, two resets in a row, malformed handles. Each party is the
 * handle revived with its own environment, and arrivals are awaited through the request counter
 * (never by sleeping).
 */
import { describe, expect, it } from 'vitest';
import type { Barrier, BarrierOptions } from '../../../src/api/synchronize.js';
import { barrier } from '../../../src/aws/sync/barrier.js';
import type { AwsSyncEnv } from '../../../src/aws/sync/env.js';
import { BrokenBarrierError, ErrorCodes } from '../../../src/errors.js';
import { SHARE, type SyncHandle } from '../../../src/handles.js';
import { useSyncEnv } from '../sync-env.js';
import { countingEnv } from './measure.js';
import { retryingEnvs } from './retried-writes.js';

const cloud = await useSyncEnv();
const lossy = retryingEnvs(cloud);

function make(parties: number, options?: BarrierOptions, env: AwsSyncEnv = cloud.env()): Barrier {
  const b = barrier.make(env).Barrier?.(parties, options);
  if (!b) throw new Error('barrier.make gave no Barrier');
  return b;
}

/** The same barrier as another party sees it. */
function other(b: Barrier, env: AwsSyncEnv = cloud.env()): Barrier {
  return barrier.revive.Barrier?.(b[SHARE](), env) as Barrier;
}

/** Starts `b.wait()` as a new party and resolves once its arrival was recorded (its first request answered). */
async function arrive(b: Barrier, timeoutMs?: number): Promise<{ done: Promise<number> }> {
  const counted = countingEnv(cloud.env());
  const done = other(b, counted.env).wait(timeoutMs);
  done.catch(() => undefined); // observed by the test later
  await counted.answered(1);
  return { done };
}

describe('Barrier', () => {
  describe('wait()', () => {
    it('releases 40 parties (every write stays the same size), twice', async () => {
      const b = make(40);
      const parties = [b, ...Array.from({ length: 39 }, () => other(b))];
      for (let round = 0; round < 2; round++) {
        const got = await Promise.all(parties.map((p) => p.wait()));
        expect([...got].sort((m, n) => m - n)).toEqual(Array.from({ length: 40 }, (_, i) => i));
      }
    });
  });

  describe('wait() when the SDK retries a write whose answer was lost', () => {
    it('counts a retried arrival once', async () => {
      const b = make(3);
      const l = lossy();
      l.loseAnswer('UpdateItem');
      const first = other(b, l.env).wait();
      await expect.poll(() => b.nWaiting()).toBe(1);
      expect(l.lost()).toBe(1);
      const second = await arrive(b);
      expect(await b.nWaiting()).toBe(2);
      const last = await b.wait();
      expect([await first, await second.done, last].sort()).toEqual([0, 1, 2]);
    });

    it('releases once when the releasing write is retried', async () => {
      const b = make(2);
      const l = lossy();
      const first = await arrive(b);
      // The last arrival's first write is refused (it learns the count); lose the release's answer.
      l.loseAnswer('UpdateItem', (body) => body.includes(':next'));
      expect(await other(b, l.env).wait()).toBe(1);
      expect(l.lost()).toBe(1);
      expect(await first.done).toBe(0);
      expect(await b.nWaiting()).toBe(0);
      const again = await Promise.all([b.wait(), other(b).wait()]);
      expect(again.sort()).toEqual([0, 1]);
    });
  });

  describe('reset()', () => {
    it('twice in a row still breaks the waiters of before', async () => {
      const b = make(2);
      const w = await arrive(b);
      await b.reset();
      await b.reset();
      await expect(w.done).rejects.toBeInstanceOf(BrokenBarrierError);
    });
  });

  describe('revive', () => {
    const id = crypto.randomUUID();
    it.each([
      ['a non-UUID id', { id: 'x', parties: 2 }],
      ['missing parties', { id }],
      ['parties 0', { id, parties: 0 }],
      ['fractional parties', { id, parties: 2.5 }],
      ['a negative timeout', { id, parties: 2, timeoutMs: -5 }],
      ['a string timeout', { id, parties: 2, timeoutMs: '5' }],
    ])('rejects %s', (_, data) => {
      const handle: SyncHandle = { $fanfold: 'handle', ctx: 'aws', kind: 'Barrier', data };
      expect(() => barrier.revive.Barrier?.(handle, cloud.env())).toThrow(
        expect.objectContaining({ code: ErrorCodes.PROTOCOL }),
      );
    });
  });
});
