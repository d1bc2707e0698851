/** Lock and RLock, as CPython's `multiprocessing.Lock` and `RLock`. */
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCodes, expectRejectsCode, type Party, type PrimitivesHarness, twin } from './harness.js';

/** Declares the Lock and RLock tests. */
export function lockContract(h: PrimitivesHarness): void {
  const short = h.shortMs ?? 100;
  const parties: Party[] = [];
  const party = async () => {
    const p = await h.party();
    parties.push(p);
    return p;
  };
  afterEach(async () => {
    await Promise.all(parties.splice(0).map((p) => p.close()));
  });

  describe('Lock', () => {
    describe('acquire()', () => {
      it('resolves true on a free lock, which is then locked', async () => {
        const lock = h.primitives().Lock();
        expect(lock.kind).toBe('Lock');
        expect(await lock.locked()).toBe(false);
        expect(await lock.acquire()).toBe(true);
        expect(await lock.locked()).toBe(true);
      });

      it('resolves false at once without blocking when the lock is taken', async () => {
        const lock = h.primitives().Lock();
        await lock.acquire();
        expect(await lock.acquire({ block: false })).toBe(false);
      });

      it('resolves false when timeoutMs runs out (CPython: False)', async () => {
        const lock = h.primitives().Lock();
        await lock.acquire();
        expect(await lock.acquire({ timeoutMs: short })).toBe(false);
        expect(await lock.acquire({ timeoutMs: 0 })).toBe(false);
      });

      it('is not recursive: the holder itself cannot take it again', async () => {
        const lock = h.primitives().Lock();
        await lock.acquire();
        expect(await lock.acquire({ timeoutMs: short })).toBe(false);
      });

      it('resolves true once the holder releases it', async () => {
        const lock = h.primitives().Lock();
        await lock.acquire();
        const waiting = lock.acquire({ timeoutMs: 10_000 });
        await lock.release();
        expect(await waiting).toBe(true);
        expect(await lock.locked()).toBe(true);
      });

      it('rejects a NaN or infinite timeoutMs, or a block that is not a boolean, before any effect', async () => {
        const lock = h.primitives().Lock();
        await expectRejectsCode(lock.acquire({ timeoutMs: Number.NaN }), ErrorCodes.INVALID_ARGUMENT);
        await expectRejectsCode(lock.acquire({ block: 'yes' as never }), ErrorCodes.INVALID_ARGUMENT);
        await expectRejectsCode(
          lock.acquire({ timeoutMs: Number.POSITIVE_INFINITY }),
          ErrorCodes.INVALID_ARGUMENT,
        );
        expect(await lock.locked()).toBe(false);
      });

      it('treats a negative timeoutMs as 0, as CPython does: one attempt, no wait', async () => {
        const lock = h.primitives().Lock();
        expect(await lock.acquire({ timeoutMs: -1 })).toBe(true);
        expect(await lock.acquire({ timeoutMs: -1 })).toBe(false);
        await lock.release();
      });
    });

    describe('release()', () => {
      it('throws OverReleaseError on an unlocked lock', async () => {
        const lock = h.primitives().Lock();
        await expectRejectsCode(lock.release(), ErrorCodes.OVER_RELEASE);
        await lock.acquire();
        await lock.release();
        await expectRejectsCode(lock.release(), ErrorCodes.OVER_RELEASE);
      });

      it('may be called by a party that did not acquire it (as in CPython)', async () => {
        const lock = h.primitives().Lock();
        await lock.acquire();
        const other = await party();
        await other.call(lock, 'release');
        expect(await lock.locked()).toBe(false);
      });
    });

    describe('withLock()', () => {
      it('holds the lock while fn runs and releases it after', async () => {
        const lock = h.primitives().Lock();
        const inside = await lock.withLock(() => lock.locked());
        expect(inside).toBe(true);
        expect(await lock.locked()).toBe(false);
      });

      it('releases the lock when fn throws, and rethrows', async () => {
        const lock = h.primitives().Lock();
        await expect(
          lock.withLock(() => {
            throw new RangeError('inside');
          }),
        ).rejects.toBeInstanceOf(RangeError);
        expect(await lock.locked()).toBe(false);
      });
    });

    describe('a revived handle', () => {
      it('sees and takes the same lock', async () => {
        const lock = h.primitives().Lock();
        const same = twin(h, lock);
        expect(same.kind).toBe('Lock');
        await lock.acquire();
        expect(await same.locked()).toBe(true);
        expect(await same.acquire({ block: false })).toBe(false);
        await same.release();
        expect(await lock.locked()).toBe(false);
      });

      it('in another party waits until the holder releases', async () => {
        const lock = h.primitives().Lock();
        await lock.acquire();
        const other = await party();
        expect(await other.call(lock, 'acquire', { timeoutMs: short })).toBe(false);
        const waiting = other.call(lock, 'acquire', { timeoutMs: 10_000 });
        await lock.release();
        expect(await waiting).toBe(true);
        expect(await lock.acquire({ block: false })).toBe(false);
      });
    });
  });

  describe('RLock', () => {
    describe('acquire()', () => {
      it('lets its holder acquire again and counts the recursion', async () => {
        const rlock = h.primitives().RLock();
        expect(rlock.kind).toBe('RLock');
        expect(await rlock.state()).toEqual({ owner: undefined, count: 0 });
        expect(await rlock.acquire()).toBe(true);
        expect(await rlock.acquire({ block: false })).toBe(true);
        const state = await rlock.state();
        expect(state.count).toBe(2);
        expect(typeof state.owner).toBe('string');
      });

      it('resolves false for another party while held, at once or when timeoutMs runs out', async () => {
        const rlock = h.primitives().RLock();
        await rlock.acquire();
        const other = await party();
        expect(await other.call(rlock, 'acquire', { block: false })).toBe(false);
        expect(await other.call(rlock, 'acquire', { timeoutMs: short })).toBe(false);
      });

      it('is free for another party only after as many releases as acquires', async () => {
        const rlock = h.primitives().RLock();
        await rlock.acquire();
        await rlock.acquire();
        await rlock.release();
        const other = await party();
        expect(await other.call(rlock, 'acquire', { block: false })).toBe(false);
        await rlock.release();
        expect(await rlock.state()).toEqual({ owner: undefined, count: 0 });
        expect(await other.call(rlock, 'acquire', { block: false })).toBe(true);
      });

      it("wakes another party's waiting acquire at the last release, under that party's identity", async () => {
        const rlock = h.primitives().RLock();
        await rlock.acquire();
        await rlock.acquire();
        const mine = (await rlock.state()).owner;
        const other = await party();
        const theirs = other.call(rlock, 'acquire', { timeoutMs: 10_000 });
        await rlock.release();
        expect(await rlock.acquire({ block: false })).toBe(true); // still ours: a third level
        await rlock.release();
        await rlock.release();
        expect(await theirs).toBe(true);
        const state = await other.call<{ owner?: string; count: number }>(rlock, 'state');
        expect(state.count).toBe(1);
        expect(state.owner).toBeTypeOf('string');
        expect(state.owner).not.toBe(mine);
        expect(await rlock.acquire({ block: false })).toBe(false);
      });
    });

    describe('release()', () => {
      it('throws NotOwnerError for a party that does not hold it', async () => {
        const rlock = h.primitives().RLock();
        await rlock.acquire();
        const other = await party();
        await expectRejectsCode(other.call(rlock, 'release'), ErrorCodes.NOT_OWNER);
        expect((await rlock.state()).count).toBe(1);
      });

      it('throws NotOwnerError when nobody holds it (CPython: not owned by thread)', async () => {
        const rlock = h.primitives().RLock();
        await expectRejectsCode(rlock.release(), ErrorCodes.NOT_OWNER);
      });
    });
  });
}
