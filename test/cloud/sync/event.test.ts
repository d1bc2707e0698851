/**
 * Event on DynamoDB (moto), beyond the primitives contract (test/contract/primitives, run on moto by
 * test/cloud/primitives.test.ts): a waiter between two polls still sees a set() that was cleared
 * before its next read, and malformed handles. A second party is the handle revived with another
 * environment.
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
  describe('wait()', () => {
    it('resolves true for a set() then clear() that happened while it waited', async () => {
      const a = make();
      const counted = countingEnv(cloud.env({ pollMs: { min: 200, max: 200 } }));
      const b = other(a, counted.env);
      const waiting = b.wait(cloud.scaled(5_000));
      await counted.answered(1); // the waiter's first read saw the flag cleared
      await a.set();
      await a.clear();
      expect(await waiting).toBe(true);
    });
  });

  describe('revive', () => {
    it.each([
      ['a non-UUID id', { $fanfold: 'handle', ctx: 'aws', kind: 'Event', data: { id: 'x' } }],
      ['a missing id', { $fanfold: 'handle', ctx: 'aws', kind: 'Event', data: {} }],
      ['another kind', { $fanfold: 'handle', ctx: 'aws', kind: 'Lock', data: { id: crypto.randomUUID() } }],
    ])('rejects %s', (_, handle) => {
      expect(() => event.revive.Event?.(handle as SyncHandle, cloud.env())).toThrow(
        expect.objectContaining({ code: ErrorCodes.PROTOCOL }),
      );
    });
  });
});
