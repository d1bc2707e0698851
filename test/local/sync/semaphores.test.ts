import { describe, expect, it } from 'vitest';
import { ErrorCodes, InvalidArgumentError, OverReleaseError, ProtocolError } from '../../../src/errors.js';
import { SHARE, type SyncHandle } from '../../../src/handles.js';
import { mp, revivers, useParties } from './fixtures/parties.js';

const party = useParties();

describe('Semaphore', () => {
  describe('acquire()', () => {
    it('takes permits until none is left, then resolves false on timeout', async () => {
      const s = mp.Semaphore(2);
      expect(await s.acquire()).toBe(true);
      expect(await s.acquire()).toBe(true);
      expect(await s.getValue()).toBe(0);
      expect(await s.acquire({ block: false })).toBe(false);
      expect(await s.acquire({ timeoutMs: 10 })).toBe(false);
    });

    it('waits for a permit released by another thread', async () => {
      const s = mp.Semaphore(0);
      const mine = s.acquire();
      await party([s]).call(0, 'release');
      expect(await mine).toBe(true);
      expect(await s.getValue()).toBe(0);
    });

    it('hands one permit to exactly one of two waiting threads', async () => {
      const s = mp.Semaphore(0);
      const a = party([s]);
      const b = party([s]);
      const results = [a.call(0, 'acquire', { timeoutMs: 300 }), b.call(0, 'acquire', { timeoutMs: 300 })];
      await s.release();
      expect((await Promise.all(results)).filter(Boolean)).toHaveLength(1);
    });
  });

  describe('release()', () => {
    it('adds permits past the initial value', async () => {
      const s = mp.Semaphore(1);
      await s.release();
      expect(await s.getValue()).toBe(2);
    });
  });

  describe('Semaphore()', () => {
    it('defaults to one permit and rejects bad values', async () => {
      expect(await mp.Semaphore().getValue()).toBe(1);
      expect(() => mp.Semaphore(-1)).toThrow(InvalidArgumentError);
      expect(() => mp.Semaphore(1.5)).toThrow(InvalidArgumentError);
    });
  });

  describe('revive', () => {
    it('shares the permits of the original and refuses a Semaphore handle named as bounded', async () => {
      const s = mp.Semaphore(3);
      const h = s[SHARE]();
      const again = revivers.Semaphore(h) as typeof s;
      await again.acquire();
      expect(await s.getValue()).toBe(2);
      expect(() => revivers.BoundedSemaphore({ ...h, kind: 'BoundedSemaphore' })).toThrow(ProtocolError);
      const bad: SyncHandle = { ...h, data: { at: -8 } };
      expect(() => revivers.Semaphore(bad)).toThrow(InvalidArgumentError);
    });
  });
});

describe('BoundedSemaphore', () => {
  describe('release()', () => {
    it('throws OverReleaseError past the initial value, in any thread', async () => {
      const s = mp.BoundedSemaphore(2);
      await expect(s.release()).rejects.toThrow(OverReleaseError);
      await s.acquire();
      await s.release();
      await expect(party([s]).call(0, 'release')).rejects.toMatchObject({ code: ErrorCodes.OVER_RELEASE });
      expect(await s.getValue()).toBe(2);
      expect(s.kind).toBe('BoundedSemaphore');
    });
  });
});
