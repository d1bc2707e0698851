/** Condition, as CPython's `multiprocessing.Condition`. */
import { afterEach, describe, expect, it } from 'vitest';
import {
  ErrorCodes,
  expectRejectsCode,
  expectThrowsCode,
  type Party,
  type PrimitivesHarness,
  twin,
} from './harness.js';

/** Declares the Condition tests. */
export function conditionContract(h: PrimitivesHarness): void {
  const short = h.shortMs ?? 100;
  const parties: Party[] = [];
  const party = async () => {
    const p = await h.party();
    parties.push(p);
    return p;
  };
  afterEach(async () => {
    await Promise.all(parties.splice(0).map((p) => p.close()));
  });

  describe('Condition', () => {
    describe('wait()', () => {
      it('resolves false when timeoutMs runs out, holding the lock again (CPython: False)', async () => {
        const mp = h.primitives();
        const rlock = mp.RLock();
        const cond = mp.Condition(rlock);
        expect(cond.kind).toBe('Condition');
        await cond.acquire();
        expect(await cond.wait(short)).toBe(false);
        expect((await rlock.state()).count).toBe(1);
        await cond.release();
        expect((await rlock.state()).count).toBe(0);
      });

      it('throws NotOwnerError when the caller does not hold the (default RLock) lock', async () => {
        const cond = h.primitives().Condition();
        await expectRejectsCode(cond.wait(short), ErrorCodes.NOT_OWNER);
      });

      it('rejects a NaN timeoutMs', async () => {
        const cond = h.primitives().Condition();
        await cond.acquire();
        await expectRejectsCode(cond.wait(Number.NaN), ErrorCodes.INVALID_ARGUMENT);
        await cond.release();
      });

      it('releases an RLock held recursively while it waits, and restores its count after', async () => {
        const mp = h.primitives();
        const rlock = mp.RLock();
        const cond = mp.Condition(rlock);
        await rlock.acquire();
        await rlock.acquire();
        const waiting = cond.wait(10_000);
        // The other party can take the lock only because wait() released both levels.
        const other = await party();
        await other.call(cond, 'acquire');
        await other.call(cond, 'notify');
        await other.call(cond, 'release');
        expect(await waiting).toBe(true);
        expect((await rlock.state()).count).toBe(2);
        await rlock.release();
        await rlock.release();
        expect((await rlock.state()).count).toBe(0);
      });

      it('resolves true when another party notifies', async () => {
        const cond = h.primitives().Condition();
        await cond.acquire();
        const waiting = cond.wait(10_000);
        const other = await party();
        // The other party gets the lock only once wait() has released it, so the notify cannot come early.
        await other.call(cond, 'acquire');
        await other.call(cond, 'notify');
        await other.call(cond, 'release');
        expect(await waiting).toBe(true);
        await cond.release();
      });

      it('in another party is woken by this party', async () => {
        const cond = h.primitives().Condition();
        const other = await party();
        await other.call(cond, 'acquire');
        const waiting = other.call(cond, 'wait', 10_000);
        await cond.acquire();
        await cond.notify();
        await cond.release();
        expect(await waiting).toBe(true);
        await other.call(cond, 'release');
      });
    });

    describe('notify()', () => {
      it('throws NotOwnerError when the caller does not hold the (default RLock) lock', async () => {
        const cond = h.primitives().Condition();
        await expectRejectsCode(cond.notify(), ErrorCodes.NOT_OWNER);
        await expectRejectsCode(cond.notifyAll(), ErrorCodes.NOT_OWNER);
        // Nor while another party holds it.
        await cond.acquire();
        const other = await party();
        await expectRejectsCode(other.call(cond, 'notify'), ErrorCodes.NOT_OWNER);
        await cond.release();
      });

      it('rejects a negative or fractional n', async () => {
        const cond = h.primitives().Condition();
        await cond.acquire();
        await expectRejectsCode(cond.notify(-1), ErrorCodes.INVALID_ARGUMENT);
        await expectRejectsCode(cond.notify(1.5), ErrorCodes.INVALID_ARGUMENT);
        await cond.release();
      });
    });

    describe('notifyAll()', () => {
      it('wakes every waiter', { timeout: 15_000 }, async () => {
        const mp = h.primitives();
        // A plain Lock: waiters in this party exclude each other as threads would.
        const cond = mp.Condition(mp.Lock());
        let ready = false;
        const waiters = [1, 2, 3].map(() => cond.withLock(() => cond.waitFor(() => ready)));
        await cond.withLock(async () => {
          ready = true;
          await cond.notifyAll();
        });
        expect(await Promise.all(waiters)).toEqual([true, true, true]);
      });
    });

    describe('waitFor()', () => {
      it('resolves the predicate at once when it already holds', async () => {
        const cond = h.primitives().Condition();
        expect(await cond.withLock(() => cond.waitFor(() => 42, short))).toBe(42);
      });

      it('resolves the falsy predicate when timeoutMs runs out', async () => {
        const cond = h.primitives().Condition();
        expect(await cond.withLock(() => cond.waitFor(() => 0, short))).toBe(0);
      });

      it('rejects a predicate that is not a function', async () => {
        const cond = h.primitives().Condition();
        await cond.acquire();
        await expectRejectsCode(cond.waitFor(42 as never), ErrorCodes.INVALID_ARGUMENT);
        await cond.release();
      });

      it('re-checks the predicate after each notify', async () => {
        const mp = h.primitives();
        const cond = mp.Condition(mp.Lock());
        let n = 0;
        const waiting = cond.withLock(() => cond.waitFor(() => n >= 2, 10_000));
        for (let i = 0; i < 2; i++) {
          await cond.withLock(async () => {
            n++;
            await cond.notify();
          });
        }
        expect(await waiting).toBe(true);
      });
    });

    it("refuses a lock that is not one of this context's", () => {
      expectThrowsCode(
        () => h.primitives().Condition({ kind: 'Lock' } as never),
        ErrorCodes.INVALID_ARGUMENT,
      );
    });

    it('carries its lock: a revived handle shares it', async () => {
      const mp = h.primitives();
      const cond = mp.Condition(mp.Lock());
      await cond.acquire();
      expect(await twin(h, cond).acquire({ block: false })).toBe(false);
      await cond.release();
      expect(await twin(h, cond).acquire({ block: false })).toBe(true);
    });
  });
}
