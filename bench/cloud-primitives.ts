/**
 * The AWS primitives' latency on the emulator: for each primitive's basic operation, the median and
 * p99 latency over N runs and the AWS requests one operation costs (HTTP requests counted under the
 * SDK, retries included). Run by bench/primitives.mjs (`node --import tsx bench/cloud-primitives.ts`),
 * it prints a Markdown section on stdout.
 *
 * moto answers on 127.0.0.1 in well under a millisecond of service time, so these figures are the
 * client's own cost plus the protocol's round trips; on AWS add ~5–10 ms per DynamoDB request and
 * ~10–20 ms per SQS request in the same region (see docs/primitives.md).
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createDynamoClient, createS3Client, createSqsClient } from '../src/aws/clients.js';
import { ensureBucket, ensureTable } from '../src/aws/setup.js';
import type { AwsSyncEnv } from '../src/aws/sync/env.js';
import { awsPrimitives, awsReviver } from '../src/aws/sync/index.js';
import { isHandle, SHARE, type Shareable } from '../src/handles.js';
import { startEmulators } from '../test/runner/index.js';

const quick = process.argv.includes('--quick');
const N = quick ? 10 : 60;

type Counter = { n: number };
/** Counts every HTTP request a client sends (each retry too). */
function counted<C extends { config: { requestHandler: unknown } }>(client: C, counter: Counter): C {
  const handler = client.config.requestHandler as { handle: (...a: unknown[]) => Promise<unknown> };
  const handle = handler.handle.bind(handler);
  handler.handle = (...a: unknown[]) => {
    counter.n++;
    return handle(...a);
  };
  return client;
}

const emulators = await startEmulators();
const requests: Counter = { n: 0 };
const dynamo = counted(createDynamoClient(emulators.clientOptions), requests);
const sqs = counted(createSqsClient(emulators.clientOptions), requests);
const s3 = counted(createS3Client(emulators.clientOptions), requests);
const table = `bench-${randomUUID().slice(0, 8)}`;
await Promise.all([ensureTable(dynamo, table), ensureBucket(s3, table)]);
const env: AwsSyncEnv = {
  table,
  bucket: table,
  queuePrefix: `bench-${randomUUID().slice(0, 6)}-`,
  clients: async () => ({ dynamo, sqs, s3 }),
  leaseMs: 30_000,
  pollMs: { min: 20, max: 1000 },
};
const mp = awsPrimitives(env);
const revive = awsReviver(env);
/** A second party's view of the same primitive. */
const other = <T>(p: T): T => {
  const h = (p as unknown as Shareable)[SHARE]();
  if (!isHandle(h)) throw new Error('not a handle');
  return revive(h) as T;
};

interface Row {
  readonly primitive: string;
  readonly op: string;
  readonly p50: number;
  readonly p99: number;
  readonly requests: number;
}
const rows: Row[] = [];

/** Runs `setup` once, then `op` N times (after 2 warm-ups); records latency and requests per op. */
async function measure(primitive: string, op: string, run: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 2; i++) await run();
  const times: number[] = [];
  const before = requests.n;
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? Number.NaN;
  rows.push({ primitive, op, p50: at(0.5), p99: at(0.99), requests: (requests.n - before) / N });
  process.stderr.write(`  ${primitive} ${op}: p50 ${at(0.5).toFixed(1)} ms\n`);
}

async function tryMeasure(primitive: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    rows.push({
      primitive,
      op: `FAILED: ${(e as Error).message.slice(0, 60)}`,
      p50: Number.NaN,
      p99: Number.NaN,
      requests: Number.NaN,
    });
  }
}

await tryMeasure('Lock', async () => {
  const lock = mp.Lock();
  await measure('Lock', 'acquire + release (free)', async () => {
    await lock.acquire();
    await lock.release();
  });
  await measure('Lock', 'acquire({ block: false }) when held elsewhere', async () => {
    const b = other(lock);
    await b.acquire();
    await lock.acquire({ block: false });
    await b.release();
  });
});
await tryMeasure('RLock', async () => {
  const r = mp.RLock();
  await measure('RLock', 'acquire + release', async () => {
    await r.acquire();
    await r.release();
  });
});
await tryMeasure('Semaphore', async () => {
  const s = mp.BoundedSemaphore(2);
  await measure('BoundedSemaphore', 'acquire + release', async () => {
    await s.acquire();
    await s.release();
  });
});
await tryMeasure('Event', async () => {
  const e = mp.Event();
  await measure('Event', 'set + clear', async () => {
    await e.set();
    await e.clear();
  });
  await measure('Event', 'set → seen by a waiting party', async () => {
    const w = other(e).wait(10_000);
    await e.set();
    await w;
    await e.clear();
  });
});
await tryMeasure('Condition', async () => {
  const c = mp.Condition();
  await measure('Condition', 'acquire + notify + release', async () => {
    await c.acquire();
    await c.notify();
    await c.release();
  });
  // From notify() until the waiter holds the lock again and has released it: the waiter's polls,
  // its re-acquire and release are in the figure. The waiter is another party (its own
  // environment, so its own owner identity for the Condition's RLock).
  const w = awsReviver({ ...env })((c as unknown as Shareable)[SHARE]() as never) as typeof c;
  await measure('Condition', 'notify → the waiter woke, re-acquired and released', async () => {
    await w.acquire();
    const woke = w.wait(10_000).finally(() => w.release());
    // The waiter is registered once it released the lock inside wait().
    await c.acquire();
    await c.notify();
    await c.release();
    await woke;
  });
});
await tryMeasure('Barrier', async () => {
  const b = mp.Barrier(2);
  const b2 = other(b);
  await measure('Barrier', 'wait, 2 parties', async () => {
    await Promise.all([b.wait(10_000), b2.wait(10_000)]);
  });
});
await tryMeasure('Value', async () => {
  const v = mp.Value('i', 0);
  await measure('Value', 'get', () => v.get());
  await measure('Value', 'set', () => v.set(1));
  await measure('Value', 'add (atomic)', () => v.add(1));
  await measure('Value', 'withLock(get + set)', () => v.withLock(async () => v.set((await v.get()) + 1)));
  // A write under the value's own lock carries the lock's fence (refused if the lease was lost).
  await v.getLock().acquire();
  await measure('Value', 'add while holding its lock (fenced)', () => v.add(1));
  await v.getLock().release();
});
await tryMeasure('Array', async () => {
  const a = mp.Array('d', 100);
  await measure('Array', 'get(i)', () => a.get(7));
  await measure('Array', 'add(i, x)', () => a.add(7, 1));
});
await tryMeasure('Queue', async () => {
  const q = mp.Queue<number>();
  await q.put(0);
  await q.get();
  await measure('Queue', 'put', () => q.put(1));
  await measure('Queue', 'get (item waiting)', () => q.get());
  const bq = mp.Queue<number>(10);
  await measure('Queue(10)', 'put + get', async () => {
    await bq.put(1);
    await bq.get();
  });
  await q.close();
  await bq.close();
});
await tryMeasure('Pipe', async () => {
  const [a, b] = mp.Pipe<number>();
  await measure('Pipe', 'send + recv (one way)', async () => {
    await a.send(1);
    await b.recv();
  });
  const b2 = other(b);
  await measure('Pipe', 'round trip (send, recv, send back, recv)', async () => {
    await a.send(1);
    await b2.send(await b2.recv());
    await a.recv();
  });
  await a.close();
  await b.close();
});
await tryMeasure('Manager', async () => {
  const m = mp.Manager();
  const d = m.dict<number>();
  const l = m.list<number>();
  await measure('Manager dict', 'set', () => d.set('k', 1));
  await measure('Manager dict', 'get', () => d.get('k'));
  await measure('Manager dict', 'increment', () => d.increment('n'));
  await measure('Manager list', 'append', () => l.append(1));
  await m.shutdown();
});

for (const c of [dynamo, sqs, s3]) c.destroy();
await emulators.stop();

const f = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '—');
const out = [
  `### AWS context on the emulator (moto ${'5.2.5'} on 127.0.0.1), ${N} operations each`,
  '',
  'Latency is the client-side time of one operation (median, p99); requests are the AWS HTTP requests one operation sends (DynamoDB, SQS and S3 together, retries included), which is what it costs on AWS. On AWS each DynamoDB request adds roughly 5–10 ms and each SQS request 10–20 ms to these figures.',
  '',
  '| primitive | operation | p50 ms | p99 ms | requests |',
  '|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.primitive} | ${r.op} | ${f(r.p50)} | ${f(r.p99)} | ${Number.isFinite(r.requests) ? r.requests.toFixed(1) : '—'} |`,
  ),
];
process.stdout.write(`${out.join('\n')}\n`);
