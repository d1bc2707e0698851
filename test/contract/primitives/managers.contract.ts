/** Manager with dict and list proxies, as CPython's `SyncManager`. */
import { afterEach, describe, expect, it } from 'vitest';
import type { Manager } from '../../../src/api/managers.js';
import {
  ErrorCodes,
  expectRejectsCode,
  expectThrowsCode,
  type Party,
  type PrimitivesHarness,
  twin,
} from './harness.js';

/** Declares the Manager tests. */
export function managerContract(h: PrimitivesHarness): void {
  const parties: Party[] = [];
  const managers: Manager[] = [];
  const manager = () => {
    const m = h.primitives().Manager();
    managers.push(m);
    return m;
  };
  afterEach(async () => {
    await Promise.all(parties.splice(0).map((p) => p.close()));
    await Promise.all(managers.splice(0).map((m) => m.shutdown()));
  });

  describe('Manager', () => {
    describe('shutdown()', () => {
      it('makes its proxies throw ClosedError', async () => {
        const m = h.primitives().Manager();
        const d = m.dict<number>({ a: 1 });
        const l = m.list<number>([1]);
        await m.shutdown();
        await expectRejectsCode(d.get('a'), ErrorCodes.CLOSED);
        await expectRejectsCode(l.length(), ErrorCodes.CLOSED);
      });
    });

    describe('dict()', () => {
      it('sets, gets, tests and deletes keys', async () => {
        const d = manager().dict<number>({ a: 1 });
        expect(d.kind).toBe('DictProxy');
        await d.set('b', 2);
        expect(await d.get('a')).toBe(1);
        expect(await d.get('missing')).toBeUndefined();
        expect(await d.has('b')).toBe(true);
        expect(await d.delete('b')).toBe(true);
        expect(await d.delete('b')).toBe(false);
        expect(await d.size()).toBe(1);
      });

      it('pop, setDefault, update and the views', async () => {
        const d = manager().dict<number>();
        await d.update({ x: 1, y: 2 });
        expect(await d.setDefault('x', 9)).toBe(1);
        expect(await d.setDefault('z', 3)).toBe(3);
        expect(await d.pop('y')).toBe(2);
        expect(await d.pop('y', -1)).toBe(-1);
        expect((await d.keys()).sort()).toEqual(['x', 'z']);
        expect((await d.values()).sort()).toEqual([1, 3]);
        expect((await d.entries()).sort()).toEqual([
          ['x', 1],
          ['z', 3],
        ]);
        expect(await d.copy()).toEqual({ x: 1, z: 3 });
        await d.clear();
        expect(await d.size()).toBe(0);
      });

      it('has() sees a key that holds null; pop() of a missing key resolves undefined', async () => {
        const d = manager().dict<unknown>({ a: null });
        expect([await d.has('a'), await d.has('b')]).toEqual([true, false]);
        expect(await d.pop('b')).toBeUndefined();
        expect(await d.size()).toBe(1);
      });

      it('set() stores a copy of the value as it was at the call', async () => {
        const d = manager().dict<{ x: number }>();
        const v = { x: 1 };
        const done = d.set('k', v);
        v.x = 2;
        await done;
        expect(await twin(h, d).get('k')).toEqual({ x: 1 });
      });

      it('increment starts from 0 and adds delta; a key holding a non-number is refused', async () => {
        const d = manager().dict<unknown>({ s: 'x' });
        expect([await d.increment('n'), await d.increment('n', 2.5), await d.increment('n', -1)]).toEqual([
          1, 3.5, 2.5,
        ]);
        await expectRejectsCode(d.increment('s'), ErrorCodes.INVALID_ARGUMENT);
      });

      it('rejects a key that is not a string and a value that cannot be cloned, staying usable', async () => {
        const d = manager().dict<unknown>();
        await expectRejectsCode(d.get(1 as unknown as string), ErrorCodes.INVALID_ARGUMENT);
        await expectRejectsCode(
          d.set('f', () => 1),
          ErrorCodes.NOT_SERIALIZABLE,
        );
        await d.set('k', 1);
        expect(await d.get('k')).toBe(1);
        expectThrowsCode(() => manager().dict({ f: Symbol('x') }), ErrorCodes.NOT_SERIALIZABLE);
      });

      it('increment is atomic between two parties', async () => {
        const d = manager().dict<number>();
        const other = await h.party();
        parties.push(other);
        const n = 10;
        await Promise.all([
          ...Array.from({ length: n }, () => d.increment('hits')),
          ...Array.from({ length: n }, () => other.call(d, 'increment', 'hits', 1)),
        ]);
        expect(await d.get('hits')).toBe(2 * n);
      });

      it('is shared with a revived handle', async () => {
        const d = manager().dict<string>();
        await twin(h, d).set('k', 'v');
        expect(await d.get('k')).toBe('v');
      });
    });

    describe('list()', () => {
      it('appends, extends, inserts and indexes from either end', async () => {
        const l = manager().list<number>([1]);
        expect(l.kind).toBe('ListProxy');
        await l.append(2);
        await l.extend([3, 4]);
        await l.insert(0, 0);
        expect(await l.slice()).toEqual([0, 1, 2, 3, 4]);
        expect(await l.get(-1)).toBe(4);
        await l.set(1, 10);
        expect(await l.slice(1, 3)).toEqual([10, 2]);
        expect(await l.length()).toBe(5);
      });

      it('pop removes the last element by default, or the one at an index', async () => {
        const l = manager().list<string>(['a', 'b', 'c']);
        expect(await l.pop()).toBe('c');
        expect(await l.pop(0)).toBe('a');
        expect(await l.slice()).toEqual(['b']);
        await l.clear();
        expect(await l.length()).toBe(0);
      });

      it('rejects an index out of range or fractional, and pop on an empty list', async () => {
        const l = manager().list<number>([1]);
        await expectRejectsCode(l.get(1), ErrorCodes.INVALID_ARGUMENT);
        await expectRejectsCode(l.get(-2), ErrorCodes.INVALID_ARGUMENT);
        await expectRejectsCode(l.get(0.5), ErrorCodes.INVALID_ARGUMENT);
        await expectRejectsCode(l.set(1, 0), ErrorCodes.INVALID_ARGUMENT);
        await expectRejectsCode(l.pop(3), ErrorCodes.INVALID_ARGUMENT);
        await l.clear();
        await expectRejectsCode(l.pop(), ErrorCodes.INVALID_ARGUMENT);
      });

      it('takes Python indices from either end, clamps insert() past the ends and slices as Python', async () => {
        const l = manager().list<unknown>([1, 2]);
        await l.set(-1, 5);
        expect(await l.get(-2)).toBe(1);
        await l.insert(1, 'x');
        await l.insert(-100, 'first');
        await l.insert(100, 'last');
        await l.insert(-1, 'y');
        expect(await l.slice()).toEqual(['first', 1, 'x', 5, 'y', 'last']);
        expect(await l.pop(-2)).toBe('y');
        expect([
          await l.slice(1, 3),
          await l.slice(-2),
          await l.slice(3, 1),
          await l.slice(-100, 100),
        ]).toEqual([[1, 'x'], [5, 'last'], [], ['first', 1, 'x', 5, 'last']]);
      });

      it('concurrent pops of two parties take each element once', async () => {
        const l = manager().list(Array.from({ length: 10 }, (_, i) => i));
        const other = await h.party();
        parties.push(other);
        const got = await Promise.all([
          ...Array.from({ length: 5 }, () => l.pop()),
          ...Array.from({ length: 5 }, () => other.call<number>(l, 'pop')),
        ]);
        expect(got.sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i));
      });

      it('appends from two parties lose nothing', async () => {
        const l = manager().list<number>();
        const other = await h.party();
        parties.push(other);
        await Promise.all([
          ...Array.from({ length: 5 }, (_, i) => l.append(i)),
          ...Array.from({ length: 5 }, (_, i) => other.call(l, 'append', 10 + i)),
        ]);
        expect((await l.slice()).sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 10, 11, 12, 13, 14]);
      });
    });
  });
}
