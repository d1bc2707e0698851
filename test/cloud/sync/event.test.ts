/**
 * Event on DynamoDB (moto): a second party is the handle revived with another environment. Its
 * latency and request counts are measured by the bench (bench/cloud-primitives.ts), not here.
 */
import { describe, expect, it } from 'vitest';
import type { Event } from '../../../src/api/synchronize.js';
import type { AwsSyncEnv } from '../../../src/aws/sync/env.js';
import { event } from '../../../src/aws/sync/event.js';
import { ErrorCodes } from '../../../src/errors.js';
import { SHARE, type SyncHandle } from '../../../src/handles.js';
import { useSyncEnv } from '../sync-env.js';
import { countingEnv } from './measure.js';

const cloud = await useSyncEnv();

function make(env: AwsSyncEnv = cloud.env()): Event {
  const ev = event.make(env).Event?.();
  if (!ev) throw new Error('event.make gave no Event');
  return ev;
}

/** The same event seen by another party. */
function other(ev: Event, env: AwsSyncEnv = cloud.env()): Event {
  return event.revive.Event?.(ev[SHARE](), env) as Event;
}

describe('Event', () => {
  describe('isSet()', () => {
    it('starts cleared and follows set() and clear() of another party', async () => {
      const a = make();
      const b = other(a);
      expect(await b.isSet()).toBe(false);
      await a.set();
      expect(await b.isSet()).toBe(true);
      await a.clear();
      expect(await b.isSet()).toBe(false);
    });
  });

  describe('wait()', () => {
    it('resolves true at once when the flag is set', async () => {
      const a = make();
      await a.set();
      expect(await other(a).wait(0)).toBe(true);
    });

    it('resolves true when another party sets the flag', async () => {
      const a = make();
      const waiting = other(a).wait();
      await a.set();
      expect(await waiting).toBe(true);
    });

    it('wakes every waiter', async () => {
      const a = make();
      const waiters = [other(a).wait(), other(a).wait(), a.wait()];
      await other(a).set();
      expect(await Promise.all(waiters)).toEqual([true, true, true]);
    });

    it('resolves false when the timeout runs out', async () => {
      expect(await make().wait(100)).toBe(false);
    });

    it('resolves false after clear()', async () => {
      const a = make();
      await a.set();
      await a.clear();
      expect(await other(a).wait(50)).toBe(false);
    });

    it('resolves true for a set() then clear() that happened while it waited', async () => {
      const a = make();
      const counted = countingEnv(cloud.env({ pollMs: { min: 200, max: 200 } }));
      const b = other(a, counted.env);
      const waiting = b.wait(5_000);
      await counted.answered(1); // the waiter's first read saw the flag cleared
      await a.set();
      await a.clear();
      expect(await waiting).toBe(true);
    });

    it('rejects a timeout that is not a number', async () => {
      await expect(make().wait('1' as never)).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    });
  });

  describe('revive', () => {
    it.each([
      ['a non-UUID id', { $fanfold: 'handle', ctx: 'aws', kind: 'Event', data: { id: 'x' } }],
      ['a missing id', { $fanfold: 'handle', ctx: 'aws', kind: 'Event', data: {} }],
      [
        'a local handle',
        { $fanfold: 'handle', ctx: 'local', kind: 'Event', data: { id: crypto.randomUUID() } },
      ],
      ['another kind', { $fanfold: 'handle', ctx: 'aws', kind: 'Lock', data: { id: crypto.randomUUID() } }],
    ])('rejects %s', (_, handle) => {
      expect(() => event.revive.Event?.(handle as SyncHandle, cloud.env())).toThrow(
        expect.objectContaining({ code: ErrorCodes.PROTOCOL }),
      );
    });
  });
});
