/**
 * Semaphore and BoundedSemaphore on DynamoDB (moto), beyond the primitives contract
 * (test/contract/primitives, run on moto by test/cloud/primitives.test.ts, with its lease cases):
 * a BoundedSemaphore's release by a party that did not acquire (accepted below the bound, unlike
 * the local context), writes whose answer was lost and which the SDK retried (`lease-retries.ts`),
 * and malformed handles.
 */
import { describe, expect, it } from 'vitest';
import type { Semaphore } from '../../../src/api/synchronize.js';
import { awsReviver } from '../../../src/aws/sync/index.js';
import { AwsSemaphore, semaphores } from '../../../src/aws/sync/semaphores.js';
import { ErrorCodes } from '../../../src/errors.js';
import { SHARE } from '../../../src/handles.js';
import { useSyncEnv } from '../sync-env.js';
import { lossyEnv } from './lease-retries.js';

const cloud = await useSyncEnv();

function other(s: AwsSemaphore): Semaphore {
  return awsReviver(cloud.env())(s[SHARE]()) as Semaphore;
}

describe('BoundedSemaphore', () => {
  describe('release()', () => {
    it('accepts a release by another party below the bound; the acquirer then over-releases', async () => {
      const s = new AwsSemaphore(cloud.env(), 1, true);
      await s.acquire();
      await other(s).release();
      expect(await s.getValue()).toBe(1);
      await expect(s.release()).rejects.toMatchObject({ code: ErrorCodes.OVER_RELEASE });
      expect(await s.getValue()).toBe(1);
    });

    it('accepts a release by another party of a permit taken', async () => {
      const s = new AwsSemaphore(cloud.env(), 2, true);
      await s.acquire();
      await s.release();
      await s.acquire();
      await s.acquire();
      const b = other(s);
      await b.release();
      expect(await s.getValue()).toBe(1);
      const outcomes = [await s.release().catch((e) => e.code), await s.release().catch((e) => e.code)];
      expect(outcomes.sort()).toEqual([ErrorCodes.OVER_RELEASE, undefined].sort());
      expect(await s.getValue()).toBe(2);
      await expect(b.release()).rejects.toMatchObject({ code: ErrorCodes.OVER_RELEASE });
    });
  });
});

describe('a lost answer retried by the SDK', () => {
  it('takes one permit for a retried acquire', async () => {
    const lossy = lossyEnv(cloud);
    try {
      const s = new AwsSemaphore(lossy.env, 2);
      lossy.loseNext(':init');
      expect(await s.acquire({ block: false })).toBe(true);
      expect(lossy.lost()).toBe(1);
      expect(await s.getValue()).toBe(1);
      await s.release();
      expect(await s.getValue()).toBe(2);
    } finally {
      lossy.destroy();
    }
  });

  it('takes one permit for a retried reclaim of a dead holder', async () => {
    const lossy = lossyEnv(cloud);
    try {
      const s = new AwsSemaphore(cloud.env(), 1);
      await s.acquire();
      for (const lease of s.leases) lease.stop();
      const b = awsReviver(lossy.env)(s[SHARE]()) as AwsSemaphore;
      lossy.loseNext('REMOVE');
      expect(await b.acquire({ timeoutMs: 3 * cloud.env().leaseMs })).toBe(true);
      expect(lossy.lost()).toBe(1);
      expect(await s.getValue()).toBe(0);
      await b.release();
      expect(await s.getValue()).toBe(1);
    } finally {
      lossy.destroy();
    }
  });

  it('returns the permit once for a retried release', async () => {
    const lossy = lossyEnv(cloud);
    try {
      const s = new AwsSemaphore(lossy.env, 2, true);
      await s.acquire();
      lossy.loseNext('#lastFreed');
      await s.release();
      expect(lossy.lost()).toBe(1);
      expect(await s.getValue()).toBe(2);
    } finally {
      lossy.destroy();
    }
  });

  it.each([
    ['Semaphore', false],
    ['BoundedSemaphore', true],
  ])('adds one permit for a retried release by another party (%s)', async (_, bounded) => {
    const lossy = lossyEnv(cloud);
    try {
      const s = new AwsSemaphore(cloud.env(), 2, bounded);
      await s.acquire();
      const b = awsReviver(lossy.env)(s[SHARE]()) as Semaphore;
      lossy.loseNext('#lastAdd');
      await b.release();
      expect(lossy.lost()).toBe(1);
      expect(await s.getValue()).toBe(2);
    } finally {
      lossy.destroy();
    }
  });
});

describe('semaphores', () => {
  it.each([
    ['a missing value', { id: '00000000-0000-4000-8000-000000000000' }],
    ['a fractional value', { id: '00000000-0000-4000-8000-000000000000', value: 1.5 }],
    ['a bad id', { id: 7, value: 1 }],
  ])('revive rejects a handle with %s', (_, data) => {
    const handle = { $fanfold: 'handle', ctx: 'aws', kind: 'BoundedSemaphore', data } as const;
    expect(() => semaphores.revive.BoundedSemaphore?.(handle, cloud.env())).toThrow(
      expect.objectContaining({ code: ErrorCodes.PROTOCOL }),
    );
  });
});
