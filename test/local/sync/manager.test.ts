/**
 * The local Manager (its own thread serving dict and list proxies), beyond the primitives contract
 * (test/contract/primitives, run here by test/local/primitives.test.ts): exact totals and per-thread
 * order under real threads, views in insertion order, operations batched together failing alone,
 * shutdown seen from other threads and a manager whose thread ended, the reply wait, handles.
 */
import { once } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import type { DictProxy, ListProxy, Manager } from '../../../src/api/managers.js';
import { ErrorCodes, InvalidArgumentError, ProtocolError } from '../../../src/errors.js';
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

    it('an uncloneable value fails only its own operation among those sent together', async () => {
      const d = manager().dict<unknown>();
      const out = await Promise.allSettled([d.set('a', 1), d.set('f', () => 1), d.set('b', 2)]);
      expect(out.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(await d.copy()).toEqual({ a: 1, b: 2 });
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
