/**
 * The local queues, beyond the primitives contract (test/contract/primitives, run here by
 * test/local/primitives.test.ts): the shared-memory ring (more items than it holds, an item ten
 * times its size, the order of puts waiting for room), many producers and consumers on real
 * threads, close() ending only the handle it is called on, and the handle's arena offsets.
 */
import { describe, expect, it } from 'vitest';
import type { JoinableQueue, Queue, SimpleQueue } from '../../../src/api/queues.js';
import { ClosedError, ErrorCodes } from '../../../src/errors.js';
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
  });

  describe('put()', () => {
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
});
