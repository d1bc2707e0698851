/** Manager with dict and list proxies, as CPython's `SyncManager`. */
import { afterEach, describe, expect, it } from 'vitest';
import type { Manager } from '../../../src/api/managers.js';
import { ErrorCodes, expectRejectsCode, type Party, type PrimitivesHarness, twin } from './harness.js';

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

      it('rejects an index out of range and pop on an empty list', async () => {
        const l = manager().list<number>([1]);
        await expectRejectsCode(l.get(1), ErrorCodes.INVALID_ARGUMENT);
        await expectRejectsCode(l.get(-2), ErrorCodes.INVALID_ARGUMENT);
        await l.clear();
        await expectRejectsCode(l.pop(), ErrorCodes.INVALID_ARGUMENT);
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
