/** Barrier, as CPython's `multiprocessing.Barrier` (without `action`). */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ErrorCodes,
  expectRejectsCode,
  expectThrowsCode,
  type Party,
  type PrimitivesHarness,
  twin,
} from './harness.js';

/** Declares the Barrier tests. */
export function barrierContract(h: PrimitivesHarness): void {
  const short = h.shortMs ?? 100;
  const parties: Party[] = [];
  afterEach(async () => {
    await Promise.all(parties.splice(0).map((p) => p.close()));
  });
  /** Resolves once `n` parties wait (polls the count: the barrier has no other signal). */
  const untilWaiting = (b: { nWaiting(): Promise<number> }, n: number) =>
    vi.waitFor(async () => expect(await b.nWaiting()).toBe(n), { timeout: 10_000, interval: 10 });

  describe('Barrier', () => {
    describe('wait()', () => {
      it('lets all parties through with distinct arrival indices', async () => {
        const b = h.primitives().Barrier(3);
        expect(b.kind).toBe('Barrier');
        expect(b.parties).toBe(3);
        const same = twin(h, b);
        const idx = await Promise.all([b.wait(10_000), b.wait(10_000), same.wait(10_000)]);
        expect([...idx].sort()).toEqual([0, 1, 2]);
        expect(await b.broken()).toBe(false);
      });

      it('can be used again after all parties passed', async () => {
        const b = h.primitives().Barrier(2);
        for (let round = 0; round < 2; round++) {
          const idx = await Promise.all([b.wait(10_000), b.wait(10_000)]);
          expect([...idx].sort()).toEqual([0, 1]);
        }
      });

      it('meets a party in another thread or function', async () => {
        const b = h.primitives().Barrier(2);
        const other = await h.party();
        parties.push(other);
        const idx = await Promise.all([b.wait(10_000), other.call<number>(b, 'wait', 10_000)]);
        expect([...idx].sort()).toEqual([0, 1]);
      });

      it('throws BrokenBarrierError and breaks the barrier when timeoutMs runs out', async () => {
        const b = h.primitives().Barrier(2);
        await expectRejectsCode(b.wait(short), ErrorCodes.BROKEN_BARRIER);
        expect(await b.broken()).toBe(true);
        await expectRejectsCode(b.wait(short), ErrorCodes.BROKEN_BARRIER);
      });

      it('breaks at once for a negative timeoutMs, which counts as 0 (CPython), and rejects NaN', async () => {
        const b = h.primitives().Barrier(2);
        await expectRejectsCode(b.wait(Number.NaN), ErrorCodes.INVALID_ARGUMENT);
        expect(await b.broken()).toBe(false);
        await expectRejectsCode(b.wait(-1), ErrorCodes.BROKEN_BARRIER);
        expect(await b.broken()).toBe(true);
        const d = h.primitives().Barrier(2, { timeoutMs: -1 });
        await expectRejectsCode(d.wait(), ErrorCodes.BROKEN_BARRIER);
      });

      it('uses the default timeout given at creation, in a revived handle too', async () => {
        const b = h.primitives().Barrier(2, { timeoutMs: short });
        const same = twin(h, b);
        expect(same.parties).toBe(2);
        await expectRejectsCode(same.wait(), ErrorCodes.BROKEN_BARRIER);
        await expectRejectsCode(b.wait(), ErrorCodes.BROKEN_BARRIER);
      });

      it('returns 0 at once for a single party, every time', async () => {
        const b = h.primitives().Barrier(1);
        expect(await b.wait()).toBe(0);
        expect(await b.wait()).toBe(0);
      });

      it('rejects a NaN timeoutMs without arriving', async () => {
        const b = h.primitives().Barrier(2);
        await expectRejectsCode(b.wait(Number.NaN), ErrorCodes.INVALID_ARGUMENT);
        expect(await b.nWaiting()).toBe(0);
      });

      it('breaks for every waiter when one times out', async () => {
        const b = h.primitives().Barrier(3);
        // The expectation is attached at once: the wait may reject while this test awaits others.
        const patient = expectRejectsCode(b.wait(10_000), ErrorCodes.BROKEN_BARRIER);
        await untilWaiting(b, 1);
        await expectRejectsCode(b.wait(short), ErrorCodes.BROKEN_BARRIER);
        await patient;
      });
    });

    describe('abort()', () => {
      it('breaks the barrier: current and later waiters throw BrokenBarrierError', async () => {
        const b = h.primitives().Barrier(2);
        const waiting = expectRejectsCode(b.wait(10_000), ErrorCodes.BROKEN_BARRIER);
        await untilWaiting(b, 1);
        await twin(h, b).abort();
        await waiting;
        expect(await b.broken()).toBe(true);
        await expectRejectsCode(b.wait(10_000), ErrorCodes.BROKEN_BARRIER);
      });
    });

    describe('reset()', () => {
      it('makes current waiters throw and leaves the barrier usable again', async () => {
        const b = h.primitives().Barrier(2);
        const waiting = expectRejectsCode(b.wait(10_000), ErrorCodes.BROKEN_BARRIER);
        await untilWaiting(b, 1);
        await b.reset();
        await waiting;
        expect(await b.broken()).toBe(false);
        expect(await b.nWaiting()).toBe(0);
        const idx = await Promise.all([b.wait(10_000), b.wait(10_000)]);
        expect([...idx].sort()).toEqual([0, 1]);
      });

      it('repairs an aborted barrier, which then lets parties through', async () => {
        const b = h.primitives().Barrier(2);
        await b.abort();
        await b.reset();
        expect(await b.broken()).toBe(false);
        const idx = await Promise.all([b.wait(10_000), twin(h, b).wait(10_000)]);
        expect([...idx].sort()).toEqual([0, 1]);
      });
    });

    it('rejects parties that are not an integer >= 1, a NaN default timeout and unknown options', () => {
      for (const parties of [0, -1, 1.5, Number.NaN, '2'])
        expectThrowsCode(() => h.primitives().Barrier(parties as number), ErrorCodes.INVALID_ARGUMENT);
      expectThrowsCode(
        () => h.primitives().Barrier(2, { timeoutMs: Number.NaN }),
        ErrorCodes.INVALID_ARGUMENT,
      );
      expectThrowsCode(() => h.primitives().Barrier(2, { timeout: 1 } as never), ErrorCodes.INVALID_ARGUMENT);
    });
  });
}
