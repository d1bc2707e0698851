/**
 * Condition on the local context, beyond the primitives contract (test/contract/primitives, run here
 * by test/local/primitives.test.ts): how many of several waiting threads a notify wakes, read from
 * the condition's arena words (no timeout decides it), notifications against timeouts, and malformed
 * handles.
 */
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../../src/errors.js';
import { SHARE } from '../../../src/handles.js';
import { arena } from '../../../src/local/sync/arena.js';
import { mp, revivers, useParties } from './fixtures/parties.js';

const party = useParties();

/** Starts `n` threads waiting on `c` (each holding it first); resolves once all are registered. */
async function waiters(c: ReturnType<typeof mp.Condition>, n: number, timeoutMs?: number) {
  const running = Array.from({ length: n }, () => party([c]).start({ op: 'wait', t: 0, timeoutMs }));
  await Promise.all(running.map((r) => r.progress));
  return running.map((r) => r.done);
}

/** The condition's waiters not yet notified, and notifications not yet taken (its STATE word). */
function counts(c: ReturnType<typeof mp.Condition>): { waiters: number; signals: number } {
  const [state = 0] = arena().i32(c[SHARE]().data.at as number, 1);
  return { waiters: state & 0xffff, signals: state >>> 16 };
}

/** Resolves once `k` of `results` have settled, with their values. */
function firstSettled<T>(results: readonly Promise<T>[], k: number): Promise<T[]> {
  const got: T[] = [];
  return new Promise((resolve, reject) => {
    for (const r of results)
      r.then((v) => {
        got.push(v);
        if (got.length === k) resolve([...got]);
      }, reject);
  });
}

describe('Condition', () => {
  describe('notify()', () => {
    it.each([1, 2])('notify(%i) wakes exactly that many of three waiting threads', async (n) => {
      const c = mp.Condition(n === 1 ? mp.RLock() : mp.Lock());
      const done = await waiters(c, 3);
      await c.withLock(() => c.notify(n));
      expect(await firstSettled(done, n)).toEqual(Array(n).fill(true));
      // The woken took their notifications; the others still wait, with none left for them.
      expect(counts(c)).toEqual({ waiters: 3 - n, signals: 0 });
      await c.withLock(() => c.notifyAll());
      expect(await Promise.all(done)).toEqual([true, true, true]);
    });

    it('a waiter that timed out does not swallow a later notification', async () => {
      const c = mp.Condition();
      const [short] = await waiters(c, 1, 5);
      const [long] = await waiters(c, 1);
      expect(await short).toBe(false);
      await c.withLock(() => c.notify(1));
      expect(await long).toBe(true);
    });

    it('a notify given before a thread waits is not for that thread', async () => {
      const c = mp.Condition();
      const [first] = await waiters(c, 1, 1500);
      await c.withLock(() => c.notify(1));
      const [late] = await waiters(c, 1, 20);
      expect(await first).toBe(true);
      expect(await late).toBe(false);
    });

    it('leaves no waiter and no signal behind after many waits racing their timeouts against notifies', async () => {
      const c = mp.Condition();
      const loops = [0, 1, 2].map(() => party([c]).run({ op: 'waitLoop', t: 0, n: 300, timeoutMs: 1 }));
      let finished = false;
      const all = Promise.all(loops).finally(() => {
        finished = true;
      });
      for (let i = 0; !finished; i++) {
        await c.withLock(() => c.notify(1 + (i % 3)));
        await new Promise((r) => setImmediate(r)); // let the threads' replies in
      }
      const notified = (await all) as number[];
      expect(notified.reduce((a, b) => a + b)).toBeGreaterThan(0);
      const [state] = arena().i32(c[SHARE]().data.at as number, 2);
      expect(state).toBe(0); // waiters = 0 and signals = 0
    });
  });

  describe('revive', () => {
    it('rejects a handle without a lock handle', () => {
      const h = mp.Condition()[SHARE]();
      expect(() => revivers.Condition({ ...h, data: { at: h.data.at } })).toThrow(ProtocolError);
      expect(() =>
        revivers.Condition({
          ...h,
          data: { ...h.data, lock: { ...(h.data.lock as object), kind: 'Queue' } },
        }),
      ).toThrow(ProtocolError);
    });
  });
});
