import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, ProtocolError } from '../../../src/errors.js';
import { SHARE } from '../../../src/handles.js';
import { mp, revivers, useParties } from './fixtures/parties.js';

const party = useParties();

describe('Event', () => {
  describe('wait()', () => {
    it('resolves true in every waiting thread once another sets it', async () => {
      const e = mp.Event();
      const waiters = [party([e]), party([e])].map((p) => p.call(0, 'wait'));
      const mine = e.wait();
      await party([e]).call(0, 'set');
      expect(await Promise.all([...waiters, mine])).toEqual([true, true, true]);
      expect(await e.isSet()).toBe(true);
    });

    it('resolves true at once when set', async () => {
      const e = mp.Event();
      await e.set();
      expect(await e.wait(0)).toBe(true);
    });

    it('resolves false when the timeout runs out', async () => {
      const e = mp.Event();
      expect(await e.wait(10)).toBe(false);
      expect(await party([e]).call(0, 'wait', 5)).toBe(false);
    });

    it('keeps a thread alive while it waits, with or without a timeout', async () => {
      const e = mp.Event();
      expect(await party([e]).run({ op: 'detachedWait', t: 0, timeoutMs: 5 })).toBe(false);
      const waiting = party([e]).start({ op: 'detachedWait', t: 0 });
      await waiting.progress;
      await e.set();
      expect(await waiting.done).toBe(true);
    });

    it('rejects a timeout that is not a number (a negative one counts as 0)', async () => {
      const e = mp.Event();
      await expect(e.wait('1' as never)).rejects.toThrow(InvalidArgumentError);
      await expect(e.wait(Number.NaN)).rejects.toThrow(
        'Expected timeoutMs to be a finite number (a negative one counts as 0), got NaN (number)',
      );
    });
  });

  describe('clear()', () => {
    it('makes later waits wait again', async () => {
      const e = mp.Event();
      const again = revivers.Event(e[SHARE]()) as typeof e;
      await e.set();
      await again.clear();
      expect(await e.isSet()).toBe(false);
      expect(await e.wait(5)).toBe(false);
    });
  });

  describe('revive', () => {
    it('rejects malformed handles', () => {
      const h = mp.Event()[SHARE]();
      expect(() => revivers.Event({ ...h, data: {} })).toThrow(ProtocolError);
      expect(() => revivers.Event({ ...h, data: { at: 1.5 } })).toThrow(InvalidArgumentError);
      expect(() => revivers.Event({ ...h, data: [] as never })).toThrow(ProtocolError);
    });
  });
});
