import { describe, expect, it } from 'vitest';
import { BrokenBarrierError, ErrorCodes, InvalidArgumentError, ProtocolError } from '../../../src/errors.js';
import { SHARE } from '../../../src/handles.js';
import { mp, revivers, useParties } from './fixtures/parties.js';

const party = useParties();

type B = ReturnType<typeof mp.Barrier>;

/** Starts `n` threads waiting on `b`; resolves their results once all have arrived. */
async function arrive(b: B, n: number, timeoutMs?: number) {
  const running = Array.from({ length: n }, () => party([b]).start({ op: 'wait', t: 0, timeoutMs }));
  await Promise.all(running.map((r) => r.progress));
  return running.map((r) => r.done.catch((e: { code?: unknown }) => e.code));
}

/** Checks that `n` parties are waiting (a thread arrives synchronously, before it reports 'waiting'). */
async function untilWaiting(b: B, n: number): Promise<void> {
  expect(await b.nWaiting()).toBe(n);
}

describe('Barrier', () => {
  describe('wait()', () => {
    it('releases three threads together with the indices 0, 1 and 2', async () => {
      const b = mp.Barrier(3);
      const done = await arrive(b, 3);
      expect((await Promise.all(done)).sort()).toEqual([0, 1, 2]);
      expect(await b.nWaiting()).toBe(0);
    });

    it('is reusable across generations', async () => {
      const b = mp.Barrier(2);
      const p = party([b]);
      for (let gen = 0; gen < 5; gen++) {
        const theirs = p.run({ op: 'wait', t: 0 });
        const mine = await b.wait();
        expect([mine, await theirs].sort()).toEqual([0, 1]);
      }
      expect(await b.broken()).toBe(false);
    });

    it('breaks the barrier when a wait times out: that party and the others throw BrokenBarrierError', async () => {
      const b = mp.Barrier(3);
      const [other] = await arrive(b, 1);
      await untilWaiting(b, 1);
      await expect(b.wait(5)).rejects.toThrow(BrokenBarrierError);
      expect(await other).toBe(ErrorCodes.BROKEN_BARRIER);
      expect(await b.broken()).toBe(true);
      await expect(b.wait()).rejects.toThrow(BrokenBarrierError);
    });

    it('uses the barrier default timeout', async () => {
      const b = mp.Barrier(2, { timeoutMs: 5 });
      await expect(b.wait()).rejects.toThrow(BrokenBarrierError);
    });

    it('rejects a NaN timeout without arriving', async () => {
      const b = mp.Barrier(2);
      await expect(b.wait(Number.NaN)).rejects.toThrow(InvalidArgumentError);
      expect(await b.nWaiting()).toBe(0);
    });
  });

  describe('abort()', () => {
    it('makes current and future waiters throw BrokenBarrierError', async () => {
      const b = mp.Barrier(3);
      const done = await arrive(b, 2);
      await untilWaiting(b, 2);
      await b.abort();
      expect(await Promise.all(done)).toEqual([ErrorCodes.BROKEN_BARRIER, ErrorCodes.BROKEN_BARRIER]);
      expect(await b.broken()).toBe(true);
      await expect(party([b]).run({ op: 'wait', t: 0 })).rejects.toMatchObject({
        code: ErrorCodes.BROKEN_BARRIER,
      });
    });
  });

  describe('reset()', () => {
    it('makes current waiters throw, then the barrier works again', async () => {
      const b = mp.Barrier(2);
      const [waiting] = await arrive(b, 1);
      await untilWaiting(b, 1);
      await b.reset();
      expect(await waiting).toBe(ErrorCodes.BROKEN_BARRIER);
      expect(await b.broken()).toBe(false);
      const [theirs] = await arrive(b, 1);
      expect([await b.wait(), await theirs].sort()).toEqual([0, 1]);
    });

    it('repairs a broken barrier', async () => {
      const b = mp.Barrier(1);
      await b.abort();
      await b.reset();
      expect(await b.wait()).toBe(0);
    });
  });

  describe('Barrier()', () => {
    it('validates parties and options', () => {
      expect(() => mp.Barrier(0)).toThrow(InvalidArgumentError);
      expect(() => mp.Barrier(2.5)).toThrow(InvalidArgumentError);
      expect(() => mp.Barrier(2, { timeoutMs: Number.NaN })).toThrow(InvalidArgumentError);
      expect(() => mp.Barrier(2, { action: () => 0 } as never)).toThrow(InvalidArgumentError);
      expect(mp.Barrier(4).parties).toBe(4);
    });
  });

  describe('revive', () => {
    it('shares the state and the settings of the original', async () => {
      const b = mp.Barrier(2, { timeoutMs: 5000 });
      const again = revivers.Barrier(b[SHARE]()) as B;
      expect(again.parties).toBe(2);
      const mine = b.wait();
      expect(await again.wait()).toBe(1);
      expect(await mine).toBe(0);
    });

    it('rejects malformed handles', () => {
      const h = mp.Barrier(2)[SHARE]();
      expect(() => revivers.Barrier({ ...h, data: { ...h.data, parties: 0 } })).toThrow(ProtocolError);
      expect(() => revivers.Barrier({ ...h, data: { ...h.data, timeoutMs: -1 } })).toThrow(ProtocolError);
      expect(() => revivers.Barrier({ ...h, data: { ...h.data, at: 12 } })).toThrow(InvalidArgumentError);
    });
  });
});
