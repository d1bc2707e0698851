import { describe, expect, it } from 'vitest';
import type { JoinableQueue, Queue, SimpleQueue } from '../../../src/api/queues.js';
import {
  ClosedError,
  Empty,
  ErrorCodes,
  Full,
  InvalidArgumentError,
  NotSerializableError,
  OverReleaseError,
} from '../../../src/errors.js';
import { SHARE, type SyncHandle } from '../../../src/handles.js';
import { connection } from '../../../src/local/sync/connection.js';
import { queues } from '../../../src/local/sync/queues.js';
import { RING_BYTES } from '../../../src/local/sync/ring.js';
import { pattern } from '../../fixtures/threads/ring-pattern.js';
import { succeeded, useRingThreads } from './ring-threads.js';

const thread = useRingThreads();
const make = queues.make() as {
  Queue<T>(maxsize?: number): Queue<T>;
  JoinableQueue<T>(maxsize?: number): JoinableQueue<T>;
  SimpleQueue<T>(): SimpleQueue<T>;
};

function revive<T>(h: SyncHandle): T {
  const fn = queues.revive[h.kind];
  if (fn === undefined) throw new Error(`no reviver for ${h.kind}`);
  return fn(h) as T;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
}

describe('Queue', () => {
  describe('put() and get()', () => {
    it('keep FIFO order for more items than the ring holds, put before any get', async () => {
      const q = make.Queue<number>();
      const n = 30_000; // ~5 bytes each framed: over twice the ring
      for (let i = 0; i < n; i++) await q.put(i);
      expect(await q.qsize()).toBe(n);
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push(await q.get());
      expect(out).toEqual(Array.from({ length: n }, (_, i) => i));
      expect(await q.empty()).toBe(true);
    });

    it('carry every structured-clone type', async () => {
      const q = make.Queue();
      const items: unknown[] = [
        undefined,
        null,
        Number.NaN,
        -0,
        12345678901234567890n,
        'é ✓',
        new Date(86_400_000),
        /ab+c/gi,
        new Map<unknown, unknown>([[1, { a: [1, 2] }]]),
        new Set(['x', 3]),
        new Float64Array([1.5, -2]),
        new BigInt64Array([-5n]),
        new Uint8Array([1, 2, 3]).buffer,
        { nested: { deep: [true, false, { x: null }] } },
      ];
      for (const x of items) await q.put(x);
      const out: unknown[] = [];
      for (const _ of items) out.push(await q.get());
      expect(out).toEqual(items);
      expect(Object.is(out[3], -0)).toBe(true);
    });

    it('carry an item 10 times the ring size intact from another thread', async () => {
      const q = make.Queue<Uint8Array>();
      const producing = thread(q, { op: 'put', bytes: 10 * RING_BYTES });
      const got = await q.get();
      expect(succeeded(await producing)).toBeNull();
      // Buffer.equals: a deep toEqual over 640 KiB element by element takes seconds.
      expect(Buffer.from(got).equals(pattern(10 * RING_BYTES))).toBe(true);
    });

    it('deliver every item exactly once, in each producer order, with 3 producer and 3 consumer threads', async () => {
      const q = make.Queue<{ p: number; i: number } | null>(50);
      const count = 2000;
      const consumers = [0, 1, 2].map(() => thread(q, { op: 'drain' }));
      const producers = [0, 1, 2].map((id) => thread(q, { op: 'produce', id, count, sentinels: 1 }));
      expect((await Promise.all(producers)).map((o) => succeeded(o))).toEqual([count, count, count]);
      const drained = (await Promise.all(consumers)).map((o) => succeeded<{ p: number; i: number }[]>(o));
      for (const got of drained) {
        for (const p of [0, 1, 2]) {
          const seq = got.filter((x) => x.p === p).map((x) => x.i);
          expect(seq).toEqual([...seq].sort((a, b) => a - b));
        }
      }
      const all = drained.flat().map((x) => x.p * count + x.i);
      expect(all.length).toBe(3 * count);
      expect(new Set(all).size).toBe(3 * count);
      expect(await q.qsize()).toBe(0);
    });

    it('throw NotSerializableError for a function, leaving the queue usable', async () => {
      const q = make.Queue<unknown>(2);
      await q.put(1);
      const e = await rejection(q.put(() => 1));
      expect(e).toBeInstanceOf(NotSerializableError);
      expect(await q.qsize()).toBe(1);
      await q.put(2);
      expect([await q.get(), await q.get()]).toEqual([1, 2]);
    });

    it('reject bad options before any effect', async () => {
      const q = make.Queue<number>();
      expect(await rejection(q.put(1, { timeoutMs: '1' as never }))).toBeInstanceOf(InvalidArgumentError);
      expect(await rejection(q.get({ timeoutMs: Number.NaN }))).toBeInstanceOf(InvalidArgumentError);
      expect(await rejection(q.put(1, { block: 'no' as unknown as boolean }))).toBeInstanceOf(
        InvalidArgumentError,
      );
      expect(await rejection(q.get({ wait: 1 } as never))).toBeInstanceOf(InvalidArgumentError);
      expect(await q.qsize()).toBe(0);
    });
  });

  describe('put()', () => {
    it('waits on a full queue until a get in another thread makes room', async () => {
      const q = make.Queue<number>(1);
      await q.put(1);
      const blocked = q.put(2);
      expect(succeeded(await thread(q, { op: 'get' }))).toBe(1);
      await blocked;
      expect(await q.get()).toBe(2);
    });

    it('keeps the order of puts not awaited one by one while the queue is full', async () => {
      const q = make.Queue<number>(1);
      await q.put(0);
      const first = q.put(1); // waits for a slot
      expect(await q.get()).toBe(0); // frees one: the waiting put wakes on a later turn of the loop
      const second = q.put(2); // issued before that wake: must not take the slot freed for put(1)
      expect(await q.get()).toBe(1);
      expect(await q.get()).toBe(2);
      await Promise.all([first, second]);
    });

    it('throws Full at once when not blocking, and when timeoutMs runs out', async () => {
      const q = make.Queue<number>(2);
      await q.put(1);
      await q.putNowait(2);
      expect(await q.full()).toBe(true);
      expect(await rejection(q.putNowait(3))).toBeInstanceOf(Full);
      expect(await rejection(q.put(3, { timeoutMs: 20 }))).toBeInstanceOf(Full);
      expect(await q.qsize()).toBe(2);
    });
  });

  describe('get()', () => {
    it('throws Empty at once when not blocking, and when timeoutMs runs out', async () => {
      const q = make.Queue();
      expect(await rejection(q.getNowait())).toBeInstanceOf(Empty);
      expect(await rejection(q.get({ timeoutMs: 20 }))).toBeInstanceOf(Empty);
    });

    it('resolves an item put by another thread while it waits', async () => {
      const q = make.Queue<string>();
      const waiting = q.get({ timeoutMs: 20_000 });
      succeeded(await thread(q, { op: 'put', value: 'late' }));
      expect(await waiting).toBe('late');
    });
  });

  describe('close()', () => {
    it('refuses put and get through this handle only (ClosedError)', async () => {
      const q = make.Queue<number>();
      const other = revive<Queue<number>>(q[SHARE]());
      await q.put(1);
      await q.close();
      expect(await rejection(q.put(2))).toBeInstanceOf(ClosedError);
      expect(await rejection(q.get())).toBeInstanceOf(ClosedError);
      expect(await other.get()).toBe(1);
    });

    it('is what await using calls', async () => {
      let kept: Queue | undefined;
      {
        await using q = make.Queue();
        kept = q;
      }
      expect(await rejection(kept.put(1))).toBeInstanceOf(ClosedError);
    });
  });

  describe('handle', () => {
    it('is plain numbers, and revives on the same queue', async () => {
      const q = make.Queue<number>(3);
      const h = q[SHARE]();
      expect(h).toEqual({
        $fanfold: 'handle',
        ctx: 'local',
        kind: 'Queue',
        data: { at: expect.any(Number), maxsize: 3 },
      });
      await revive<Queue<number>>(h).put(7);
      expect(await q.get()).toBe(7);
    });

    it.each([
      ['data of the wrong type', (h: SyncHandle) => ({ ...h, data: null })],
      ['an offset of the wrong type', (h: SyncHandle) => ({ ...h, data: { ...h.data, at: 'x' } })],
      ['an offset outside the arena', (h: SyncHandle) => ({ ...h, data: { ...h.data, at: 2 ** 31 } })],
      [
        'an unaligned offset',
        (h: SyncHandle) => ({ ...h, data: { ...h.data, at: (h.data.at as number) + 4 } }),
      ],
      ['another maxsize', (h: SyncHandle) => ({ ...h, data: { ...h.data, maxsize: 9 } })],
      ['the kind of another queue', (h: SyncHandle) => ({ ...h, kind: 'SimpleQueue' })],
      [
        'the offset of a pipe',
        (h: SyncHandle) => {
          const [a] = (connection.make() as unknown as { Pipe(): [{ [SHARE](): SyncHandle }] }).Pipe();
          return { ...h, data: { ...h.data, at: a[SHARE]().data.recv } };
        },
      ],
    ])('is refused with %s', (_, spoil) => {
      const h = spoil(make.Queue<number>(3)[SHARE]());
      let thrown: unknown;
      try {
        revive(h as SyncHandle);
      } catch (e) {
        thrown = e;
      }
      expect((thrown as { code?: string }).code).toBe(ErrorCodes.INVALID_ARGUMENT);
    });
  });

  it('rejects a maxsize that is not an integer >= 0', () => {
    expect(() => make.Queue(-1)).toThrow(InvalidArgumentError);
    expect(() => make.Queue(1.5)).toThrow(InvalidArgumentError);
  });
});

describe('JoinableQueue', () => {
  describe('join()', () => {
    it('resolves true once a worker thread marked every item done', async () => {
      const q = make.JoinableQueue<number>();
      for (let i = 0; i < 100; i++) await q.put(i);
      const joined = q.join();
      succeeded(await thread(q, { op: 'work', count: 100 }));
      expect(await joined).toBe(true);
    });

    it('resolves false when timeoutMs runs out with work unfinished', async () => {
      const q = make.JoinableQueue<number>();
      await q.put(1);
      await q.get();
      expect(await q.join(20)).toBe(false);
      await q.taskDone();
      expect(await q.join(0)).toBe(true);
    });

    it('treats a negative timeoutMs as 0, as CPython does, and rejects NaN', async () => {
      const q = make.JoinableQueue();
      expect(await q.join(-1)).toBe(true);
      await q.put(1);
      expect(await q.join(-1)).toBe(false);
      expect(await rejection(q.join(Number.NaN))).toBeInstanceOf(InvalidArgumentError);
    });
  });

  describe('taskDone()', () => {
    it('throws OverReleaseError when called more often than items were put', async () => {
      const q = make.JoinableQueue<number>();
      expect(await rejection(q.taskDone())).toBeInstanceOf(OverReleaseError);
      await q.put(1);
      await q.get();
      await q.taskDone();
      expect(await rejection(q.taskDone())).toBeInstanceOf(OverReleaseError);
    });
  });
});

describe('SimpleQueue', () => {
  it('carries items from another thread in order and tells whether it is empty', async () => {
    const q = make.SimpleQueue<{ p: number; i: number } | null>();
    expect(await q.empty()).toBe(true);
    succeeded(await thread(q, { op: 'produce', id: 0, count: 500, sentinels: 1 }));
    expect(await q.empty()).toBe(false);
    const got: number[] = [];
    for (let x = await q.get(); x !== null; x = await q.get()) got.push(x.i);
    expect(got).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(await q.empty()).toBe(true);
  });

  it('refuses put and get after close()', async () => {
    const q = make.SimpleQueue();
    await q.close();
    expect(await rejection(q.put(1))).toBeInstanceOf(ClosedError);
    expect(await rejection(q.get())).toBeInstanceOf(ClosedError);
  });
});
