/**
 * Pipe and Connection of the AWS context on moto: the second party is an end revived from its
 * handle with its own environment object.
 */
import { GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import type { Connection } from '../../../src/api/connection.js';
import { connection } from '../../../src/aws/sync/connection.js';
import type { AwsSyncEnv } from '../../../src/aws/sync/env.js';
import { ClosedError, InvalidArgumentError, ProtocolError } from '../../../src/errors.js';
import { SHARE, type SyncHandle } from '../../../src/handles.js';
import { useSyncEnv } from '../sync-env.js';

const cloud = await useSyncEnv();

function pipe<T>(env: AwsSyncEnv, duplex?: boolean): [Connection<T>, Connection<T>] {
  const Pipe = connection.make(env).Pipe as (d?: boolean) => [Connection<T>, Connection<T>];
  return Pipe(duplex);
}

/** `end` as a task would see it: its handle revived with another environment object. */
function revived<T>(end: Connection<T>, env: AwsSyncEnv): Connection<T> {
  const revive = connection.revive.Connection as (h: SyncHandle, env: AwsSyncEnv) => Connection<T>;
  return revive(structuredClone(end[SHARE]()), { ...env });
}

describe('Pipe (aws)', () => {
  describe('send() and recv()', () => {
    it('carries messages both ways, in order', async () => {
      const env = cloud.env();
      const [a, b0] = pipe<string>(env);
      const b = revived(b0, env);
      await a.send('ping 1');
      await a.send('ping 2');
      expect(await b.recv()).toBe('ping 1');
      expect(await b.recv()).toBe('ping 2');
      await b.send('pong');
      expect(await a.recv()).toBe('pong');
      await b.close();
      await a.close();
    });

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

  describe('poll()', () => {
    it('resolves false when nothing comes within the timeout, true once a message waits', async () => {
      const env = cloud.env();
      const [a, b] = pipe<number>(env);
      expect(await a.poll()).toBe(false);
      expect(await a.poll(300)).toBe(false);
      await revived(b, env).send(7);
      expect(await a.poll(10_000)).toBe(true);
      expect(await a.poll()).toBe(true);
      expect(await a.recv()).toBe(7);
      expect(await a.poll()).toBe(false);
      await a.close();
      await b.close();
    });

    it('rejects a timeout that is not a number', async () => {
      const [a, b] = pipe(cloud.env());
      await expect(a.poll('1' as never)).rejects.toBeInstanceOf(InvalidArgumentError);
      await a.close();
      await b.close();
    });
  });

  describe('close()', () => {
    it('lets the peer read what was sent, then throws ClosedError (end of file)', async () => {
      const env = cloud.env();
      const [a, b0] = pipe<string>(env);
      const b = revived(b0, env);
      await b.send('last');
      await b.close();
      expect(await a.recv()).toBe('last');
      await expect(a.recv()).rejects.toBeInstanceOf(ClosedError);
      expect(await a.poll()).toBe(true);
      await a.close();
    });

    it('wakes a peer waiting in recv() when the other end closes', async () => {
      const env = cloud.env();
      const [a, b0] = pipe<string>(env);
      const b = revived(b0, env);
      const waiting = a.recv();
      await b.close();
      await expect(waiting).rejects.toBeInstanceOf(ClosedError);
      await a.close();
    });

    it('refuses send and recv on a closed end', async () => {
      const [a, b] = pipe(cloud.env());
      await a.close();
      await expect(a.send(1)).rejects.toBeInstanceOf(ClosedError);
      await expect(a.recv()).rejects.toBeInstanceOf(ClosedError);
      expect(a.closed).toBe(true);
      await b.close();
    });

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

    it("closes only the parent's copy of an end that was passed to a task", async () => {
      const env = cloud.env();
      const [a, b] = pipe<string>(env);
      const child = revived(b, env);
      await b.close();
      await child.send('still open');
      expect(await a.recv()).toBe('still open');
      expect(await a.poll(200)).toBe(false);
      await child.close();
      await a.close();
    });
  });

  describe('one-way', () => {
    it('gives a receive-only end and a send-only end', async () => {
      const env = cloud.env();
      const [r, w0] = pipe<string>(env, false);
      const w = revived(w0, env);
      expect([r.readable, r.writable, w.readable, w.writable]).toEqual([true, false, false, true]);
      await w.send('one way');
      expect(await r.recv()).toBe('one way');
      await expect(r.send('back')).rejects.toBeInstanceOf(ClosedError);
      await expect(w.recv()).rejects.toBeInstanceOf(ClosedError);
      await w.close();
      await expect(r.recv()).rejects.toBeInstanceOf(ClosedError);
      await r.close();
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
