/**
 * The queues of the AWS context on moto, beyond the primitives contract (test/contract/primitives,
 * run on moto by test/cloud/primitives.test.ts): a 3 MB item through the bucket, a SendMessage the
 * SDK retries or that fails, a getter that dies between receive and delete, close() deleting the
 * queue and its spilled items, malformed handles and the stack's queue prefix. A second party is
 * the handle revived with another environment (its own clients' view, the same table, bucket and
 * prefix).
 */

import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import {
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import type { JoinableQueue, Queue, SimpleQueue } from '../../../src/api/queues.js';
import type { AwsSyncEnv } from '../../../src/aws/sync/env.js';
import { queues } from '../../../src/aws/sync/queues.js';
import { ClosedError, Empty, ProtocolError } from '../../../src/errors.js';
import { SHARE, type SyncHandle } from '../../../src/handles.js';
import { useSyncEnv } from '../sync-env.js';

const cloud = await useSyncEnv();

function make(env: AwsSyncEnv) {
  const m = queues.make(env);
  return {
    Queue: <T>(n?: number) => (m.Queue as (n?: number) => Queue<T>)(n),
    JoinableQueue: <T>(n?: number) => (m.JoinableQueue as (n?: number) => JoinableQueue<T>)(n),
    SimpleQueue: <T>() => (m.SimpleQueue as () => SimpleQueue<T>)(),
  };
}

/** The handle of `q` revived by a second party (its own env object on the same prefix). */
function other<T>(q: { [SHARE](): SyncHandle }, env: AwsSyncEnv): T {
  const h = structuredClone(q[SHARE]());
  const revive = queues.revive[h.kind];
  if (!revive) throw new Error(`no reviver for ${h.kind}`);
  return revive(h, { ...env }) as T;
}

async function queueUrl(sqs: SQSClient, name: string): Promise<string> {
  return (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl ?? '';
}

describe('Queue (aws)', () => {
  describe('put() and get()', () => {
    it('round-trips a 3 MB item through the bucket', async () => {
      await using q = make(cloud.env()).Queue<Uint8Array>();
      const big = new Uint8Array(3_000_000).map((_, i) => i % 251);
      await q.put(big);
      expect(Buffer.from(await q.get()).equals(Buffer.from(big))).toBe(true);
    });
  });

  describe('duplicates and crashes', () => {
    it('keeps one copy of a SendMessage the SDK retries', async () => {
      const base = cloud.env();
      const c = await base.clients();
      // Every SendMessage is sent twice, as an SDK retry after a lost answer would.
      const sqs = Object.create(c.sqs) as SQSClient;
      sqs.send = (async (cmd: unknown) => {
        if (cmd instanceof SendMessageCommand) await c.sqs.send(cmd);
        return c.sqs.send(cmd as never);
      }) as never;
      const env = cloud.env({ clients: async () => ({ ...c, sqs }) });
      await using q = make(env).Queue();
      await q.put('once');
      expect(await q.get()).toBe('once');
      await expect(q.getNowait()).rejects.toBeInstanceOf(Empty);
    });

    it('gives the slot back when SendMessage fails', async () => {
      const c = await cloud.env().clients();
      const sqs = Object.create(c.sqs) as SQSClient;
      let fail = true;
      sqs.send = (async (cmd: unknown) => {
        if (fail && cmd instanceof SendMessageCommand) throw new Error('SendMessage refused');
        return c.sqs.send(cmd as never);
      }) as never;
      await using q = make(cloud.env({ clients: async () => ({ ...c, sqs }) })).Queue(1);
      await expect(q.put('lost')).rejects.toThrow('SendMessage refused');
      expect(await q.qsize()).toBe(0);
      fail = false;
      await q.putNowait('kept');
      expect(await q.get()).toBe('kept');
    });

    it('delivers again an item whose getter died between receive and delete', async () => {
      const env = cloud.env();
      await using q = make(env).Queue<string>();
      await q.put('survives');
      // The dying getter: receives (hidden for 1 s) and never deletes.
      const { sqs } = cloud.clients();
      const url = await queueUrl(sqs, q[SHARE]().data.name as string);
      const taken = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, VisibilityTimeout: 1 }));
      expect(taken.Messages).toHaveLength(1);
      expect(await other<Queue<string>>(q, env).get({ timeoutMs: 10_000 })).toBe('survives');
      expect(await q.qsize()).toBe(0);
    });
  });

  describe('close()', () => {
    it("deletes the queue when the creator's handle closes; other parties then get ClosedError", async () => {
      const env = cloud.env();
      const q = make(env).Queue();
      const b = other<Queue>(q, env);
      await q.put(1);
      const name = q[SHARE]().data.name as string;
      await q.close();
      await expect(queueUrl(cloud.clients().sqs, name)).rejects.toMatchObject({
        name: expect.stringMatching(/QueueDoesNotExist|NonExistentQueue/),
      });
      await expect(b.put(2)).rejects.toBeInstanceOf(ClosedError);
      await expect(b.get({ block: false })).rejects.toBeInstanceOf(ClosedError);
      await expect(q.put(3)).rejects.toBeInstanceOf(ClosedError);
    });

    it('deletes the spilled items not yet taken', async () => {
      const env = cloud.env();
      const q = make(env).Queue<Uint8Array>();
      await q.put(new Uint8Array(2_000_000));
      const prefix = `sync/${q[SHARE]().data.name as string}/`;
      const list = () =>
        cloud.clients().s3.send(new ListObjectsV2Command({ Bucket: env.bucket, Prefix: prefix }));
      expect((await list()).KeyCount).toBe(1);
      await q.close();
      expect((await list()).KeyCount ?? 0).toBe(0);
    });

    it("closes only the revived handle when a party's close is called", async () => {
      const env = cloud.env();
      await using q = make(env).Queue();
      const b = other<Queue>(q, env);
      await b.close();
      await expect(b.put(1)).rejects.toBeInstanceOf(ClosedError);
      await q.put(1);
      expect(await q.get()).toBe(1);
    });
  });

  describe('revive', () => {
    it('rejects malformed handles', () => {
      const env = cloud.env();
      const q = make(env).Queue();
      const h = q[SHARE]();
      const revive = queues.revive.Queue as (h: SyncHandle, env: AwsSyncEnv) => unknown;
      const bad = (data: Record<string, unknown>) => () =>
        revive({ ...h, data: { ...h.data, ...data } }, env);
      expect(bad({ id: 'x' })).toThrow(ProtocolError);
      expect(bad({ name: 'someone-elses-queue.fifo' })).toThrow(ProtocolError);
      expect(bad({ maxsize: -1 })).toThrow(ProtocolError);
      expect(bad({ maxsize: '1' })).toThrow(ProtocolError);
      return q.close();
    });

    it("refuses, on first use, a handle whose queue is not under this stack's prefix", async () => {
      const env = cloud.env();
      await using q = make(env).Queue();
      const revive = queues.revive.Queue as (h: SyncHandle, env: AwsSyncEnv) => Queue;
      const elsewhere = revive(q[SHARE](), { ...env, queuePrefix: 'other-' });
      await expect(elsewhere.put(1)).rejects.toBeInstanceOf(ProtocolError);
    });

    it("names the queue by the receiving stack's prefix when the handle was made before the prefix was known", async () => {
      const env = cloud.env();
      await using q = make(env).Queue<number>();
      const { name: _, ...data } = q[SHARE]().data;
      const revive = queues.revive.Queue as (h: SyncHandle, env: AwsSyncEnv) => Queue<number>;
      await revive({ ...q[SHARE](), data }, { ...env }).put(5);
      expect(await q.get()).toBe(5);
    });
  });
});
