/**
 * Locks as leases (AWS): a holder that stops renewing (it died, or it is cut off) loses the lock
 * when its lease ends and another party takes it; when the stale holder comes back, its release and
 * its fenced writes are refused with LeaseLostError, so it never frees or overwrites under the new
 * holder's lock.
 */
import { describe, expect, it } from 'vitest';
import type { Primitives } from '../../../src/api/context.js';
import type { Lock, RLock } from '../../../src/api/synchronize.js';
import {
  ErrorCodes,
  expectRejectsCode,
  handleOf,
  type LeaseCapability,
  type PrimitivesHarness,
} from './harness.js';

/** Declares the lease tests (only where the harness has the capability). */
export function leaseContract(h: PrimitivesHarness, leases: LeaseCapability): void {
  const makers: readonly [string, (mp: Primitives) => Lock | RLock][] = [
    ['Lock', (mp) => mp.Lock()],
    ['RLock', (mp) => mp.RLock()],
  ];

  describe.each(makers)('%s as a lease', (_kind, make) => {
    it('is renewed while its holder lives: nobody else gets it within two leases', async () => {
      const holder = leases.holder();
      const lock = make(h.primitives());
      const held = holder.revive<Lock | RLock>(handleOf(lock));
      expect(await held.acquire()).toBe(true);
      expect(await lock.acquire({ timeoutMs: 2 * holder.leaseMs })).toBe(false);
      await held.release();
    });

    it('passes to another party once its holder stops renewing and the lease ends', async () => {
      const holder = leases.holder();
      const lock = make(h.primitives());
      const held = holder.revive<Lock | RLock>(handleOf(lock));
      await held.acquire();
      holder.cut();
      expect(await lock.acquire({ timeoutMs: 10 * holder.leaseMs + 5_000 })).toBe(true);
    });

    it("refuses the stale holder's release with LeaseLostError; the new holder keeps it", async () => {
      const holder = leases.holder();
      const lock = make(h.primitives());
      const held = holder.revive<Lock | RLock>(handleOf(lock));
      await held.acquire();
      holder.cut();
      await lock.acquire({ timeoutMs: 10 * holder.leaseMs + 5_000 });
      holder.heal();
      await expectRejectsCode(held.release(), ErrorCodes.LEASE_LOST);
      // The new holder still holds it: a release by it succeeds once.
      await lock.release();
    });
  });

  describe('Semaphore permit as a lease', () => {
    it('is renewed while its holder lives: nobody else gets it within two leases', async () => {
      const holder = leases.holder();
      const sem = h.primitives().Semaphore(1);
      const held = holder.revive<typeof sem>(handleOf(sem));
      expect(await held.acquire()).toBe(true);
      expect(await sem.acquire({ timeoutMs: 2 * holder.leaseMs })).toBe(false);
      await held.release();
      expect(await sem.getValue()).toBe(1);
    });

    it("comes back when its holder stops renewing; the stale holder's release is refused", async () => {
      const holder = leases.holder();
      const sem = h.primitives().BoundedSemaphore(1);
      const held = holder.revive<typeof sem>(handleOf(sem));
      expect(await held.acquire()).toBe(true);
      expect(await sem.acquire({ block: false })).toBe(false);
      holder.cut();
      expect(await sem.acquire({ timeoutMs: 10 * holder.leaseMs + 5_000 })).toBe(true);
      holder.heal();
      await expectRejectsCode(held.release(), ErrorCodes.LEASE_LOST);
      expect(await sem.getValue()).toBe(0);
    });
  });

  describe('Value fenced by its lock', () => {
    it("refuses a stale holder's write inside withLock with LeaseLostError", async () => {
      const holder = leases.holder();
      const mp = h.primitives();
      const value = mp.Value('i', 1);
      const stale = holder.revive<typeof value>(handleOf(value));
      let writeError: unknown;
      const outcome = stale
        .withLock(async () => {
          holder.cut();
          // The caller takes the value's lock once the holder's lease has run out.
          expect(await value.getLock().acquire({ timeoutMs: 10 * holder.leaseMs + 5_000 })).toBe(true);
          holder.heal();
          try {
            await stale.set(99);
          } catch (e) {
            writeError = e;
          }
        })
        .then(
          () => 'released',
          (e: { code?: string }) => e.code,
        );
      expect(await outcome).toBe(ErrorCodes.LEASE_LOST);
      expect((writeError as { code?: string } | undefined)?.code).toBe(ErrorCodes.LEASE_LOST);
      expect(await value.get()).toBe(1);
      await value.getLock().release();
    });
  });
}
