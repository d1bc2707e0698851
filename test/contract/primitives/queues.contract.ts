/** Queue, JoinableQueue and SimpleQueue, as CPython's `multiprocessing.queues`. */
import { afterEach, describe, expect, it } from 'vitest';
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

/** An item over the SQS message limit (1 MiB): it must travel through the blob store, whole. */
const BIG = 'x'.repeat(1_200_000);

/** Declares the queue tests. */
export function queueContract(h: PrimitivesHarness): void {
  const short = h.shortMs ?? 100;
  const parties: Party[] = [];
  afterEach(async () => {
    await Promise.all(parties.splice(0).map((p) => p.close()));
  });

  describe('Queue', () => {
    it('keeps FIFO order and carries every structured-clone type', async () => {
      await using q = h.primitives().Queue<unknown>();
      expect(q.kind).toBe('Queue');
      expect(q.maxsize).toBe(0);
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
      expect(await q.qsize()).toBe(items.length);
      const out: unknown[] = [];
      for (let i = 0; i < items.length; i++) out.push(await twin(h, q).get());
      expect(out).toEqual(items);
      expect(Object.is(out[3], -0)).toBe(true);
      expect(await q.empty()).toBe(true);
    });

    it('rejects an item that cannot be cloned with NotSerializableError, staying usable', async () => {
      await using q = h.primitives().Queue<unknown>(2);
      await q.put(1);
      await expectRejectsCode(
        q.put(() => 1),
        ErrorCodes.NOT_SERIALIZABLE,
      );
      expect(await q.qsize()).toBe(1);
      await q.put(2);
      expect([await q.get(), await q.get()]).toEqual([1, 2]);
    });

    it('refuses a class instance at put, naming its class, before anything is queued (every kind)', async () => {
      // Structured clone would hand the receiver a plain { x, y } without norm(), silently.
      await using q = h.primitives().Queue<unknown>(2);
      await using j = h.primitives().JoinableQueue<unknown>();
      await using s = h.primitives().SimpleQueue<unknown>();
      await expectRefusedInstance(q.put(new Point(1, 2)), 'Point');
      await expectRefusedInstance(q.putNowait([1, { at: new Point() }]), 'Point');
      await expectRefusedInstance(j.put(new Map([['p', new Point()]])), 'Point');
      await expectRefusedInstance(s.put(new Point()), 'Point');
      expect(await q.qsize()).toBe(0);
      expect(await q.empty()).toBe(true);
      expect(await j.empty()).toBe(true);
      expect(await s.empty()).toBe(true);
      // Nothing counted: join() does not wait for an item that was never put, and no slot was taken.
      await j.join();
      await q.put({ ...new Point(3, 4) });
      await q.put(2);
      expect([await twin(h, q).get(), await q.get()]).toEqual([{ x: 3, y: 4 }, 2]);
    });

    it('rejects bad options before any effect', async () => {
      await using q = h.primitives().Queue<number>();
      await expectRejectsCode(q.put(1, { timeoutMs: '1' as never }), ErrorCodes.INVALID_ARGUMENT);
      await expectRejectsCode(q.get({ timeoutMs: Number.NaN }), ErrorCodes.INVALID_ARGUMENT);
      await expectRejectsCode(q.put(1, { block: 'no' as never }), ErrorCodes.INVALID_ARGUMENT);
      await expectRejectsCode(q.get({ wait: 1 } as never), ErrorCodes.INVALID_ARGUMENT);
      expect(await q.qsize()).toBe(0);
    });

    it('is closed by await using', async () => {
      let kept: { put(x: unknown): Promise<void> } | undefined;
      {
        await using q = h.primitives().Queue();
        kept = q;
      }
      await expectRejectsCode(kept.put(1), ErrorCodes.CLOSED);
    });

    describe('get()', () => {
      it('throws Empty at once without blocking', async () => {
        await using q = h.primitives().Queue();
        await expectRejectsCode(q.getNowait(), ErrorCodes.EMPTY);
        await expectRejectsCode(q.get({ block: false }), ErrorCodes.EMPTY);
      });

      it('throws Empty when timeoutMs runs out (CPython: queue.Empty)', async () => {
        await using q = h.primitives().Queue();
        await expectRejectsCode(q.get({ timeoutMs: short }), ErrorCodes.EMPTY);
      });

      it('resolves an item another party puts while it waits', async () => {
        await using q = h.primitives().Queue<string>();
        const waiting = q.get({ timeoutMs: 10_000 });
        const other = await h.party();
        parties.push(other);
        await other.call(q, 'put', 'hello');
        expect(await waiting).toBe('hello');
      });

      it('treats a negative timeoutMs as 0 (Empty at once), as CPython does, and rejects NaN', async () => {
        await using q = h.primitives().Queue();
        await expectRejectsCode(q.get({ timeoutMs: -1 }), ErrorCodes.EMPTY);
        await expectRejectsCode(q.get({ timeoutMs: Number.NaN }), ErrorCodes.INVALID_ARGUMENT);
      });
    });

    describe('put()', () => {
      it('throws Full at once on a full queue, keeping what it holds', async () => {
        await using q = h.primitives().Queue<number>(1);
        await q.put(1);
        expect(await q.full()).toBe(true);
        await expectRejectsCode(q.putNowait(2), ErrorCodes.FULL);
        await expectRejectsCode(q.put(2, { block: false }), ErrorCodes.FULL);
        expect(await q.qsize()).toBe(1);
        expect(await q.get()).toBe(1);
      });

      it('throws Full when timeoutMs runs out (CPython: queue.Full)', async () => {
        await using q = h.primitives().Queue<number>(1);
        await q.put(1);
        await expectRejectsCode(q.put(2, { timeoutMs: short }), ErrorCodes.FULL);
      });

      it('waits on a full queue and delivers the item once there is room (never drops it)', async () => {
        await using q = h.primitives().Queue<number>(1);
        await q.put(1);
        const blocked = q.put(2, { timeoutMs: 10_000 });
        expect(await twin(h, q).get()).toBe(1);
        await blocked;
        expect(await q.get()).toBe(2);
      });

      it('carries an item over the SQS limit whole', async () => {
        await using q = h.primitives().Queue<string>();
        await q.put(BIG);
        expect(await twin(h, q).get({ timeoutMs: 10_000 })).toBe(BIG);
      });

      it('throws ClosedError after close()', async () => {
        const q = h.primitives().Queue();
        await q.close();
        await expectRejectsCode(q.put(1), ErrorCodes.CLOSED);
      });
    });

    it('rejects a maxsize that is not an integer >= 0', () => {
      expectThrowsCode(() => h.primitives().Queue(-1), ErrorCodes.INVALID_ARGUMENT);
      expectThrowsCode(() => h.primitives().Queue(1.5), ErrorCodes.INVALID_ARGUMENT);
    });
  });

  describe('JoinableQueue', () => {
    describe('taskDone()', () => {
      it('throws OverReleaseError when called more often than items were put', async () => {
        await using q = h.primitives().JoinableQueue<number>();
        expect(q.kind).toBe('JoinableQueue');
        await expectRejectsCode(q.taskDone(), ErrorCodes.OVER_RELEASE);
        await q.put(1);
        await q.get();
        await q.taskDone();
        await expectRejectsCode(q.taskDone(), ErrorCodes.OVER_RELEASE);
      });
    });

    describe('join()', () => {
      it('resolves true once every item put was marked done', async () => {
        await using q = h.primitives().JoinableQueue<number>();
        await q.put(1);
        await q.put(2);
        const joined = q.join(10_000);
        const consumer = twin(h, q);
        for (let i = 0; i < 2; i++) {
          await consumer.get();
          await consumer.taskDone();
        }
        expect(await joined).toBe(true);
      });

      it('resolves false when timeoutMs runs out with work unfinished, true once it is done', async () => {
        await using q = h.primitives().JoinableQueue<number>();
        await q.put(1);
        await q.get();
        expect(await q.join(short)).toBe(false);
        await q.taskDone();
        expect(await q.join(0)).toBe(true);
      });

      it('rejects a NaN timeoutMs', async () => {
        await using q = h.primitives().JoinableQueue();
        await expectRejectsCode(q.join(Number.NaN), ErrorCodes.INVALID_ARGUMENT);
      });

      it('resolves true at once when nothing was put', async () => {
        await using q = h.primitives().JoinableQueue();
        expect(await q.join(short)).toBe(true);
      });
    });
  });

  describe('SimpleQueue', () => {
    it('puts and gets in order, and tells whether it is empty', async () => {
      await using q = h.primitives().SimpleQueue<number>();
      expect(q.kind).toBe('SimpleQueue');
      expect(await q.empty()).toBe(true);
      await q.put(1);
      await q.put(2);
      expect(await q.empty()).toBe(false);
      const same = twin(h, q);
      expect([await same.get(), await same.get()]).toEqual([1, 2]);
    });

    it('get() waits for an item', async () => {
      await using q = h.primitives().SimpleQueue<string>();
      const waiting = q.get();
      await twin(h, q).put('late');
      expect(await waiting).toBe('late');
    });

    it('throws ClosedError from empty(), put() and get() after close(), as CPython raises', async () => {
      const q = h.primitives().SimpleQueue<number>();
      await q.close();
      await expectRejectsCode(q.empty(), ErrorCodes.CLOSED);
      await expectRejectsCode(q.put(1), ErrorCodes.CLOSED);
      await expectRejectsCode(q.get(), ErrorCodes.CLOSED);
    });
  });
}
