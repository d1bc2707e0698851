/**
 * The fan-out rate of one coordinator invocation on the emulator: a job of `C` chunks of a
 * `range()` that one invocation sends itself (a leaf: no tree, no budget), through `SqsWorkQueue`
 * with N SendMessageBatch calls in flight, against moto on 127.0.0.1. Each case runs on a fresh
 * queue, the cases alternately (A B C D, then D C B A) round after round; round 0 is a warm-up.
 * Beside each, a bare sender: SendMessageBatch calls of the same bodies, N in flight, straight
 * from the SDK, which is the emulator's own bound on this machine at that moment (the ratio of the
 * two is what the coordinator adds). Also timed: the leaf with a queue that encodes each body and
 * drops it, the coordinator's own cost per chunk (planning, building, JSON). Requests are counted
 * under the SDK.
 *
 * `node --import tsx bench/fanout-rate.ts [--quick]` prints a Markdown section on stdout, with the
 * machine's load average before and after (the figures move with it: moto is one Python process
 * on the same cores). On AWS a SendMessageBatch takes ~10–20 ms in the same region whatever the
 * number in flight, so the rate there grows with N until the coordinator's CPU is the bound (the
 * dropped-queue line).
 */
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { awsBackend } from '../src/aws/backend.js';
import { createDynamoClient, createS3Client, createSqsClient } from '../src/aws/clients.js';
import { ensureBucket, ensureQueuePair, ensureTable } from '../src/aws/setup.js';
import { encodeBody } from '../src/aws/wire.js';
import { Coordinator } from '../src/engine/coordinator.js';
import type { Backend, Delivery, WorkMessage, WorkQueue } from '../src/ports.js';
import { startEmulators } from '../test/runner/index.js';

const quick = process.argv.includes('--quick');
const CHUNKS = quick ? 1_000 : 3_000;
const ROUNDS = quick ? 2 : 4;
const IN_FLIGHT = [1, 4, 16, 32];

type Counter = Map<string, number>;
/** Counts every HTTP request a client sends, by its X-Amz-Target or method. */
function counted<C extends { config: { requestHandler: unknown } }>(client: C, counter: Counter): C {
  const handler = client.config.requestHandler as {
    handle: (req: { headers: Record<string, string>; method: string }, ...a: unknown[]) => Promise<unknown>;
  };
  const handle = handler.handle.bind(handler);
  handler.handle = (req, ...a) => {
    const op = req.headers['x-amz-target']?.split('.').pop() ?? req.method;
    counter.set(op, (counter.get(op) ?? 0) + 1);
    return handle(req, ...a);
  };
  return client;
}

/** A queue that encodes each message as SQS would and drops it. */
class DroppingQueue implements WorkQueue {
  readonly maxPayloadBytes = 783_360;
  async send(messages: readonly WorkMessage[]): Promise<void> {
    for (const m of messages) encodeBody(m);
  }
  receive(): Promise<Delivery[]> {
    throw new Error('not received');
  }
  async ack(): Promise<void> {}
  async setVisibility(): Promise<void> {}
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ');
const loadBefore = load();
const emulators = await startEmulators();
const requests: Counter = new Map();
const clients = {
  sqs: counted(createSqsClient(emulators.clientOptions), requests),
  dynamo: counted(createDynamoClient(emulators.clientOptions), requests),
  s3: counted(createS3Client(emulators.clientOptions), requests),
};
const table = `bench-fanout-${randomUUID().slice(0, 8)}`;
const bucket = `bench-fanout-${randomUUID().slice(0, 8)}`;
await Promise.all([ensureTable(clients.dynamo, table), ensureBucket(clients.s3, bucket)]);

/** One leaf invocation sending CHUNKS chunks; its chunks per second and requests. */
async function leaf(inFlight: number | 'dropped'): Promise<{ rate: number; requests: Counter }> {
  const { queueUrl, deadLetterQueueUrl } = await ensureQueuePair(clients.sqs, {
    name: `bench-fanout-${randomUUID().slice(0, 8)}`,
  });
  const backend: Backend = awsBackend({
    tableName: table,
    queueUrl,
    deadLetterQueueUrl,
    bucket,
    clients,
    ...(inFlight === 'dropped' ? {} : { sendConcurrency: inFlight }),
  });
  const coordinator = new Coordinator(
    inFlight === 'dropped' ? { ...backend, queue: new DroppingQueue() } : backend,
    { leafChunks: CHUNKS },
  );
  requests.clear();
  const started = performance.now();
  await coordinator.handle({
    v: 1,
    type: 'submit',
    jobId: randomUUID(),
    kind: 'map',
    task: 'square',
    input: { kind: 'range', start: 0, stop: CHUNKS, step: 1 },
    chunksize: 1,
    workers: 1,
    deadline: Date.now() + 3_600_000,
  });
  const ms = performance.now() - started;
  return { rate: (CHUNKS / ms) * 1000, requests: new Map(requests) };
}

/** SendMessageBatch straight from the SDK: CHUNKS bodies of a chunk message's size, `inFlight` at once. */
async function bare(inFlight: number): Promise<{ rate: number; requests: Counter }> {
  const { queueUrl } = await ensureQueuePair(clients.sqs, { name: `bench-bare-${randomUUID().slice(0, 8)}` });
  const jobId = randomUUID();
  let next = 0;
  requests.clear();
  const started = performance.now();
  const lane = async () => {
    while (next < CHUNKS) {
      const from = next;
      next = Math.min(CHUNKS, next + 10);
      const Entries = Array.from({ length: next - from }, (_, k) => ({
        Id: String(k),
        MessageBody: encodeBody({
          v: 1,
          type: 'chunk',
          jobId,
          index: from + k,
          task: 'square',
          mode: 'map',
          input: { kind: 'range', offset: from + k, count: 1, start: from + k, step: 1 },
        }),
      }));
      await clients.sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries }));
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  const ms = performance.now() - started;
  return { rate: (CHUNKS / ms) * 1000, requests: new Map(requests) };
}

type Case = { readonly label: string; readonly run: () => Promise<{ rate: number; requests: Counter }> };
const cases: Case[] = [
  ...IN_FLIGHT.flatMap((n) => [
    { label: `fanfold leaf, ${n}`, run: () => leaf(n) },
    { label: `bare SDK sender, ${n}`, run: () => bare(n) },
  ]),
  { label: 'fanfold leaf, bodies built and dropped', run: () => leaf('dropped') },
];
const rates = new Map<string, number[]>(cases.map((c) => [c.label, []]));
const perChunk = new Map<string, Counter>();
try {
  for (let round = 0; round <= ROUNDS; round++) {
    const order = round % 2 === 0 ? cases : [...cases].reverse();
    for (const c of order) {
      const { rate, requests: r } = await c.run();
      // Progress on stderr (stdout is the report): moto on a loaded machine makes a run long.
      console.error(`round ${round}, ${c.label}: ${Math.round(rate)} chunks/s (load ${load()})`);
      if (round > 0) rates.get(c.label)?.push(rate);
      perChunk.set(c.label, r);
    }
  }
} finally {
  for (const c of Object.values(clients)) c.destroy();
  await emulators.stop();
}

/** The median; of an even count, the mean of the middle two. */
function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const lines = [
  `### Fan-out rate of one coordinator invocation (moto on 127.0.0.1, ${CHUNKS.toLocaleString('en-US')} chunks, ${ROUNDS} rounds)`,
  '',
  `Load average (1/5/15 min) before: ${loadBefore}; after: ${load()}.`,
  '',
  '| sender, SendMessageBatch in flight | chunks/s, median (min–max) | requests per 1,000 chunks |',
  '|---|---:|---|',
];
for (const c of cases) {
  const xs = rates.get(c.label) ?? [];
  const r = perChunk.get(c.label) ?? new Map();
  const per = [...r].map(([op, n]) => `${op} ${((n / CHUNKS) * 1000).toFixed(1)}`).join(', ');
  lines.push(
    `| ${c.label} | ${fmt(median(xs))} (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}) | ${per} |`,
  );
}
lines.push('', '| in flight | fanfold leaf ÷ bare sender (medians) |', '|---|---:|');
for (const n of IN_FLIGHT)
  lines.push(
    `| ${n} | ${(median(rates.get(`fanfold leaf, ${n}`) ?? []) / median(rates.get(`bare SDK sender, ${n}`) ?? [])).toFixed(2)} |`,
  );
console.log(lines.join('\n'));
