/**
 * Manager dict and list proxies on DynamoDB and S3 (moto), beyond the primitives contract
 * (test/contract/primitives, run on moto by test/cloud/primitives.test.ts): numbers DynamoDB cannot
 * hold, batches past one request, values and elements through the bucket and a read racing their
 * replacement, the item limit, appends of two parties in their order, and shutdown deleting what
 * the manager made. A second party is the proxy revived by the module's revive on another
 * environment — never a mock.
 */

import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import type { DictProxy, ListProxy, Manager } from '../../../src/api/managers.js';
import { AwsManager, manager as module } from '../../../src/aws/sync/manager.js';
import {
  ErrorCodes,
  InvalidArgumentError,
  PayloadTooLargeError,
  ProtocolError,
} from '../../../src/errors.js';
import { SHARE, type SyncHandle } from '../../../src/handles.js';
import { useSyncEnv } from '../sync-env.js';

const cloud = await useSyncEnv();
const managers: Manager[] = [];

afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.shutdown()));
});

function make(): AwsManager {
  const m = new AwsManager(cloud.env());
  managers.push(m);
  return m;
}

/** Byte equality (vitest's deep equality walks a 1 MB array element by element). */
function same(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a !== undefined && Buffer.from(a).equals(b);
}

/** The proxy as a second party sees it. */
function other<T>(proxy: { [SHARE](): SyncHandle; kind: string }): T {
  return module.revive[proxy.kind]?.(proxy[SHARE](), cloud.env()) as T;
}

describe('Manager (aws)', () => {
  describe('dict()', () => {
    it('set stores any structured value, seen by a second party', async () => {
      const d = make().dict<unknown>();
      await d.set('k', { x: [1, 2n, new Date(0)] });
      expect(await other<DictProxy>(d).get('k')).toEqual({ x: [1, 2n, new Date(0)] });
    });

    it('increment continues from a number that was set, even one DynamoDB cannot hold', async () => {
      const d = make().dict<number>({ a: 5, big: 1e21 });
      expect([await d.increment('a'), await d.increment('big', 1e21)]).toEqual([6, 2e21]);
    });

    it('update and clear work past one batch (60 keys)', async () => {
      const d = make().dict<number>();
      await d.update(Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`k${i}`, i])));
      expect(await d.size()).toBe(60);
      await d.clear();
      expect(await d.size()).toBe(0);
    });

    it('a 1 MB value goes through the bucket and comes back whole', async () => {
      const d = make().dict<Uint8Array>();
      const big = new Uint8Array(1024 * 1024).map((_, i) => i % 251);
      await d.set('big', big);
      expect(same(await other<DictProxy<Uint8Array>>(d).get('big'), big)).toBe(true);
      expect(same(await d.pop('big'), big)).toBe(true);
    });

    it('a read racing a replacement of a big value reads again instead of failing on the deleted blob', async () => {
      const d = make().dict<Uint8Array>();
      const o = other<DictProxy<Uint8Array>>(d);
      const value = (i: number) => new Uint8Array(400 * 1024).fill(i);
      await d.set('k', value(0));
      const [, got] = await Promise.all([
        (async () => {
          for (let i = 1; i <= 6; i++) await d.set('k', value(i));
        })(),
        Promise.all(Array.from({ length: 12 }, () => o.get('k'))),
      ]);
      for (const v of got) expect(v && v.byteLength === 400 * 1024 && v.every((x) => x === v[0])).toBe(true);
    });

    it('rejects a key longer than a DynamoDB sort key holds before any request', async () => {
      const d = make().dict<unknown>();
      await expect(d.set('x'.repeat(2000), 1)).rejects.toBeInstanceOf(InvalidArgumentError);
      await d.set('k', 1);
      expect(await d.get('k')).toBe(1);
    });
  });

  describe('list()', () => {
    it('keeps every append of two parties, each in its order', async () => {
      const l = make().list<string>();
      const o = other<ListProxy<string>>(l);
      await Promise.all([
        (async () => {
          for (let i = 0; i < 15; i++) await l.append(`a:${i}`);
        })(),
        (async () => {
          for (let i = 0; i < 15; i++) await o.append(`b:${i}`);
        })(),
      ]);
      const all = await l.slice();
      expect(all).toHaveLength(30);
      for (const t of ['a', 'b']) {
        expect(all.filter((x) => x.startsWith(`${t}:`))).toEqual(
          Array.from({ length: 15 }, (_, i) => `${t}:${i}`),
        );
      }
    });

    it('an append past the item limit throws PayloadTooLargeError and leaves the list as it was', async () => {
      const l = make().list<Uint8Array>();
      const element = new Uint8Array(15 * 1024);
      await l.extend(Array.from({ length: 25 }, () => element));
      await expect(l.extend(Array.from({ length: 5 }, () => element))).rejects.toBeInstanceOf(
        PayloadTooLargeError,
      );
      expect(await l.length()).toBe(25);
    });

    it('a 1 MB element goes through the bucket', async () => {
      const l = make().list<Uint8Array>();
      const big = new Uint8Array(1024 * 1024).fill(7);
      await l.append(big);
      expect(same(await other<ListProxy<Uint8Array>>(l).get(0), big)).toBe(true);
    });
  });

  describe('shutdown()', () => {
    it('deletes every item and blob the manager made', async () => {
      const m = make();
      const d = m.dict({ a: 1, b: new Uint8Array(500_000) });
      const l = m.list([new Uint8Array(100_000), 2]);
      await Promise.all([d.size(), l.length()]);
      const id = (d[SHARE]().data as { id: string }).id;
      await m.shutdown();
      const { dynamo, s3 } = cloud.clients();
      const env = cloud.env();
      for (const p of [d, l]) {
        const pk = `SYNC#${id}#${(p[SHARE]().data as { object: string }).object}`;
        const out = await dynamo.send(
          new QueryCommand({
            TableName: env.table,
            KeyConditionExpression: 'pk = :p',
            ExpressionAttributeValues: { ':p': { S: pk } },
            ConsistentRead: true,
          }),
        );
        expect(out.Count).toBe(0);
      }
      const blobs = await s3.send(new ListObjectsV2Command({ Bucket: env.bucket, Prefix: `sync/${id}/` }));
      expect(blobs.KeyCount ?? 0).toBe(0);
    });

    it('deletes a blob whose item was never written (a crash between the two)', async () => {
      const m = make();
      const d = m.dict();
      const id = (d[SHARE]().data as { id: string }).id;
      const { s3 } = cloud.clients();
      const env = cloud.env();
      await s3.send(new PutObjectCommand({ Bucket: env.bucket, Key: `sync/${id}/orphan`, Body: 'x' }));
      await m.shutdown();
      const blobs = await s3.send(new ListObjectsV2Command({ Bucket: env.bucket, Prefix: `sync/${id}/` }));
      expect(blobs.KeyCount ?? 0).toBe(0);
    });

    it('lets operations already running end first, so none writes after the deletion', async () => {
      const m = make();
      const d = m.dict<number>();
      const writes = Array.from({ length: 10 }, (_, i) => d.set(`k${i}`, i));
      await m.shutdown();
      await Promise.all(writes);
      expect(await other<DictProxy>(d).size()).toBe(0);
    });

    it('makes later operations of its proxies, and new objects, throw ClosedError', async () => {
      const m = make();
      const d = m.dict();
      const l = m.list();
      await m.shutdown();
      await expect(d.get('k')).rejects.toMatchObject({ code: ErrorCodes.CLOSED });
      await expect(l.append(1)).rejects.toMatchObject({ code: ErrorCodes.CLOSED });
      expect(() => m.dict()).toThrow(expect.objectContaining({ code: ErrorCodes.CLOSED }));
    });
  });

  describe('revive', () => {
    it.each([
      ['a bad manager id', { id: 'x' }],
      ['a bad object id', { object: 3 }],
    ])('rejects a handle with %s', (_, patch) => {
      const h = make().dict()[SHARE]();
      expect(() => module.revive.DictProxy?.({ ...h, data: { ...h.data, ...patch } }, cloud.env())).toThrow(
        ProtocolError,
      );
    });

    it('a second party revived at once sees the initial entries', async () => {
      const d = make().dict(Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i])));
      expect(await other<DictProxy>(d).size()).toBe(40);
    });

    it('rejects a handle whose init flag is not true', () => {
      const h = make().list([1])[SHARE]();
      expect(() => module.revive.ListProxy?.({ ...h, data: { ...h.data, init: 1 } }, cloud.env())).toThrow(
        ProtocolError,
      );
    });

    it('rejects a list handle given as a dict', () => {
      const h = make().list()[SHARE]();
      expect(() => module.revive.DictProxy?.(h, cloud.env())).toThrow(ProtocolError);
    });
  });
});
