/** Value and Array, as CPython's `multiprocessing.Value` and `Array` (sharedctypes). */
import { afterEach, describe, expect, it } from 'vitest';
import {
  ErrorCodes,
  expectRejectsCode,
  expectThrowsCode,
  type Party,
  type PrimitivesHarness,
  twin,
} from './harness.js';

/** Declares the Value and Array tests. */
export function valueContract(h: PrimitivesHarness): void {
  const parties: Party[] = [];
  afterEach(async () => {
    await Promise.all(parties.splice(0).map((p) => p.close()));
  });

  describe('Value', () => {
    it('holds its initial value, 0 by default (0n for 64-bit codes)', async () => {
      const mp = h.primitives();
      const v = mp.Value('i', 7);
      expect(v.kind).toBe('Value');
      expect(v.typecode).toBe('i');
      expect(await v.get()).toBe(7);
      expect(await mp.Value('d').get()).toBe(0);
      expect(await mp.Value('q').get()).toBe(0n);
    });

    it('set() then get() on a revived handle sees the write', async () => {
      const v = h.primitives().Value('d', 0.5);
      await v.set(2.25);
      expect(await twin(h, v).get()).toBe(2.25);
    });

    it('set() wraps like C and stores a float at its precision', async () => {
      const mp = h.primitives();
      const b = mp.Value('b', 0);
      await b.set(300);
      expect(await b.get()).toBe(44);
      const f = mp.Value('f', 0);
      await f.set(0.1);
      expect(await f.get()).toBe(Math.fround(0.1));
      const l = mp.Value('Q', 0n);
      await l.set(2n ** 64n + 3n);
      expect(await l.get()).toBe(3n);
    });

    it('shares its lock with a revived handle: another party cannot take it while it is held', async () => {
      const v = h.primitives().Value('i', 0);
      const other = await h.party();
      parties.push(other);
      await v.getLock().acquire();
      expect(await other.call(v, 'getLock.acquire', { block: false })).toBe(false);
      await v.getLock().release();
      expect(await other.call(v, 'getLock.acquire', { block: false })).toBe(true);
    });

    describe('add()', () => {
      it('resolves the new value', async () => {
        const mp = h.primitives();
        expect(await mp.Value('i', 40).add(2)).toBe(42);
        expect(await mp.Value('q', 2n ** 40n).add(1n)).toBe(2n ** 40n + 1n);
        expect(await mp.Value('d', 0.5).add(0.25)).toBe(0.75);
      });

      it('wraps like C for integer codes', async () => {
        const mp = h.primitives();
        expect(await mp.Value('B', 255).add(1)).toBe(0);
        expect(await mp.Value('b', 127).add(1)).toBe(-128);
        expect(await mp.Value('H', 65535).add(2)).toBe(1);
        expect(await mp.Value('I', 0).add(-1)).toBe(2 ** 32 - 1);
        expect(await mp.Value('I', 0).add(2 ** 32 + 5)).toBe(5);
        expect(await mp.Value('q', 2n ** 63n - 1n).add(1n)).toBe(-(2n ** 63n));
        expect(await mp.Value('Q', 0n).add(-1n)).toBe(2n ** 64n - 1n);
      });

      it('rejects a delta of the wrong type', async () => {
        const mp = h.primitives();
        await expectRejectsCode(mp.Value('i', 0).add(0.5), ErrorCodes.INVALID_ARGUMENT);
        await expectRejectsCode(mp.Value('q', 0n).add(1 as never), ErrorCodes.INVALID_ARGUMENT);
        await expectRejectsCode(mp.Value('d', 0).add(1n as never), ErrorCodes.INVALID_ARGUMENT);
      });

      it("rounds to single precision for 'f'", async () => {
        const v = h.primitives().Value('f', 0.1);
        expect(await v.get()).toBe(Math.fround(0.1));
        expect(await v.add(0.2)).toBe(Math.fround(Math.fround(0.1) + 0.2));
      });

      it('is atomic between two parties without the lock', async () => {
        const v = h.primitives().Value('i', 0, { lock: false });
        const other = await h.party();
        parties.push(other);
        const n = 20;
        await Promise.all([
          ...Array.from({ length: n }, () => v.add(1)),
          ...Array.from({ length: n }, () => other.call(v, 'add', 1)),
        ]);
        expect(await v.get()).toBe(2 * n);
      });
    });

    describe('withLock()', () => {
      it('makes a read-modify-write sequence exclusive', async () => {
        const mp = h.primitives();
        // A plain Lock: the concurrent callers below are one party, which an RLock would let in together.
        const v = mp.Value('i', 0, { lock: mp.Lock() });
        const bump = () =>
          v.withLock(async () => {
            const x = await v.get();
            await v.set(x + 1);
          });
        await Promise.all(Array.from({ length: 10 }, bump));
        expect(await v.get()).toBe(10);
      });

      it('holds the lock given at creation, which getLock() returns', async () => {
        const mp = h.primitives();
        const lock = mp.Lock();
        const v = mp.Value('i', 0, { lock });
        expect(v.getLock()).toBe(lock);
        expect(await v.withLock(() => lock.locked())).toBe(true);
        expect(await lock.locked()).toBe(false);
      });

      it('holds an RLock by default', async () => {
        const v = h.primitives().Value('i');
        expect(v.getLock().kind).toBe('RLock');
      });

      it('throws InvalidArgumentError on a value made with lock: false', async () => {
        const v = h.primitives().Value('i', 0, { lock: false });
        expectThrowsCode(() => v.getLock(), ErrorCodes.INVALID_ARGUMENT);
        await expectRejectsCode((async () => v.withLock(() => 1))(), ErrorCodes.INVALID_ARGUMENT);
      });
    });

    it('rejects an unknown type code, a value of the wrong type and bad options', () => {
      const mp = h.primitives();
      expectThrowsCode(() => mp.Value('z' as 'i'), ErrorCodes.INVALID_ARGUMENT);
      expectThrowsCode(() => mp.Value('q', 1 as unknown as bigint), ErrorCodes.INVALID_ARGUMENT);
      expectThrowsCode(() => mp.Value('i', 1n as never), ErrorCodes.INVALID_ARGUMENT);
      expectThrowsCode(() => mp.Value('i', '1' as never), ErrorCodes.INVALID_ARGUMENT);
      expectThrowsCode(() => mp.Value('i', 1.5), ErrorCodes.INVALID_ARGUMENT);
      expectThrowsCode(() => mp.Value('i', 0, { lock: 'yes' as never }), ErrorCodes.INVALID_ARGUMENT);
      expectThrowsCode(() => mp.Value('i', 0, { lock: {} as never }), ErrorCodes.INVALID_ARGUMENT);
      expectThrowsCode(() => mp.Value('i', 0, { locks: true } as never), ErrorCodes.INVALID_ARGUMENT);
    });
  });

  describe('Array', () => {
    it('is zero-filled when given a size, empty for 0', async () => {
      const a = h.primitives().Array('i', 4);
      expect(a.kind).toBe('Array');
      expect(a.length).toBe(4);
      expect(await a.slice()).toEqual([0, 0, 0, 0]);
      expect(h.primitives().Array('i', 0).length).toBe(0);
    });

    it('rejects a size that is not an integer >= 0 and values of the wrong type', () => {
      const mp = h.primitives();
      expectThrowsCode(() => mp.Array('i', -1), ErrorCodes.INVALID_ARGUMENT);
      expectThrowsCode(() => mp.Array('i', 1.5), ErrorCodes.INVALID_ARGUMENT);
      expectThrowsCode(() => mp.Array('q', [1 as never]), ErrorCodes.INVALID_ARGUMENT);
      expectThrowsCode(() => mp.Array('i', 'abc' as never), ErrorCodes.INVALID_ARGUMENT);
    });

    it('takes Python indices, from -length to length - 1, and wraps a set() like C', async () => {
      const a = h.primitives().Array('h', [1, 2, 3]);
      expect(await a.get(-1)).toBe(3);
      await a.set(-3, 70000);
      expect(await a.get(0)).toBe(70000 - 65536);
      await expectRejectsCode(a.set(-4, 0), ErrorCodes.INVALID_ARGUMENT);
      await expectRejectsCode(a.add(1.5, 1), ErrorCodes.INVALID_ARGUMENT);
    });

    it('slices as Python does: negative bounds, clamped at the ends', async () => {
      const a = h.primitives().Array('i', 5);
      await a.setSlice(1, [7, 8, 9]);
      expect(await a.slice(-2)).toEqual([9, 0]);
      expect(await a.slice(4, 100)).toEqual([0]);
    });

    it('writes nothing when a value is bad or the range does not fit', async () => {
      const a = h.primitives().Array('i', [1, 2, 3]);
      await expectRejectsCode(a.setSlice(0, [5, 'x' as never]), ErrorCodes.INVALID_ARGUMENT);
      await expectRejectsCode(a.setSlice(2, [5, 6]), ErrorCodes.INVALID_ARGUMENT);
      expect(await a.slice()).toEqual([1, 2, 3]);
    });

    it('copies the values it is given', async () => {
      const a = h.primitives().Array('q', [1n, 2n, 3n]);
      expect(a.length).toBe(3);
      expect(await a.get(2)).toBe(3n);
    });

    it('get, set, add and slices address single elements and ranges', async () => {
      const a = h.primitives().Array('d', 5);
      await a.set(1, 1.5);
      expect(await a.add(1, 1)).toBe(2.5);
      await a.setSlice(2, [7, 8, 9]);
      expect(await a.slice()).toEqual([0, 2.5, 7, 8, 9]);
      expect(await a.slice(1, 3)).toEqual([2.5, 7]);
    });

    it('is shared with a revived handle', async () => {
      const a = h.primitives().Array('i', 3);
      await twin(h, a).set(0, 5);
      expect(await a.get(0)).toBe(5);
    });

    it('rejects an index out of range', async () => {
      const a = h.primitives().Array('i', 2);
      await expectRejectsCode(a.get(2), ErrorCodes.INVALID_ARGUMENT);
      await expectRejectsCode(a.set(-3, 1), ErrorCodes.INVALID_ARGUMENT);
      await expectRejectsCode(a.setSlice(1, [1, 2]), ErrorCodes.INVALID_ARGUMENT);
    });
  });
}
