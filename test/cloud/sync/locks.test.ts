/**
 * Lock and RLock on DynamoDB (moto), beyond the primitives contract (test/contract/primitives, run
 * on moto by test/cloud/primitives.test.ts, with its lease cases): the fence each acquisition
 * takes and the writes it guards, a holder in a process that is SIGKILLed, one party's identity
 * shared by its instances, and answers lost under the SDK's retries (a write that reached moto
 * whose response the SDK never got, so it retried: `lease-retries.ts`). A second party is a second
 * environment reviving the handle — never a mock.
 */

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { TransactionCanceledException, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import type { Lock, RLock } from '../../../src/api/synchronize.js';
import { awsReviver } from '../../../src/aws/sync/index.js';
import { AwsLock, AwsRLock, fenceCheck, locks } from '../../../src/aws/sync/locks.js';
import { ErrorCodes } from '../../../src/errors.js';
import { SHARE, type SyncHandle } from '../../../src/handles.js';
import { useSyncEnv } from '../sync-env.js';
import { lossyEnv } from './lease-retries.js';

const cloud = await useSyncEnv();
const HOLDER = fileURLToPath(new URL('./fixtures/lock-holder.ts', import.meta.url));

/** The lock as seen by a second party (its own environment, so its own owner identity). */
function other<T>(lock: { [SHARE](): SyncHandle }): T {
  return awsReviver(cloud.env())(lock[SHARE]()) as T;
}

describe('Lock', () => {
  describe('acquire()', () => {
    it('gives each acquisition a higher fence', async () => {
      const a = new AwsLock(cloud.env());
      await a.acquire();
      const first = a.fence ?? 0;
      await a.release();
      await a.acquire();
      expect(a.fence).toBe(first + 1);
      await a.release();
    });
  });

  describe('a holder that dies', () => {
    it('in another process that is killed: another party acquires after its lease', async () => {
      const a = new AwsLock(cloud.env());
      const env = cloud.env();
      const arg = JSON.stringify({
        clientOptions: cloud.emulators().clientOptions,
        table: env.table,
        handle: a[SHARE](),
        leaseMs: env.leaseMs,
      });
      const child = spawn(process.execPath, ['--import', 'tsx', HOLDER, arg], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = once(child, 'exit');
      const [line] = (await Promise.race([
        once(createInterface({ input: child.stdout }), 'line'),
        exited.then(() => ['exited before holding']),
      ])) as [string];
      expect(line).toMatch(/^held \d+$/);
      expect(await a.acquire({ block: false })).toBe(false);
      child.kill('SIGKILL');
      await exited;
      expect(await a.acquire({ timeoutMs: 3 * env.leaseMs })).toBe(true);
      expect(a.fence).toBe(Number(line.split(' ')[1]) + 1);
      await a.release();
    });

    it('fails the fence check of its writes once taken over', async () => {
      const a = new AwsLock(cloud.env());
      const b = other<AwsLock>(a);
      await a.acquire();
      const stale = fenceCheck(a);
      a.lease?.stop();
      await b.acquire({ timeoutMs: 3 * cloud.env().leaseMs });
      const env = cloud.env();
      const write = new TransactWriteItemsCommand({
        TransactItems: [
          stale,
          { Put: { TableName: env.table, Item: { pk: { S: `TEST#${a.id}` }, sk: { S: 'x' } } } },
        ],
      });
      await expect(cloud.clients().dynamo.send(write)).rejects.toBeInstanceOf(TransactionCanceledException);
      expect(b.fence).toBeGreaterThan(a.fence ?? 0);
      await b.release();
    });
  });

  describe('a lost answer retried by the SDK', () => {
    it('acquires once, with the fence of the one acquisition', async () => {
      const lossy = lossyEnv(cloud);
      try {
        const a = new AwsLock(lossy.env);
        lossy.loseNext('ADD #fence');
        expect(await a.acquire({ block: false })).toBe(true);
        expect(lossy.lost()).toBe(1);
        expect(a.fence).toBe(1);
        expect(await other<Lock>(a).acquire({ block: false })).toBe(false);
        await a.release();
        expect(await a.locked()).toBe(false);
      } finally {
        lossy.destroy();
      }
    });

    it('releases without an error', async () => {
      const lossy = lossyEnv(cloud);
      try {
        const a = new AwsLock(lossy.env);
        await a.acquire();
        lossy.loseNext('#lastFreed');
        await a.release();
        expect(lossy.lost()).toBe(1);
        expect(await a.locked()).toBe(false);
      } finally {
        lossy.destroy();
      }
    });

    it('releases without an error from a party that did not acquire', async () => {
      const lossy = lossyEnv(cloud);
      try {
        const a = new AwsLock(cloud.env());
        await a.acquire();
        const b = awsReviver(lossy.env)(a[SHARE]()) as Lock;
        lossy.loseNext('#lastFreed');
        await b.release();
        expect(lossy.lost()).toBe(1);
        expect(await a.locked()).toBe(false);
      } finally {
        lossy.destroy();
      }
    });
  });
});

describe('RLock', () => {
  describe('acquire()', () => {
    it('is shared by the instances of one party', async () => {
      const env = cloud.env();
      const a = new AwsRLock(env);
      const a2 = locks.revive.RLock?.(a[SHARE](), env) as AwsRLock;
      await a.acquire();
      expect(await a2.acquire({ block: false })).toBe(true);
      expect((await a.state()).count).toBe(2);
      await a2.release();
      await a.release();
    });
  });

  describe('a lost answer retried by the SDK', () => {
    it('counts each acquire and release once', async () => {
      const lossy = lossyEnv(cloud);
      try {
        const a = new AwsRLock(lossy.env);
        lossy.loseNext('ADD #fence');
        expect(await a.acquire({ block: false })).toBe(true);
        expect((await a.state()).count).toBe(1);
        lossy.loseNext(':was');
        expect(await a.acquire()).toBe(true);
        expect((await a.state()).count).toBe(2);
        expect(await other<RLock>(a).acquire({ block: false })).toBe(false);
        lossy.loseNext(':was');
        await a.release();
        expect((await a.state()).count).toBe(1);
        lossy.loseNext('#lastFreed');
        await a.release();
        expect(lossy.lost()).toBe(4);
        expect(await a.state()).toEqual({ owner: undefined, count: 0 });
      } finally {
        lossy.destroy();
      }
    });
  });
});

describe('locks.revive', () => {
  it.each([
    ['a missing id', {}],
    ['a non-UUID id', { id: 'x' }],
  ])('rejects a handle with %s', (_, data) => {
    const handle = { $fanfold: 'handle', ctx: 'aws', kind: 'Lock', data } as const;
    expect(() => locks.revive.Lock?.(handle, cloud.env())).toThrow(
      expect.objectContaining({ code: ErrorCodes.PROTOCOL }),
    );
  });
});
