/** Manager with dict and list proxies, as CPython's `SyncManager`. */
import { afterEach, describe, expect, it } from 'vitest';
import type { Manager } from '../../../src/api/managers.js';
import {
  ErrorCodes,
  expectRefusedInstance,
  expectRejectsCode,
  expectThrowsCode,
  type Party,
  Point,
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

      it('popitem removes and resolves the last inserted pair (LIFO); a key set again keeps its place', async () => {
        const d = manager().dict<number>({ a: 1, b: 2 });
        await d.set('c', 3);
        await d.set('a', 10);
        await d.setDefault('d', 4);
        await d.increment('e', 5);
        expect(await d.keys()).toEqual(['a', 'b', 'c', 'd', 'e']);
        expect(await d.popitem()).toEqual(['e', 5]);
        expect(await twin(h, d).popitem()).toEqual(['d', 4]);
        expect(await d.popitem()).toEqual(['c', 3]);
        expect(await d.entries()).toEqual([
          ['a', 10],
          ['b', 2],
        ]);
        expect(await d.popitem()).toEqual(['b', 2]);
        expect(await d.popitem()).toEqual(['a', 10]);
        await expectRejectsCode(d.popitem(), ErrorCodes.INVALID_ARGUMENT);
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

      it('count, index and remove compare by value (deep equality), as CPython compares with ==', async () => {
        const l = manager().list<unknown>([1, { a: [1, 2] }, 'x', 1, { a: [1, 2] }]);
        expect(await l.count(1)).toBe(2);
        expect(await l.count({ a: [1, 2] })).toBe(2);
        expect(await l.count('nope')).toBe(0);
        expect(await l.index({ a: [1, 2] })).toBe(1);
        expect(await l.index(1, 1)).toBe(3);
        expect(await l.index(1, -2)).toBe(3);
        await expectRejectsCode(l.index(1, 1, 3), ErrorCodes.INVALID_ARGUMENT);
        await expectRejectsCode(l.index('nope'), ErrorCodes.INVALID_ARGUMENT);
        await l.remove({ a: [1, 2] });
        expect(await l.slice()).toEqual([1, 'x', 1, { a: [1, 2] }]);
        await expectRejectsCode(l.remove('nope'), ErrorCodes.INVALID_ARGUMENT);
      });

      it('reverse and sort in place; sort is stable, takes reverse, and refuses values it cannot order', async () => {
        const l = manager().list<unknown>([3, 1, 2]);
        await l.reverse();
        expect(await l.slice()).toEqual([2, 1, 3]);
        await l.sort();
        expect(await l.slice()).toEqual([1, 2, 3]);
        await twin(h, l).sort({ reverse: true });
        expect(await l.slice()).toEqual([3, 2, 1]);
        const words = manager().list(['b', 'a', 'B', 'é', 'aa']);
        await words.sort();
        expect(await words.slice()).toEqual(['B', 'a', 'aa', 'b', 'é']);
        const pairs = manager().list([
          [2, 'x'],
          [1, 'z'],
          [2, 'a'],
          [1, 'y'],
        ]);
        await pairs.sort();
        expect(await pairs.slice()).toEqual([
          [1, 'y'],
          [1, 'z'],
          [2, 'a'],
          [2, 'x'],
        ]);
        const mixed = manager().list<unknown>([1, 'a']);
        await expectRejectsCode(mixed.sort(), ErrorCodes.INVALID_ARGUMENT);
        await expectRejectsCode(l.sort({ key: (x: number) => -x } as never), ErrorCodes.INVALID_ARGUMENT);
        expect(await mixed.slice()).toEqual([1, 'a']);
      });

      it('is async-iterable: for await yields its elements in order', async () => {
        const l = manager().list<number>([1, 2, 3]);
        const seen: number[] = [];
        for await (const x of l) seen.push(x);
        expect(seen).toEqual([1, 2, 3]);
      });

      it('holds other managed lists and dicts, which come back as proxies of the same objects (CPython nests proxies)', async () => {
        const m = manager();
        const inner = m.dict<number>({ n: 1 });
        const items = m.list<number>([1]);
        const outer = m.list<unknown>([inner]);
        await outer.append({ items });
        const got = (await outer.get(0)) as typeof inner;
        expect(got.kind).toBe('DictProxy');
        await got.set('n', 2);
        expect(await inner.get('n')).toBe(2);
        // Read back by another party, and through every read that returns values.
        const seen = (await twin(h, outer).slice()) as [typeof inner, { items: typeof items }];
        await seen[1].items.append(2);
        expect(await items.slice()).toEqual([1, 2]);
        const d = m.dict<unknown>({ list: items });
        expect(await ((await d.get('list')) as typeof items).length()).toBe(2);
        const [[, fromEntries]] = (await d.entries()) as [[string, typeof items]];
        expect(await fromEntries.get(-1)).toBe(2);
        expect(await ((await d.copy()).list as typeof items).length()).toBe(2);
        expect(await ((await d.pop('list')) as typeof items).length()).toBe(2);
        expect(await ((await outer.pop(0)) as typeof inner).get('n')).toBe(2);
      });

      it('refuses a primitive other than a managed list or dict as a value, before any effect', async () => {
        const l = manager().list<unknown>();
        await expectRejectsCode(l.append(h.primitives().Lock()), ErrorCodes.NOT_SERIALIZABLE);
        expect(await l.length()).toBe(0);
      });

      it('refuses a class instance as a value, naming its class, before any effect', async () => {
        // It would be read back as a plain { x, y } without its methods.
        const l = manager().list<unknown>();
        await expectRefusedInstance(l.append(new Point(1, 2)), 'Point');
        await expectRefusedInstance(l.extend([1, { p: new Point() }]), 'Point');
        expect(await l.length()).toBe(0);
        const d = manager().dict<unknown>();
        await expectRefusedInstance(d.set('k', [new Point()]), 'Point');
        expect(await d.has('k')).toBe(false);
        expect(() => manager().dict({ p: new Point() })).toThrow(
          expect.objectContaining({ className: 'Point' }),
        );
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
