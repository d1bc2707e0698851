import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, ProtocolError } from '../../../src/errors.js';
import { SHARE } from '../../../src/handles.js';
import { mp, revivers, useParties } from './fixtures/parties.js';

const party = useParties();

describe('Value', () => {
  describe('add()', () => {
    it('is atomic across threads: 4 threads × 5000 add(1) give exactly 20000', async () => {
      const v = mp.Value('i', 0);
      await Promise.all([0, 1, 2, 3].map(() => party([v]).run({ op: 'add', value: 0, n: 5000 })));
      expect(await v.get()).toBe(20000);
    });

    it('is atomic for doubles too (a compare-exchange loop)', async () => {
      const v = mp.Value('d', 0.5);
      await Promise.all([0, 1].map(() => party([v]).run({ op: 'add', value: 0, n: 2000 })));
      expect(await v.get()).toBe(4000.5);
    });

    it('wraps integers like C and resolves the new value', async () => {
      expect(await mp.Value('b', 127).add(1)).toBe(-128);
      expect(await mp.Value('B', 0).add(-1)).toBe(255);
      expect(await mp.Value('H', 65535).add(2)).toBe(1);
      expect(await mp.Value('I', 0).add(2 ** 32 + 5)).toBe(5);
      expect(await mp.Value('q', 2n ** 63n - 1n).add(1n)).toBe(-(2n ** 63n));
      expect(await mp.Value('Q', 0n).add(-1n)).toBe(2n ** 64n - 1n);
      expect(await mp.Value('f', 1).add(0.1)).toBe(Math.fround(1 + 0.1));
    });

    it('rejects a delta of the wrong type', async () => {
      await expect(mp.Value('i', 0).add(0.5)).rejects.toThrow(InvalidArgumentError);
      await expect(mp.Value('q', 0n).add(1 as never)).rejects.toThrow(InvalidArgumentError);
      await expect(mp.Value('d', 0).add(1n as never)).rejects.toThrow(InvalidArgumentError);
    });
  });

  describe('set()', () => {
    it('wraps like C and stores floats at their precision', async () => {
      const b = mp.Value('b', 0);
      await b.set(300);
      expect(await b.get()).toBe(44);
      const f = mp.Value('f', 0);
      await f.set(0.1);
      expect(await f.get()).toBe(Math.fround(0.1));
      const l = mp.Value('l', 0n);
      await l.set(2n ** 64n + 3n);
      expect(await l.get()).toBe(3n);
    });
  });

  describe('Value()', () => {
    it('defaults to 0, or 0n for 64-bit codes', async () => {
      expect(await mp.Value('h').get()).toBe(0);
      expect(await mp.Value('L').get()).toBe(0n);
    });

    it('validates the type code and the initial value', () => {
      expect(() => mp.Value('x' as never, 0 as never)).toThrow(InvalidArgumentError);
      expect(() => mp.Value('i', 1n as never)).toThrow(InvalidArgumentError);
      expect(() => mp.Value('q', 1 as never)).toThrow(InvalidArgumentError);
      expect(() => mp.Value('i', '1' as never)).toThrow(InvalidArgumentError);
      expect(() => mp.Value('i', 0, { lock: 'yes' as never })).toThrow(InvalidArgumentError);
      expect(() => mp.Value('i', 0, { locks: true } as never)).toThrow(InvalidArgumentError);
    });
  });

  describe('withLock()', () => {
    it('excludes threads from each other: 2 threads × 2000 get+set give exactly 4000', async () => {
      const v = mp.Value('i', 0);
      await Promise.all(
        [0, 1].map(() => party([v.getLock(), v]).run({ op: 'lockedIncrement', lock: 0, value: 1, n: 2000 })),
      );
      expect(await v.get()).toBe(4000);
    });

    it('uses an RLock by default, a given lock, or none with lock: false', async () => {
      expect(mp.Value('i', 0).getLock().kind).toBe('RLock');
      const lock = mp.Lock();
      const v = mp.Value('i', 0, { lock });
      expect(v.getLock()).toBe(lock);
      expect(await v.withLock(() => lock.locked())).toBe(true);
      const raw = mp.Value('i', 0, { lock: false });
      expect(() => raw.getLock()).toThrow(InvalidArgumentError);
      await expect(raw.withLock(() => 1)).rejects.toThrow(InvalidArgumentError);
    });
  });

  describe('revive', () => {
    it('carries the lock: a revived value shares its value and its lock', async () => {
      const v = mp.Value('d', 1.5);
      const again = revivers.Value(v[SHARE]()) as typeof v;
      await again.add(1);
      expect(await v.get()).toBe(2.5);
      await v.getLock().acquire();
      expect(await again.getLock().acquire({ timeoutMs: 0 })).toBe(true); // same thread: an RLock
      expect(await party([v.getLock()]).call(0, 'acquire', { block: false })).toBe(false);
    });

    it('rejects malformed handles', () => {
      const h = mp.Value('i', 0)[SHARE]();
      expect(() => revivers.Value({ ...h, data: { ...h.data, typecode: 'z' } })).toThrow(ProtocolError);
      expect(() => revivers.Value({ ...h, data: { ...h.data, length: 2 } })).toThrow(ProtocolError);
      expect(() => revivers.Value({ ...h, data: { ...h.data, at: 2 ** 31 } })).toThrow(InvalidArgumentError);
      expect(() => revivers.Value({ ...h, data: { ...h.data, lock: { kind: 'Lock' } } })).toThrow(
        ProtocolError,
      );
    });
  });
});

describe('Array', () => {
  describe('add()', () => {
    it('is atomic per element across threads', async () => {
      const a = mp.Array('Q', 3);
      await Promise.all([0, 1, 2].map(() => party([a]).run({ op: 'add', value: 0, index: 1, n: 3000 })));
      expect(await a.slice()).toEqual([0n, 9000n, 0n]);
    });
  });

  describe('get() and set()', () => {
    it('accept Python indices from -length to length - 1 and name the index and length otherwise', async () => {
      const a = mp.Array('h', [1, 2, 3]);
      expect(await a.get(-1)).toBe(3);
      await a.set(-3, 70000);
      expect(await a.get(0)).toBe(70000 - 65536);
      await expect(a.get(3)).rejects.toThrow(/index.*length 3.*got 3/);
      await expect(a.set(-4, 0)).rejects.toThrow(InvalidArgumentError);
      await expect(a.add(1.5, 1)).rejects.toThrow(InvalidArgumentError);
    });
  });

  describe('slice() and setSlice()', () => {
    it('read and write ranges as Python slices do', async () => {
      const a = mp.Array('i', 5);
      await a.setSlice(1, [7, 8, 9]);
      expect(await a.slice()).toEqual([0, 7, 8, 9, 0]);
      expect(await a.slice(1, 3)).toEqual([7, 8]);
      expect(await a.slice(-2)).toEqual([9, 0]);
      expect(await a.slice(4, 100)).toEqual([0]);
    });

    it('writes nothing when a value is bad or the range does not fit', async () => {
      const a = mp.Array('i', [1, 2, 3]);
      await expect(a.setSlice(0, [5, 'x' as never])).rejects.toThrow(InvalidArgumentError);
      await expect(a.setSlice(2, [5, 6])).rejects.toThrow(InvalidArgumentError);
      expect(await a.slice()).toEqual([1, 2, 3]);
    });
  });

  describe('Array()', () => {
    it('makes a zero-filled array of a size, or a copy of values', async () => {
      const z = mp.Array('d', 2);
      expect(z.length).toBe(2);
      expect(await z.slice()).toEqual([0, 0]);
      expect(await mp.Array('q', [1n, -2n]).slice()).toEqual([1n, -2n]);
      expect(mp.Array('i', 0).length).toBe(0);
    });

    it('validates the size and the values before allocating', () => {
      expect(() => mp.Array('i', -1)).toThrow(InvalidArgumentError);
      expect(() => mp.Array('i', 1.5)).toThrow(InvalidArgumentError);
      expect(() => mp.Array('q', [1 as never])).toThrow(InvalidArgumentError);
      expect(() => mp.Array('i', 'abc' as never)).toThrow(InvalidArgumentError);
    });
  });

  describe('revive', () => {
    it('shares the elements and refuses a length that runs out of the arena', async () => {
      const a = mp.Array('b', [1, 2]);
      const h = a[SHARE]();
      const again = revivers.Array(h) as typeof a;
      await again.set(1, 5);
      expect(await a.get(1)).toBe(5);
      expect(() => revivers.Array({ ...h, data: { ...h.data, length: 2 ** 27 } })).toThrow(
        InvalidArgumentError,
      );
      expect(() => revivers.Array({ ...h, data: { ...h.data, length: -1 } })).toThrow(ProtocolError);
    });
  });
});
