/** Semaphore and BoundedSemaphore, as CPython's. */
import { afterEach, describe, expect, it } from 'vitest';
import {
  ErrorCodes,
  expectRejectsCode,
  expectThrowsCode,
  type Party,
  type PrimitivesHarness,
  twin,
} from './harness.js';

/** Declares the Semaphore and BoundedSemaphore tests. */
export function semaphoreContract(h: PrimitivesHarness): void {
  const short = h.shortMs ?? 100;
  const parties: Party[] = [];
  afterEach(async () => {
    await Promise.all(parties.splice(0).map((p) => p.close()));
  });

  describe('Semaphore', () => {
    describe('acquire()', () => {
      it('takes one permit per call until none is left', async () => {
        const sem = h.primitives().Semaphore(2);
        expect(sem.kind).toBe('Semaphore');
        expect(await sem.getValue()).toBe(2);
        expect(await sem.acquire()).toBe(true);
        expect(await sem.acquire()).toBe(true);
        expect(await sem.getValue()).toBe(0);
        expect(await sem.acquire({ block: false })).toBe(false);
      });

      it('resolves false when timeoutMs runs out (CPython: False)', async () => {
        const sem = h.primitives().Semaphore(0);
        expect(await sem.acquire({ timeoutMs: short })).toBe(false);
        expect(await sem.getValue()).toBe(0);
      });

      it('resolves true once another party releases a permit', async () => {
        const sem = h.primitives().Semaphore(0);
        const waiting = sem.acquire({ timeoutMs: 10_000 });
        const other = await h.party();
        parties.push(other);
        await other.call(sem, 'release');
        expect(await waiting).toBe(true);
        expect(await sem.getValue()).toBe(0);
      });

      it('hands each permit to exactly one of two waiting parties', async () => {
        const sem = h.primitives().Semaphore(0);
        const [a, b] = [await h.party(), await h.party()];
        parties.push(a, b);
        const waiting = [a, b].map((p) => p.call<boolean>(sem, 'acquire', { timeoutMs: 30_000 }));
        await sem.release();
        expect(await Promise.race(waiting)).toBe(true);
        expect(await sem.getValue()).toBe(0);
        // Had the one permit woken both, this second one would be left over.
        await sem.release();
        expect(await Promise.all(waiting)).toEqual([true, true]);
        expect(await sem.getValue()).toBe(0);
      });

      it('defaults to one permit', async () => {
        const sem = h.primitives().Semaphore();
        expect(await sem.getValue()).toBe(1);
      });
    });

    describe('release()', () => {
      it('adds a permit even past the initial value', async () => {
        const sem = h.primitives().Semaphore(1);
        await sem.release();
        await sem.release();
        expect(await sem.getValue()).toBe(3);
      });
    });

    it('rejects a negative initial value', () => {
      expectThrowsCode(() => h.primitives().Semaphore(-1), ErrorCodes.INVALID_ARGUMENT);
      expectThrowsCode(() => h.primitives().Semaphore(1.5), ErrorCodes.INVALID_ARGUMENT);
    });

    it('is shared with a revived handle', async () => {
      const sem = h.primitives().Semaphore(3);
      const same = twin(h, sem);
      await same.acquire();
      expect(await sem.getValue()).toBe(2);
    });
  });

  describe('BoundedSemaphore', () => {
    describe('release()', () => {
      it('throws OverReleaseError past the initial value (CPython: ValueError)', async () => {
        const sem = h.primitives().BoundedSemaphore(2);
        expect(sem.kind).toBe('BoundedSemaphore');
        await expectRejectsCode(sem.release(), ErrorCodes.OVER_RELEASE);
        expect(await sem.getValue()).toBe(2);
      });

      it('gives back a taken permit', async () => {
        const sem = h.primitives().BoundedSemaphore(1);
        await sem.acquire();
        await sem.release();
        expect(await sem.getValue()).toBe(1);
        await expectRejectsCode(sem.release(), ErrorCodes.OVER_RELEASE);
      });
    });

    describe('acquire()', () => {
      it('resolves false when timeoutMs runs out', async () => {
        const sem = h.primitives().BoundedSemaphore(1);
        await sem.acquire();
        expect(await sem.acquire({ timeoutMs: short })).toBe(false);
      });
    });
  });
}
