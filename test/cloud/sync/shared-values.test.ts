/**
 * Value and Array on DynamoDB (moto): atomic add between parties, read-modify-write under the lock
 * with an exact count, C wrapping, fenced writes of a holder whose lease was taken over, handles,
 * limits. Their latency and request counts are measured by the bench (bench/cloud-primitives.ts).
 */
import { describe, expect, it } from 'vitest';
import type { Primitives } from '../../../src/api/context.js';
import type { SharedArray, Value } from '../../../src/api/sharedctypes.js';
import { awsPrimitives, awsReviver } from '../../../src/aws/sync/index.js';
import { AwsLock } from '../../../src/aws/sync/locks.js';
import { MAX_ARRAY_LENGTH } from '../../../src/aws/sync/shared-array.js';
import { sharedValues } from '../../../src/aws/sync/shared-values.js';
import { ErrorCodes } from '../../../src/errors.js';
import { SHARE } from '../../../src/handles.js';
import { useSyncEnv } from '../sync-env.js';

const cloud = await useSyncEnv();

function mp(): Primitives {
  return awsPrimitives(cloud.env());
}

/** The primitive as a second party sees it (its own environment). */
function other<T>(p: { [SHARE](): import('../../../src/handles.js').SyncHandle }): T {
  return awsReviver(cloud.env())(p[SHARE]()) as T;
}

describe('Value', () => {
  describe('add()', () => {
    it('is atomic between parties without the lock', async () => {
      const a = mp().Value('i', 5);
      const b = other<Value<'i'>>(a);
      await Promise.all(Array.from({ length: 10 }, (_, k) => (k % 2 ? a : b).add(1)));
      expect(await a.get()).toBe(15);
    });

    it('wraps like C on read', async () => {
      const v = mp().Value('b', 127);
      expect(await v.add(1)).toBe(-128);
      const q = mp().Value('Q', 0n);
      expect(await q.add(-1n)).toBe(2n ** 64n - 1n);
    });

    it('rounds f to float32', async () => {
      const v = mp().Value('f', 0.1);
      expect(await v.get()).toBe(Math.fround(0.1));
    });
  });

  describe('withLock()', () => {
    it('makes read-modify-write exact between parties', async () => {
      const a = mp().Value('i', 0);
      const b = other<Value<'i'>>(a);
      const bump = (v: Value<'i'>) => v.withLock(async () => v.set((await v.get()) + 1));
      await Promise.all(Array.from({ length: 8 }, (_, k) => bump(k % 2 ? a : b)));
      expect(await a.get()).toBe(8);
    });

    it('refuses the writes of a holder whose lease was taken over', async () => {
      const lock = new AwsLock(cloud.env());
      const v = mp().Value('i', 1, { lock });
      const thief = other<AwsLock>(lock);
      const run = v.withLock(async () => {
        lock.lease?.stop(); // the holder stops renewing, as a dead one would
        expect(await thief.acquire({ timeoutMs: 3 * cloud.env().leaseMs })).toBe(true);
        await v.set(99);
      });
      await expect(run).rejects.toMatchObject({ code: ErrorCodes.LEASE_LOST });
      expect(await v.get()).toBe(1);
      expect(await lock.locked()).toBe(true);
      expect(thief.heldByMe()).toBe(true);
      await thief.release();
    });

    it('fences add too', async () => {
      const lock = new AwsLock(cloud.env());
      const v = mp().Value('i', 1, { lock });
      const thief = other<AwsLock>(lock);
      await lock.acquire();
      lock.lease?.stop();
      await thief.acquire({ timeoutMs: 3 * cloud.env().leaseMs });
      await expect(v.add(1)).rejects.toMatchObject({ code: ErrorCodes.LEASE_LOST });
      await expect(lock.release()).rejects.toMatchObject({ code: ErrorCodes.LEASE_LOST });
      expect(await v.get()).toBe(1);
      await thief.release();
    });
  });

  describe('getLock()', () => {
    it('throws for a value made with lock: false', () => {
      const v = mp().Value('d', 1.5, { lock: false });
      expect(() => v.getLock()).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }));
    });
  });

  describe('arguments', () => {
    it.each([
      ['an unknown typecode', () => mp().Value('x' as 'i', 0)],
      ['a number for a 64-bit code', () => mp().Value('q', 1 as unknown as bigint)],
      ['a fraction for an integer code', () => mp().Value('i', 1.5)],
      ['a float outside DynamoDB range', () => mp().Value('d', 1e200)],
      ['NaN', () => mp().Value('d', Number.NaN)],
      ['a lock of another kind', () => mp().Value('i', 0, { lock: {} as AwsLock })],
    ])('rejects %s', (_, make) => {
      expect(make).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }));
    });
  });
});

describe('Array', () => {
  it('reads initial values before any write and keeps them in the handle', async () => {
    const a = mp().Array('h', [1, -2, 3]);
    const b = other<SharedArray<'h'>>(a);
    expect(await b.slice()).toEqual([1, -2, 3]);
    expect(await b.get(-1)).toBe(3);
  });

  it('sets, adds and slices between parties', async () => {
    const a = mp().Array('I', 4);
    const b = other<SharedArray<'I'>>(a);
    await a.set(1, 7);
    expect(await b.add(1, 2)).toBe(9);
    expect(await b.add(0, -1)).toBe(2 ** 32 - 1);
    await b.setSlice(2, [5, 6]);
    expect(await a.slice(1)).toEqual([9, 5, 6]);
  });

  it('writes a long slice whole', async () => {
    const a = mp().Array('q', 300);
    const values = Array.from({ length: 250 }, (_, i) => BigInt(i) * 10n ** 15n);
    await a.setSlice(50, values);
    expect(await a.slice(50)).toEqual(values);
    expect(await a.get(0)).toBe(0n);
  });

  it('fences writes under its lock', async () => {
    const a = mp().Array('i', 3);
    const lock = a.getLock() as AwsLock;
    await a.withLock(async () => {
      await a.set(0, 1);
      expect(await a.add(0, 1)).toBe(2);
      await a.setSlice(1, [3, 4]);
    });
    expect(await a.slice()).toEqual([2, 3, 4]);
    expect(lock.heldByMe()).toBe(false);
  });

  it.each([
    ['an index past the end', (a: SharedArray<'i'>) => a.get(3)],
    ['a fractional index', (a: SharedArray<'i'>) => a.set(0.5, 1)],
    ['a slice past the end', (a: SharedArray<'i'>) => a.setSlice(2, [1, 2])],
  ])('rejects %s', async (_, op) => {
    await expect(op(mp().Array('i', 3))).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
  });

  it('refuses more elements than one item holds', () => {
    expect(() => mp().Array('b', MAX_ARRAY_LENGTH + 1)).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }),
    );
  });
});

describe('sharedValues.revive', () => {
  const id = '00000000-0000-4000-8000-000000000000';
  it.each([
    ['Value', { id, typecode: 'z', initial: '0', lock: null }],
    ['Value', { id, typecode: 'i', initial: 'abc', lock: null }],
    ['Value', { id, typecode: 'i', initial: '0', lock: { kind: 'Lock' } }],
    ['Array', { id, typecode: 'i', length: -1, lock: null }],
    ['Array', { id, typecode: 'i', length: 2, initial: ['1'], lock: null }],
  ])('rejects a malformed %s handle %j', (kind, data) => {
    const handle = { $fanfold: 'handle', ctx: 'aws', kind, data } as const;
    expect(() => sharedValues.revive[kind]?.(handle, cloud.env())).toThrow(
      expect.objectContaining({ code: ErrorCodes.PROTOCOL }),
    );
  });
});
