/**
 * Pipe and Connection of the AWS context on moto, beyond the primitives contract
 * (test/contract/primitives, run on moto by test/cloud/primitives.test.ts): a 3 MB message through
 * the bucket, both queues deleted once both ends closed, malformed handles and the stack's queue
 * prefix. The second party is an end revived from its handle with its own environment object.
 */
import { GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import type { Connection } from '../../../src/api/connection.js';
import { connection } from '../../../src/aws/sync/connection.js';
import type { AwsSyncEnv } from '../../../src/aws/sync/env.js';
import { ProtocolError } from '../../../src/errors.js';
import { SHARE, type SyncHandle } from '../../../src/handles.js';
import { useSyncEnv } from '../sync-env.js';

const cloud = await useSyncEnv();

function pipe<T>(env: AwsSyncEnv, duplex?: boolean): [Connection<T>, Connection<T>] {
  const Pipe = connection.make(env).Pipe as (d?: boolean) => [Connection<T>, Connection<T>];
  return Pipe(duplex);
}

/** `end` as a task would see it: its handle revived with another environment object. */
function _revived<T>(end: Connection<T>, env: AwsSyncEnv): Connection<T> {
  const revive = connection.revive.Connection as (h: SyncHandle, env: AwsSyncEnv) => Connection<T>;
  return revive(structuredClone(end[SHARE]()), { ...env });
}

describe('Pipe (aws)', () => {
  describe('send() and recv()', () => {
    it('carries a 3 MB message through the bucket', async () => {
      const env = cloud.env();
      const [a, b] = pipe<Uint8Array>(env);
      const big = new Uint8Array(3_000_000).map((_, i) => i % 253);
      await b.send(big);
      expect(Buffer.from(await a.recv()).equals(Buffer.from(big))).toBe(true);
      await a.close();
      await b.close();
    });
  });

  describe('close()', () => {
    it('deletes both queues once both ends closed', async () => {
      const env = cloud.env();
      const [a, b] = pipe<number>(env);
      await a.send(1);
      await b.send(2);
      await a.close();
      await b.close();
      // Read after closing: sharing an end makes its close() local to it.
      const names = a[SHARE]().data.names as string[];
      const { sqs } = cloud.clients();
      for (const name of names)
        await expect(sqs.send(new GetQueueUrlCommand({ QueueName: name }))).rejects.toMatchObject({
          name: expect.stringMatching(/QueueDoesNotExist|NonExistentQueue/),
        });
    });
  });

  describe('revive', () => {
    it('rejects malformed handles', async () => {
      const env = cloud.env();
      const [a, b] = pipe(env);
      const h = a[SHARE]();
      const revive = connection.revive.Connection as (h: SyncHandle, env: AwsSyncEnv) => unknown;
      const bad = (data: Record<string, unknown>) => () =>
        revive({ ...h, data: { ...h.data, ...data } }, env);
      expect(bad({ id: 'nope' })).toThrow(ProtocolError);
      expect(bad({ names: ['x.fifo', 'y.fifo'] })).toThrow(ProtocolError);
      expect(bad({ end: 2 })).toThrow(ProtocolError);
      expect(bad({ duplex: 'yes' })).toThrow(ProtocolError);
      await a.close();
      await b.close();
    });

    it("refuses, on first use, an end whose queues are not under this stack's prefix", async () => {
      const env = cloud.env();
      const [a, b] = pipe(env);
      const revive = connection.revive.Connection as (h: SyncHandle, env: AwsSyncEnv) => Connection;
      const elsewhere = revive(b[SHARE](), { ...env, queuePrefix: 'other-' });
      await expect(elsewhere.send(1)).rejects.toBeInstanceOf(ProtocolError);
      await a.close();
    });
  });
});
