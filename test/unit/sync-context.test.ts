/**
 * The AWS context's primitives environment: its factories are synchronous while a stack's outputs
 * are read on the first operation, so `table`/`bucket`/`queuePrefix` are known once `clients()`
 * has resolved (at once with explicit resources), and a failed lookup is tried again.
 */
import { describe, expect, it } from 'vitest';
import type { StackResources } from '../../src/aws/invoke.js';
import type { Settings } from '../../src/aws/settings.js';
import { awsPrimitives } from '../../src/aws/sync/index.js';
import { contextSyncEnv, DEFAULT_QUEUE_PREFIX } from '../../src/aws/sync-context.js';
import { InvalidArgumentError, ProtocolError } from '../../src/errors.js';

const fakeClient = { send: async () => ({}), destroy: () => {} } as never;
const clients = { dynamo: fakeClient, s3: fakeClient, sqs: fakeClient };
const stackSettings: Settings = {
  stack: 'Fanfold',
  resources: undefined,
  clients,
  region: 'us-east-1',
  pollMs: undefined,
  allowTasksMismatch: false,
};
const outputs: StackResources = {
  coordinator: 'c',
  table: 'stack-table',
  bucket: 'stack-bucket',
  workers: 4,
  queuePrefix: 'stack-q-',
};

const explicitSettings: Settings = {
  ...stackSettings,
  stack: undefined,
  resources: { coordinator: 'c', table: 't', bucket: 'b' },
};

describe('contextSyncEnv()', () => {
  it("reads a stack's names on the first clients() call, not before", async () => {
    let lookups = 0;
    const env = contextSyncEnv(stackSettings, async () => {
      lookups++;
      return outputs;
    });
    expect(lookups).toBe(0);
    expect(() => env.table).toThrow(ProtocolError);
    expect(await env.clients()).toEqual(clients);
    expect([env.table, env.bucket, env.queuePrefix]).toEqual(['stack-table', 'stack-bucket', 'stack-q-']);
    await env.clients();
    expect(lookups).toBe(1);
  });

  it('knows explicit resources at once', () => {
    const env = contextSyncEnv(
      {
        ...stackSettings,
        stack: undefined,
        resources: { coordinator: 'c', table: 't', bucket: 'b', queuePrefix: 'Mine_' },
      },
      async () => outputs,
    );
    expect([env.table, env.bucket, env.queuePrefix]).toEqual(['t', 'b', 'Mine_']);
    expect(env.leaseMs).toBe(30_000);
    expect(env.pollMs).toEqual({ min: 20, max: 1000 });
  });

  it('refuses to guess the queue prefix of explicit resources that lack it, naming what to set', () => {
    const env = contextSyncEnv(explicitSettings, async () => outputs);
    expect(env.table).toBe('t');
    expect(() => env.queuePrefix).toThrow(InvalidArgumentError);
    expect(() => env.queuePrefix).toThrow(/resources\.queuePrefix.*FanfoldQueuePrefix/);
  });

  it("defaults the queue prefix of a stack without the FanfoldQueuePrefix output (an older stack's)", async () => {
    const env = contextSyncEnv(stackSettings, async () => ({ ...outputs, queuePrefix: undefined }));
    await env.clients();
    expect(env.queuePrefix).toBe(DEFAULT_QUEUE_PREFIX);
  });

  it('tries a failed lookup again on the next call', async () => {
    let fail = true;
    const env = contextSyncEnv(stackSettings, async () => {
      if (fail) throw new Error('no stack yet');
      return outputs;
    });
    await expect(env.clients()).rejects.toThrow('no stack yet');
    fail = false;
    await env.clients();
    expect(env.table).toBe('stack-table');
  });
});

describe('Queue and Pipe on a context given resources without queuePrefix', () => {
  const mp = awsPrimitives(
    contextSyncEnv(explicitSettings, async () => ({ ...outputs, queuePrefix: undefined })),
  );

  it('Queue fails its first put with InvalidArgumentError naming resources.queuePrefix', async () => {
    await expect(mp.Queue().put(1)).rejects.toThrow(/resources\.queuePrefix.*FanfoldQueuePrefix/);
    await expect(mp.Queue().put(1)).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('Pipe fails its first send with InvalidArgumentError naming resources.queuePrefix', async () => {
    const [a] = mp.Pipe();
    await expect(a.send(1)).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});
