/**
 * Prints (asserts nothing about) the median latency on moto and the AWS requests of Queue.put,
 * Queue.get and a Pipe round trip, steady state (queues already made). Run:
 * `npx vitest run test/cloud/sync/queue-latency.test.ts`.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { describe, it } from 'vitest';
import type { Connection } from '../../../src/api/connection.js';
import { SHARE, type SyncHandle } from '../../../src/api/handles.js';
import type { Queue } from '../../../src/api/queues.js';
import { connection } from '../../../src/aws/sync/connection.js';
import type { AwsSyncEnv } from '../../../src/aws/sync/env.js';
import { queues } from '../../../src/aws/sync/queues.js';
import { useSyncEnv } from '../sync-env.js';

const cloud = await useSyncEnv();
const ROUNDS = 30;

/** An env whose SQS and DynamoDB requests are counted. */
function counted(): { env: AwsSyncEnv; count: { sqs: number; dynamo: number } } {
  const c = cloud.clients();
  const count = { sqs: 0, dynamo: 0 };
  const wrap = <T extends { send: (...a: never[]) => unknown }>(client: T, key: 'sqs' | 'dynamo'): T => {
    const w = Object.create(client) as T;
    w.send = ((...a: never[]) => {
      count[key]++;
      return client.send(...a);
    }) as T['send'];
    return w;
  };
  const clients = {
    ...c,
    sqs: wrap<SQSClient>(c.sqs, 'sqs'),
    dynamo: wrap<DynamoDBClient>(c.dynamo, 'dynamo'),
  };
  return { env: cloud.env({ clients: async () => clients }), count };
}

async function measure(
  what: string,
  count: { sqs: number; dynamo: number },
  op: () => Promise<unknown>,
): Promise<number> {
  const ms: number[] = [];
  const before = { ...count };
  for (let i = 0; i < ROUNDS; i++) {
    const t = performance.now();
    await op();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  const median = ms[Math.floor(ms.length / 2)] ?? 0;
  const per = (k: 'sqs' | 'dynamo') => (count[k] - before[k]) / ROUNDS;
  console.log(
    `${what}: median ${median.toFixed(1)} ms, max ${(ms[ms.length - 1] ?? 0).toFixed(1)} ms, ${per('sqs')} SQS + ${per('dynamo')} DynamoDB requests`,
  );
  return median;
}

describe('queue and pipe latency (printed)', () => {
  it('Queue put and get', async () => {
    const { env, count } = counted();
    await using q = (queues.make(env).Queue as () => Queue<number>)();
    await q.put(0);
    await q.get();
    await measure('Queue.put (unbounded)', count, () => q.put(1));
    await measure('Queue.get', count, () => q.get());
  });

  it('Pipe round trip', async () => {
    const { env, count } = counted();
    const [a, b0] = (connection.make(env).Pipe as () => [Connection<number>, Connection<number>])();
    const b = (connection.revive.Connection as (h: SyncHandle, e: AwsSyncEnv) => Connection<number>)(
      structuredClone(b0[SHARE]()),
      env,
    );
    await a.send(0);
    await b.recv();
    await b.send(0);
    await a.recv();
    await measure('Pipe round trip (send, recv, send, recv)', count, async () => {
      await a.send(1);
      await b.send(await b.recv());
      await a.recv();
    });
    await b.close();
    await a.close();
  });
});
