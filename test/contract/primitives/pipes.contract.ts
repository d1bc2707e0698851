/** Pipe and its Connection ends, as CPython's `multiprocessing.Pipe`. */
import { afterEach, describe, expect, it } from 'vitest';
import type { Connection } from '../../../src/api/connection.js';
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

const BIG = 'y'.repeat(1_200_000);

/** Declares the Pipe tests. */
export function pipeContract(h: PrimitivesHarness): void {
  const short = h.shortMs ?? 100;
  const parties: Party[] = [];
  const ends: Connection[] = [];
  /** A pipe whose ends are closed after the test. */
  const pipe = <T>(duplex?: boolean): [Connection<T>, Connection<T>] => {
    const p = h.primitives().Pipe<T>(duplex);
    ends.push(...(p as Connection[]));
    return p;
  };
  afterEach(async () => {
    await Promise.all(parties.splice(0).map((p) => p.close()));
    await Promise.all(ends.splice(0).map((c) => (c.closed ? undefined : c.close().catch(() => {}))));
  });

  describe('Pipe', () => {
    it('is duplex by default: each end sends to the other, in order', async () => {
      const [a, b] = pipe<unknown>();
      expect(a.kind).toBe('Connection');
      expect([a.readable, a.writable, b.readable, b.writable]).toEqual([true, true, true, true]);
      for (let i = 0; i < 5; i++) await a.send({ i });
      await b.send('back');
      expect(await a.recv()).toBe('back');
      const got = [];
      for (let i = 0; i < 5; i++) got.push(await b.recv());
      expect(got).toEqual([0, 1, 2, 3, 4].map((i) => ({ i })));
    });

    it('one-way: the first end only receives, the second only sends', async () => {
      const [r, w] = pipe<number>(false);
      expect([r.readable, r.writable, w.readable, w.writable]).toEqual([true, false, false, true]);
      await w.send(1);
      expect(await r.recv()).toBe(1);
      await expectRejectsCode(r.send(2), ErrorCodes.CLOSED);
      await expectRejectsCode(w.recv(), ErrorCodes.CLOSED);
    });

    it('rejects a duplex that is not a boolean', () => {
      expectThrowsCode(() => h.primitives().Pipe('yes' as never), ErrorCodes.INVALID_ARGUMENT);
    });

    it('rejects a message that cannot be cloned with NotSerializableError, staying usable', async () => {
      const [a, b] = pipe<unknown>();
      await expectRejectsCode(
        a.send(() => 1),
        ErrorCodes.NOT_SERIALIZABLE,
      );
      await a.send('after');
      expect(await b.recv()).toBe('after');
      expect(await b.poll()).toBe(false);
    });

    it('refuses a class instance at send, naming its class, before anything is sent', async () => {
      // Structured clone would hand the other end a plain { x, y } without norm(), silently.
      const [a, b] = pipe<unknown>();
      await expectRefusedInstance(a.send(new Point(1, 2)), 'Point');
      await expectRefusedInstance(b.send({ points: [new Point()] }), 'Point');
      expect(await b.poll()).toBe(false);
      expect(await a.poll()).toBe(false);
      await a.send({ ...new Point(1, 2) });
      expect(await b.recv()).toEqual({ x: 1, y: 2 });
    });

    it('carries a message over the SQS limit whole', async () => {
      const [a, b] = pipe<string>();
      await a.send(BIG);
      expect(await b.recv()).toBe(BIG);
    });

    it('carries a message from another party', async () => {
      const [a, b] = pipe<string>();
      const other = await h.party();
      parties.push(other);
      await other.call(b, 'send', 'from the child');
      expect(await a.recv()).toBe('from the child');
    });

    describe('poll()', () => {
      it('resolves false with nothing to read: at once by default, or when timeoutMs runs out', async () => {
        const [a] = pipe();
        expect(await a.poll()).toBe(false);
        expect(await a.poll(short)).toBe(false);
      });

      it('treats a negative timeoutMs as 0, as CPython does, and rejects NaN', async () => {
        const [a] = pipe();
        expect(await a.poll(-1)).toBe(false);
        await expectRejectsCode(a.poll(Number.NaN), ErrorCodes.INVALID_ARGUMENT);
      });

      it('resolves true once a message is ready, without taking it (Infinity: as long as it takes)', async () => {
        const [a, b] = pipe<number>();
        const polling = a.poll(Number.POSITIVE_INFINITY);
        await twin(h, b).send(9);
        expect(await polling).toBe(true);
        expect(await a.poll()).toBe(true);
        expect(await a.recv()).toBe(9);
      });
    });

    describe('close()', () => {
      it('lets the other end read what was sent, then recv() throws ClosedError', async () => {
        const [a, b] = pipe<number>();
        await a.send(1);
        await a.close();
        expect(a.closed).toBe(true);
        expect(await b.recv()).toBe(1);
        await expectRejectsCode(b.recv(), ErrorCodes.CLOSED);
      });

      it('makes send() and recv() on the closed end throw ClosedError', async () => {
        const [a] = pipe<number>();
        await a.close();
        await expectRejectsCode(a.send(1), ErrorCodes.CLOSED);
        await expectRejectsCode(a.recv(), ErrorCodes.CLOSED);
      });

      it('wakes a recv() waiting on the other end, which throws ClosedError', async () => {
        const [a, b] = pipe<number>();
        const waiting = expectRejectsCode(a.recv(), ErrorCodes.CLOSED);
        await twin(h, b).close();
        await waiting;
      });

      it('makes poll() on the other end resolve true (recv would not wait), as CPython', async () => {
        const [a, b] = pipe<number>();
        const polling = a.poll(10_000);
        await twin(h, b).close();
        expect(await polling).toBe(true);
      });

      it("on an end given to another party closes only this party's copy", async () => {
        const [a, b] = pipe<number>();
        const other = await h.party();
        parties.push(other);
        await other.call(b, 'send', 1); // the other party holds its own copy of b
        await b.close(); // the parent's copy, as CPython code closes it after start()
        expect(b.closed).toBe(true);
        await other.call(b, 'send', 2);
        expect([await a.recv(), await a.recv()]).toEqual([1, 2]);
        await other.call(b, 'close');
        await expectRejectsCode(a.recv(), ErrorCodes.CLOSED);
      });
    });
  });
}
