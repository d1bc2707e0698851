/** Event, as CPython's `multiprocessing.Event`. */
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCodes, expectRejectsCode, type Party, type PrimitivesHarness, twin } from './harness.js';

/** Declares the Event tests. */
export function eventContract(h: PrimitivesHarness): void {
  const short = h.shortMs ?? 100;
  const parties: Party[] = [];
  afterEach(async () => {
    await Promise.all(parties.splice(0).map((p) => p.close()));
  });

  describe('Event', () => {
    it('starts cleared; set() and clear() switch the flag', async () => {
      const ev = h.primitives().Event();
      expect(ev.kind).toBe('Event');
      expect(await ev.isSet()).toBe(false);
      await ev.set();
      expect(await ev.isSet()).toBe(true);
      await ev.clear();
      expect(await ev.isSet()).toBe(false);
    });

    describe('wait()', () => {
      it('resolves true at once when the flag is set', async () => {
        const ev = h.primitives().Event();
        await ev.set();
        expect(await ev.wait()).toBe(true);
        expect(await ev.wait(0)).toBe(true);
      });

      it('resolves false when timeoutMs runs out (CPython: False)', async () => {
        const ev = h.primitives().Event();
        expect(await ev.wait(short)).toBe(false);
        expect(await ev.wait(0)).toBe(false);
      });

      it('waits again after clear(), in this party and in a revived one', async () => {
        const ev = h.primitives().Event();
        await ev.set();
        await twin(h, ev).clear();
        expect(await ev.wait(short)).toBe(false);
        expect(await twin(h, ev).wait(0)).toBe(false);
      });

      it('resolves true when another party sets the flag', async () => {
        const ev = h.primitives().Event();
        const waiting = ev.wait(10_000);
        const other = await h.party();
        parties.push(other);
        await other.call(ev, 'set');
        expect(await waiting).toBe(true);
      });

      it('wakes every waiter', async () => {
        const ev = h.primitives().Event();
        const same = twin(h, ev);
        const waiters = [ev.wait(10_000), ev.wait(10_000), same.wait(10_000)];
        await same.set();
        expect(await Promise.all(waiters)).toEqual([true, true, true]);
      });

      it('treats a negative timeoutMs as 0, as CPython does, and rejects NaN', async () => {
        const ev = h.primitives().Event();
        expect(await ev.wait(-1)).toBe(false);
        await ev.set();
        expect(await ev.wait(-1)).toBe(true);
        await expectRejectsCode(ev.wait(Number.NaN), ErrorCodes.INVALID_ARGUMENT);
      });
    });
  });
}
