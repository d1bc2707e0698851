import { describe, expect, it } from 'vitest';
import { ErrorCodes, InvalidArgumentError, NotOwnerError, ProtocolError } from '../../../src/errors.js';
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

describe('Condition', () => {
  describe('notify()', () => {
    it('notify(1) wakes exactly one of three waiting threads', async () => {
      const c = mp.Condition();
      const done = await waiters(c, 3, 1500);
      await c.withLock(() => c.notify(1));
      const results = await Promise.all(done);
      expect(results.filter((r) => r === true)).toHaveLength(1);
      expect(results.filter((r) => r === false)).toHaveLength(2);
    });

    it('notify(2) wakes exactly two of three', async () => {
      const c = mp.Condition(mp.Lock());
      const done = await waiters(c, 3, 1500);
      await c.withLock(() => c.notify(2));
      expect((await Promise.all(done)).filter((r) => r === true)).toHaveLength(2);
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

    it('throws NotOwnerError when the caller does not hold the lock', async () => {
      const c = mp.Condition();
      await expect(c.notify()).rejects.toThrow(NotOwnerError);
      await c.acquire();
      await expect(party([c]).call(0, 'notify')).rejects.toMatchObject({ code: ErrorCodes.NOT_OWNER });
      await expect(c.notify(-1)).rejects.toThrow(InvalidArgumentError);
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

  describe('notifyAll()', () => {
    it('wakes every waiting thread', async () => {
      const c = mp.Condition();
      const done = await waiters(c, 3);
      await c.withLock(() => c.notifyAll());
      expect(await Promise.all(done)).toEqual([true, true, true]);
    });
  });

  describe('wait()', () => {
    it('resolves false on timeout, holding the lock again', async () => {
      const c = mp.Condition(mp.Lock());
      await c.acquire();
      expect(await c.wait(5)).toBe(false);
      await expect(c.wait(0)).resolves.toBe(false);
      await c.release();
      await expect(c.release()).rejects.toMatchObject({ code: ErrorCodes.OVER_RELEASE });
    });

    it('releases an RLock held recursively while waiting and restores its count after', async () => {
      const lock = mp.RLock();
      const c = mp.Condition(lock);
      const other = party([c]);
      await lock.acquire();
      await lock.acquire();
      const mine = c.wait();
      // The other thread can take the lock only because wait released both levels.
      await other.call(0, 'acquire');
      await other.call(0, 'notify');
      await other.call(0, 'release');
      expect(await mine).toBe(true);
      expect((await lock.state()).count).toBe(2);
    });

    it('throws NotOwnerError without the lock and rejects a bad timeout first', async () => {
      const c = mp.Condition();
      await expect(c.wait()).rejects.toThrow(NotOwnerError);
      await c.acquire();
      await expect(c.wait(Number.NaN)).rejects.toThrow(InvalidArgumentError);
    });
  });

  describe('waitFor()', () => {
    it('re-checks the predicate after each notify until it holds', async () => {
      const c = mp.Condition();
      const v = mp.Value('i', 0, { lock: false });
      const waiting = party([c, v]).run({ op: 'waitFor', t: 0, value: 1, target: 3 });
      for (let i = 0; i < 3; i++) {
        await c.withLock(async () => {
          await v.add(1);
          await c.notifyAll();
        });
      }
      expect(await waiting).toBe(3);
    });

    it('resolves the falsy predicate value when the timeout runs out', async () => {
      const c = mp.Condition();
      await c.acquire();
      expect(await c.waitFor(() => 0, 10)).toBe(0);
      expect(await c.waitFor(() => 'ready', 0)).toBe('ready');
    });
  });

  describe('Condition()', () => {
    it('refuses a lock that is not a local Lock or RLock', () => {
      expect(() => mp.Condition({} as never)).toThrow(InvalidArgumentError);
    });
  });

  describe('revive', () => {
    it('carries its lock: the revived condition shares it', async () => {
      const c = mp.Condition(mp.Lock());
      const h = c[SHARE]();
      expect((h.data.lock as { kind: string }).kind).toBe('Lock');
      const again = revivers.Condition(h) as typeof c;
      await c.acquire();
      expect(await again.acquire({ block: false })).toBe(false);
    });

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
