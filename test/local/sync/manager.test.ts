import { once } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import type { DictProxy, ListProxy, Manager } from '../../../src/api/managers.js';
import {
  ErrorCodes,
  InvalidArgumentError,
  NotSerializableError,
  ProtocolError,
} from '../../../src/errors.js';
import { SHARE, type SyncHandle } from '../../../src/handles.js';
import { arena } from '../../../src/local/sync/arena.js';
import { reviveLocal } from '../../../src/local/sync/index.js';
import { LocalManager } from '../../../src/local/sync/manager.js';
import type { ManagerJob } from '../../fixtures/threads/manager.thread.js';
import { nextMessage, useThreadFixture } from '../../support/threads.js';

const managers: Manager[] = [];

afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.shutdown()));
});

// Registered after the managers' hook: vitest runs after-hooks last-registered first, so a test's
// threads are terminated before its managers shut down.
const threads = useThreadFixture(new URL('../../fixtures/threads/manager.thread.ts', import.meta.url));

function manager(): Manager {
  const m = new LocalManager();
  managers.push(m);
  return m;
}

function thread(job: ManagerJob, handle?: SyncHandle): Worker {
  return threads.start({ arena: arena().sab, handle, job });
}

async function next<T = unknown>(w: Worker): Promise<T> {
  const m = await nextMessage(w);
  if (typeof m === 'object' && m !== null && 'error' in m) throw new Error(String(m.error));
  return m as T;
}

describe('Manager', () => {
  describe('dict()', () => {
    it('gives exact totals for increments from four threads', async () => {
      const d = manager().dict<number>();
      const ws = Array.from({ length: 4 }, () => thread({ job: 'increment', count: 500 }, d[SHARE]()));
      await Promise.all(ws.map((w) => next(w)));
      expect(await d.get('n')).toBe(2000);
    });

    it('get resolves a stored value and undefined for a missing key', async () => {
      const d = manager().dict({ a: 1 });
      expect([await d.get('a'), await d.get('b')]).toEqual([1, undefined]);
    });

    it('set stores a copy of the value', async () => {
      const d = manager().dict<{ x: number }>();
      const v = { x: 1 };
      await d.set('k', v);
      v.x = 2;
      expect(await d.get('k')).toEqual({ x: 1 });
    });

    it('set stores the value as it was at the call, not as changed before the request went out', async () => {
      const d = manager().dict<{ x: number }>();
      const v = { x: 1 };
      const done = d.set('k', v);
      v.x = 2;
      await done;
      expect(await d.get('k')).toEqual({ x: 1 });
    });

    it('delete resolves whether the key was there', async () => {
      const d = manager().dict({ a: 1 });
      expect([await d.delete('a'), await d.delete('a'), await d.has('a')]).toEqual([true, false, false]);
    });

    it('has tells whether a key is present', async () => {
      const d = manager().dict({ a: undefined });
      expect([await d.has('a'), await d.has('b')]).toEqual([true, false]);
    });

    it('pop removes and resolves the value, or the fallback when absent', async () => {
      const d = manager().dict({ a: 1 });
      expect([await d.pop('a', 9), await d.pop('a', 9), await d.pop('a'), await d.size()]).toEqual([
        1,
        9,
        undefined,
        0,
      ]);
    });

    it('setDefault stores only when absent and resolves the stored value', async () => {
      const d = manager().dict({ a: 1 });
      expect([await d.setDefault('a', 2), await d.setDefault('b', 3)]).toEqual([1, 3]);
      expect(await d.copy()).toEqual({ a: 1, b: 3 });
    });

    it('increment starts from 0 and adds delta', async () => {
      const d = manager().dict<number>();
      expect([await d.increment('n'), await d.increment('n', 2.5), await d.increment('n', -1)]).toEqual([
        1, 3.5, 2.5,
      ]);
    });

    it('increment of a key holding a non-number throws InvalidArgumentError', async () => {
      const d = manager().dict<unknown>({ s: 'x' });
      await expect(d.increment('s')).rejects.toBeInstanceOf(InvalidArgumentError);
    });

    it('update sets every entry; keys, values, entries, size and copy see them in insertion order', async () => {
      const d = manager().dict({ a: 1 });
      await d.update({ b: 2, a: 3 });
      expect(await d.keys()).toEqual(['a', 'b']);
      expect(await d.values()).toEqual([3, 2]);
      expect(await d.entries()).toEqual([
        ['a', 3],
        ['b', 2],
      ]);
      expect(await d.size()).toBe(2);
      expect(await d.copy()).toEqual({ a: 3, b: 2 });
    });

    it('clear removes every key', async () => {
      const d = manager().dict({ a: 1, b: 2 });
      await d.clear();
      expect(await d.size()).toBe(0);
    });

    it('rejects a non-string key before sending anything', async () => {
      const d = manager().dict();
      await expect(d.get(1 as unknown as string)).rejects.toBeInstanceOf(InvalidArgumentError);
    });

    it('a value that cannot be cloned throws NotSerializableError and the proxy stays usable', async () => {
      const d = manager().dict<unknown>();
      await expect(d.set('f', () => 1)).rejects.toBeInstanceOf(NotSerializableError);
      await d.set('k', 1);
      expect(await d.get('k')).toBe(1);
    });

    it('an uncloneable value fails only its own operation among those sent together', async () => {
      const d = manager().dict<unknown>();
      const out = await Promise.allSettled([d.set('a', 1), d.set('f', () => 1), d.set('b', 2)]);
      expect(out.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(await d.copy()).toEqual({ a: 1, b: 2 });
    });

    it('initial entries that cannot be cloned throw NotSerializableError', () => {
      expect(() => manager().dict({ f: Symbol('x') })).toThrow(NotSerializableError);
    });
  });

  describe('list()', () => {
    it('keeps every append of three threads, each thread in its order', async () => {
      const l = manager().list<string>();
      const ws = ['a', 'b', 'c'].map((tag) => thread({ job: 'append', count: 200, tag }, l[SHARE]()));
      await Promise.all(ws.map((w) => next(w)));
      const all = await l.slice();
      expect(all).toHaveLength(600);
      for (const tag of ['a', 'b', 'c']) {
        expect(all.filter((x) => x.startsWith(`${tag}:`))).toEqual(
          Array.from({ length: 200 }, (_, i) => `${tag}:${i}`),
        );
      }
    });

    it('get counts a negative index from the end', async () => {
      const l = manager().list([1, 2, 3]);
      expect([await l.get(0), await l.get(-1), await l.get(-3)]).toEqual([1, 3, 1]);
    });

    it('get out of range throws InvalidArgumentError', async () => {
      const l = manager().list([1]);
      await expect(l.get(1)).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(l.get(-2)).rejects.toBeInstanceOf(InvalidArgumentError);
    });

    it('set replaces an element and throws InvalidArgumentError out of range', async () => {
      const l = manager().list([1, 2]);
      await l.set(-1, 5);
      await expect(l.set(2, 0)).rejects.toBeInstanceOf(InvalidArgumentError);
      expect(await l.slice()).toEqual([1, 5]);
    });

    it('insert puts before index and clamps past either end, as CPython does', async () => {
      const l = manager().list<unknown>([1, 2]);
      await l.insert(1, 'x');
      await l.insert(-100, 'first');
      await l.insert(100, 'last');
      await l.insert(-1, 'y');
      expect(await l.slice()).toEqual(['first', 1, 'x', 2, 'y', 'last']);
    });

    it('pop removes the last element by default, or element index', async () => {
      const l = manager().list([1, 2, 3, 4]);
      expect([await l.pop(), await l.pop(0), await l.pop(-2)]).toEqual([4, 1, 2]);
      expect(await l.slice()).toEqual([3]);
    });

    it('pop of an empty list or out of range throws InvalidArgumentError', async () => {
      const l = manager().list<number>();
      await expect(l.pop()).rejects.toBeInstanceOf(InvalidArgumentError);
      await l.append(1);
      await expect(l.pop(3)).rejects.toBeInstanceOf(InvalidArgumentError);
    });

    it('slice follows Python slicing (negative bounds, clamped)', async () => {
      const l = manager().list([0, 1, 2, 3, 4]);
      expect([await l.slice(1, 3), await l.slice(-2), await l.slice(3, 1), await l.slice(-100, 100)]).toEqual(
        [[1, 2], [3, 4], [], [0, 1, 2, 3, 4]],
      );
    });

    it('extend, length and clear', async () => {
      const l = manager().list([1]);
      await l.extend([2, 3]);
      expect(await l.length()).toBe(3);
      await l.clear();
      expect(await l.length()).toBe(0);
    });

    it('rejects a fractional index', async () => {
      const l = manager().list([1]);
      await expect(l.get(0.5)).rejects.toBeInstanceOf(InvalidArgumentError);
    });
  });

  describe('shutdown()', () => {
    it('makes later operations throw ClosedError in this thread', async () => {
      const m = manager();
      const d = m.dict();
      const l = m.list();
      await m.shutdown();
      await expect(d.get('k')).rejects.toMatchObject({ code: ErrorCodes.CLOSED });
      await expect(l.append(1)).rejects.toMatchObject({ code: ErrorCodes.CLOSED });
    });

    it('makes later operations throw ClosedError in another thread', async () => {
      const m = manager();
      const d = m.dict({ k: 1 });
      await m.shutdown();
      expect(await next(thread({ job: 'get' }, d[SHARE]()))).toEqual({ code: ErrorCodes.CLOSED });
    });

    it('a request to a manager whose thread ended fails with ClosedError after the bounded wait', async () => {
      const w = thread({ job: 'orphan' });
      const exited = once(w, 'exit'); // listening first: the exit may follow the message at once
      const handle = await next<SyncHandle>(w);
      await exited;
      const before = process.env.FANFOLD_MANAGER_REPLY_MS;
      process.env.FANFOLD_MANAGER_REPLY_MS = '200';
      try {
        const d = reviveLocal(handle) as DictProxy;
        await expect(d.get('k')).rejects.toMatchObject({ code: ErrorCodes.CLOSED });
      } finally {
        if (before === undefined) delete process.env.FANFOLD_MANAGER_REPLY_MS;
        else process.env.FANFOLD_MANAGER_REPLY_MS = before;
      }
    });
  });

  describe('FANFOLD_MANAGER_REPLY_MS', () => {
    it('rejects an operation with InvalidArgumentError when malformed', async () => {
      const d = manager().dict();
      const before = process.env.FANFOLD_MANAGER_REPLY_MS;
      process.env.FANFOLD_MANAGER_REPLY_MS = 'soon';
      try {
        await expect(d.get('k')).rejects.toBeInstanceOf(InvalidArgumentError);
      } finally {
        if (before === undefined) delete process.env.FANFOLD_MANAGER_REPLY_MS;
        else process.env.FANFOLD_MANAGER_REPLY_MS = before;
      }
    });
  });

  describe('revive', () => {
    it('a revived proxy in another thread sees the same dict', async () => {
      const d = manager().dict({ k: 'v' });
      expect(await next(thread({ job: 'get' }, d[SHARE]()))).toEqual({ value: 'v' });
    });

    it('an idle proxy does not keep its thread alive', async () => {
      const d = manager().dict({ k: 'v' });
      const w = thread({ job: 'get' }, d[SHARE]());
      const exited = once(w, 'exit');
      await next(w);
      const [code] = await exited;
      expect(code).toBe(0);
    });

    it.each([
      ['a bad channel', { channel: 'x' }, ProtocolError],
      ['a state word outside the arena', { state: 3 }, InvalidArgumentError],
      ['a negative object id', { object: -1 }, InvalidArgumentError],
      ['a string object id', { object: '0' }, InvalidArgumentError],
    ])('rejects a handle with %s', (_, patch, cls) => {
      const h = manager().dict()[SHARE]();
      expect(() => reviveLocal({ ...h, data: { ...h.data, ...patch } })).toThrow(cls);
    });

    it('rejects a handle without data', () => {
      const h = manager().list()[SHARE]();
      expect(() => reviveLocal({ ...h, data: null as never })).toThrow(ProtocolError);
    });

    it('a handle naming an object the manager lacks fails with ProtocolError', async () => {
      const h = manager().dict()[SHARE]();
      const other = reviveLocal({ ...h, kind: 'ListProxy' }) as ListProxy;
      await expect(other.length()).rejects.toBeInstanceOf(ProtocolError);
    });
  });

  it.each([1, 64])(
    'prints the ops/s of dict increment across two threads, %i in flight each',
    async (inflight) => {
      const d = manager().dict<number>();
      const count = 20_000;
      const ws = [0, 1].map(() => thread({ job: 'bench', count, inflight }, d[SHARE]()));
      await Promise.all(ws.map((w) => once(w, 'online')));
      const done = ws.map((w) => next<number>(w));
      for (const w of ws) w.postMessage('go');
      const ms = Math.max(...(await Promise.all(done)));
      expect(await d.get('n')).toBe(2 * count);
      console.log(
        `local Manager dict.increment, 2 threads x ${count}, ${inflight} in flight each: ${Math.round((2 * count * 1000) / ms)} ops/s`,
      );
    },
  );
});
