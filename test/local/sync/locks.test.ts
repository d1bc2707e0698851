import { describe, expect, it } from 'vitest';
import {
  ErrorCodes,
  InvalidArgumentError,
  NotOwnerError,
  OverReleaseError,
  ProtocolError,
} from '../../../src/errors.js';
import { SHARE, type SyncHandle } from '../../../src/handles.js';
import { mp, revivers, useParties } from './fixtures/parties.js';

const party = useParties();

function handle(kind: string, data: Record<string, unknown>): SyncHandle {
  return { $fanfold: 'handle', ctx: 'local', kind, data };
}

describe('Lock', () => {
  describe('acquire()', () => {
    it('excludes threads from each other: 3 threads × 2000 locked increments give exactly 6000', async () => {
      const lock = mp.Lock();
      const v = mp.Value('i', 0, { lock: false });
      const parties = [0, 1, 2].map(() => party([lock, v]));
      await Promise.all(parties.map((p) => p.run({ op: 'lockedIncrement', lock: 0, value: 1, n: 2000 })));
      expect(await v.get()).toBe(6000);
    });

    it('resolves false without blocking when taken and block is false', async () => {
      const lock = mp.Lock();
      expect(await lock.acquire()).toBe(true);
      expect(await lock.acquire({ block: false })).toBe(false);
    });

    it('resolves false when the timeout runs out', async () => {
      const lock = mp.Lock();
      await lock.acquire();
      expect(await lock.acquire({ timeoutMs: 20 })).toBe(false);
      expect(await lock.locked()).toBe(true);
    });

    it('waits until another thread releases it', async () => {
      const lock = mp.Lock();
      const p = party([lock]);
      expect(await p.call(0, 'acquire')).toBe(true);
      const mine = lock.acquire();
      await p.call(0, 'release');
      expect(await mine).toBe(true);
      expect(await p.call(0, 'acquire', { block: false })).toBe(false);
    });

    it('rejects a NaN timeout before taking the lock', async () => {
      const lock = mp.Lock();
      await expect(lock.acquire({ timeoutMs: Number.NaN })).rejects.toThrow(InvalidArgumentError);
      await expect(lock.acquire({ block: 'yes' as never })).rejects.toThrow(InvalidArgumentError);
      expect(await lock.locked()).toBe(false);
    });
  });

  describe('release()', () => {
    it('may be called by a thread that did not acquire it (CPython)', async () => {
      const lock = mp.Lock();
      await lock.acquire();
      await party([lock]).call(0, 'release');
      expect(await lock.locked()).toBe(false);
    });

    it('throws OverReleaseError on an unlocked lock', async () => {
      const lock = mp.Lock();
      await expect(lock.release()).rejects.toThrow(OverReleaseError);
      await lock.acquire();
      await lock.release();
      await expect(lock.release()).rejects.toMatchObject({ code: ErrorCodes.OVER_RELEASE });
    });
  });

  describe('withLock()', () => {
    it('releases the lock when fn throws', async () => {
      const lock = mp.Lock();
      await expect(lock.withLock(() => Promise.reject(new RangeError('boom')))).rejects.toThrow(RangeError);
      expect(await lock.locked()).toBe(false);
    });
  });

  describe('revive', () => {
    it('operates on the same lock as the original', async () => {
      const lock = mp.Lock();
      const again = revivers.Lock(lock[SHARE]()) as typeof lock;
      await lock.acquire();
      expect(await again.locked()).toBe(true);
    });

    it('rejects malformed handles', () => {
      expect(() => revivers.Lock(handle('Lock', { at: 'x' }))).toThrow(ProtocolError);
      expect(() => revivers.Lock(handle('Lock', { at: 3 }))).toThrow(InvalidArgumentError);
      expect(() => revivers.Lock(handle('Lock', { at: 2 ** 30 }))).toThrow(InvalidArgumentError);
      expect(() => revivers.Lock({ ...handle('Lock', {}), data: null as never })).toThrow(ProtocolError);
    });
  });
});

describe('RLock', () => {
  describe('acquire()', () => {
    it('lets its holder acquire again and counts the levels', async () => {
      const r = mp.RLock();
      await r.acquire();
      await r.acquire();
      const state = await r.state();
      expect(state.count).toBe(2);
      expect(state.owner).toMatch(/^thread:\d+$/);
      await r.release();
      expect((await r.state()).count).toBe(1);
      await r.release();
      expect(await r.state()).toEqual({ owner: undefined, count: 0 });
    });

    it('makes another thread wait until the last level is released', async () => {
      const r = mp.RLock();
      const p = party([r]);
      await r.acquire();
      await r.acquire();
      const mine = (await r.state()).owner;
      expect(await p.call(0, 'acquire', { timeoutMs: 10 })).toBe(false);
      const theirs = p.call(0, 'acquire');
      await r.release();
      expect(await p.call(0, 'acquire', { block: false })).toBe(false);
      await r.release();
      expect(await theirs).toBe(true);
      const theirState = (await p.call(0, 'state')) as { owner: string; count: number };
      expect(theirState.count).toBe(1);
      expect(theirState.owner).toMatch(/^thread:\d+$/);
      expect(theirState.owner).not.toBe(mine);
      expect(await r.acquire({ block: false })).toBe(false);
    });
  });

  describe('release()', () => {
    it('throws NotOwnerError in a thread that does not hold it', async () => {
      const r = mp.RLock();
      await r.acquire();
      await expect(party([r]).call(0, 'release')).rejects.toMatchObject({ code: ErrorCodes.NOT_OWNER });
      expect((await r.state()).count).toBe(1);
    });

    it('throws NotOwnerError when unlocked', async () => {
      await expect(mp.RLock().release()).rejects.toThrow(NotOwnerError);
    });
  });
});
