/**
 * What one `map` costs in AWS requests and DynamoDB capacity units, per chunk, counted on the moto
 * emulator by a wrapper around each party's SDK clients: the coordinator, the workers, the event
 * source mapping's receives and deletes, and the caller (its polling apart).
 *
 * The workers are run as the worker Lambda runs them: batches of up to 10 messages received for
 * them (the mapping's ReceiveMessage), one status read per job of the batch, the engine's `Host`
 * on an `EsmBatchQueue` with 2 threads, then one DeleteMessageBatch of what it acknowledged. Each
 * batch counts one Lambda invoke. Write units are computed from item sizes (`test/support/
 * dynamo-size.ts`): a Put from its item, an Update or Delete from the larger of the item before and
 * after (read aside, uncounted), twice that in a transaction; a strongly consistent read one unit
 * per started 4 KB of each item read (a missing item one unit), a Query the items it reads whole.
 *
 *   node --import tsx bench/store-cost.ts [--chunks 1000] [--items-per-chunk 100] [--workers 2]
 *                                         [--chunks-per-shard 16]   (force a job's 64 shards)
 *
 * Prints a Markdown table on stdout. Counts are exact for the run; they vary a little from run to
 * run with how the hosts group chunks (more concurrent batches, smaller groups).
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import {
  type AttributeValue,
  DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { awsBackend } from '../src/aws/backend.js';
import { EsmBatchQueue } from '../src/aws/lambda/events.js';
import { setupAws } from '../src/aws/setup.js';
import { JobClient } from '../src/engine/client.js';
import { Coordinator } from '../src/engine/coordinator.js';
import { Host } from '../src/engine/host.js';
import { range } from '../src/engine/range.js';
import { threadScript } from '../src/local/runtime.js';
import type { Backend, JobStore } from '../src/ports.js';
import { ThreadExecutor } from '../src/threads/executor.js';
import { ThreadPool } from '../src/threads/pool.js';
import fixture from '../test/fixtures/tasks.js';
import { startEmulators } from '../test/runner/index.js';
import { itemSize, readUnits, writeUnits } from '../test/support/dynamo-size.js';

const { values: args } = parseArgs({
  options: {
    chunks: { type: 'string', default: '1000' },
    'items-per-chunk': { type: 'string', default: '100' },
    workers: { type: 'string', default: '2' },
    // Forces more shards than a job of this size gets (a job of 128,000 chunks gets 64).
    'chunks-per-shard': { type: 'string' },
  },
});
const CHUNKS = Number(args.chunks);
const PER_CHUNK = Number(args['items-per-chunk']);
const WORKERS = Number(args.workers);
const PER_SHARD = args['chunks-per-shard'] === undefined ? undefined : Number(args['chunks-per-shard']);

type Item = Record<string, AttributeValue>;
type Party = 'coordinator' | 'worker' | 'mapping' | 'caller';

interface Row {
  requests: number;
  wru: number;
  rru: number;
}

/** Counts requests and capacity units per party, service and operation. */
class Meter {
  readonly rows = new Map<string, Row>();
  readonly #shadow: DynamoDBClient;
  readonly #table: string;

  constructor(shadow: DynamoDBClient, table: string) {
    this.#shadow = shadow;
    this.#table = table;
  }

  add(key: string, requests: number, wru = 0, rru = 0): void {
    const row = this.rows.get(key) ?? { requests: 0, wru: 0, rru: 0 };
    row.requests += requests;
    row.wru += wru;
    row.rru += rru;
    this.rows.set(key, row);
  }

  async #size(key: Item): Promise<number> {
    const out = await this.#shadow.send(
      new GetItemCommand({ TableName: this.#table, Key: key, ConsistentRead: true }),
    );
    return out.Item ? itemSize(out.Item) : 0;
  }

  /** Wraps a client's request handler: each request is counted under `party`. */
  wrap(client: DynamoDBClient | SQSClient | S3Client, service: string, party: Party): void {
    const real = client.config.requestHandler;
    const handle: typeof real.handle = async (request, options) => {
      const target = request.headers['x-amz-target'];
      const op = target ? target.slice(target.lastIndexOf('.') + 1) : request.method;
      const raw = request.body as unknown;
      const body =
        typeof raw === 'string' ? raw : raw instanceof Uint8Array ? new TextDecoder().decode(raw) : '';
      if (service !== 'DynamoDB') {
        // S3's GET lists a prefix when the query asks for it, else reads an object.
        const s3op = op === 'GET' && request.query?.['list-type'] ? 'ListObjectsV2' : op;
        this.add(`${party} | ${service} | ${service === 'S3' ? s3op : op}`, 1);
        return real.handle(request, options);
      }
      const input = body ? (JSON.parse(body) as Record<string, unknown>) : {};
      const key = `${party} | ${service} | ${op}${purpose(op, body)}`;
      const before = await this.#writesBefore(op, input);
      const out = await real.handle(request, options);
      const chunks: Buffer[] = [];
      for await (const c of out.response.body as Readable) chunks.push(Buffer.from(c as Uint8Array));
      const text = Buffer.concat(chunks);
      out.response.body = Readable.from([text]);
      const units = await this.#units(op, input, before, text.length > 0 ? JSON.parse(text.toString()) : {});
      this.add(key, 1, units.wru, units.rru);
      return out;
    };
    client.config.requestHandler = { ...real, handle } as typeof real;
  }

  /** Sizes of the items an update or delete touches, read before it runs. */
  async #writesBefore(op: string, input: Record<string, unknown>): Promise<number[]> {
    if (op === 'UpdateItem' || op === 'DeleteItem') return [await this.#size(input.Key as Item)];
    if (op === 'TransactWriteItems') {
      const actions = input.TransactItems as Record<string, { Key?: Item; Item?: Item }>[];
      return Promise.all(
        actions.map((a) => {
          const k = a.Update?.Key ?? a.Delete?.Key ?? a.ConditionCheck?.Key;
          return k ? this.#size(k) : Promise.resolve(0);
        }),
      );
    }
    if (op === 'BatchWriteItem') {
      const reqs = Object.values(
        input.RequestItems as Record<string, { DeleteRequest?: { Key: Item } }[]>,
      ).flat();
      return Promise.all(
        reqs.map((r) => (r.DeleteRequest ? this.#size(r.DeleteRequest.Key) : Promise.resolve(0))),
      );
    }
    return [];
  }

  async #units(
    op: string,
    input: Record<string, unknown>,
    before: number[],
    output: Record<string, unknown>,
  ): Promise<{ wru: number; rru: number }> {
    switch (op) {
      case 'PutItem':
        return { wru: writeUnits(itemSize(input.Item as Item)), rru: 0 };
      case 'UpdateItem':
        return { wru: writeUnits(Math.max(before[0]!, await this.#size(input.Key as Item))), rru: 0 };
      case 'DeleteItem':
        return { wru: writeUnits(before[0]!), rru: 0 };
      case 'TransactWriteItems': {
        const actions = input.TransactItems as Record<string, { Key?: Item; Item?: Item }>[];
        let wru = 0;
        for (let k = 0; k < actions.length; k++) {
          const a = actions[k]!;
          if (a.Put) wru += writeUnits(itemSize(a.Put.Item!), true);
          else if (a.Update) wru += writeUnits(Math.max(before[k]!, await this.#size(a.Update.Key!)), true);
          else wru += writeUnits(before[k]!, true);
        }
        return { wru, rru: 0 };
      }
      case 'BatchWriteItem': {
        const reqs = Object.values(
          input.RequestItems as Record<string, { PutRequest?: { Item: Item } }[]>,
        ).flat();
        return {
          wru: reqs.reduce(
            (n, r, k) => n + writeUnits(r.PutRequest ? itemSize(r.PutRequest.Item) : before[k]!),
            0,
          ),
          rru: 0,
        };
      }
      case 'GetItem': {
        const item = output.Item as Item | undefined;
        return { wru: 0, rru: readUnits(item ? itemSize(item) : 0) };
      }
      case 'BatchGetItem': {
        const asked = Object.values(input.RequestItems as Record<string, { Keys: Item[] }>).reduce(
          (n, t) => n + t.Keys.length,
          0,
        );
        const found = Object.values((output.Responses ?? {}) as Record<string, Item[]>).flat();
        return {
          wru: 0,
          rru: found.reduce((n, it) => n + readUnits(itemSize(it)), 0) + (asked - found.length),
        };
      }
      case 'Query': {
        const whole = { ...(input as unknown as QueryCommandInput) };
        delete whole.ProjectionExpression;
        if (whole.ExpressionAttributeNames) {
          // The projection's names may be all the query named: keep only the ones still used.
          const used = JSON.stringify([whole.KeyConditionExpression, whole.FilterExpression]);
          whole.ExpressionAttributeNames = Object.fromEntries(
            Object.entries(whole.ExpressionAttributeNames).filter(([n]) => used.includes(n)),
          );
        }
        const all = await this.#shadow.send(new QueryCommand(whole));
        return { wru: 0, rru: readUnits((all.Items ?? []).reduce((n, it) => n + itemSize(it), 0)) };
      }
      default:
        return { wru: 0, rru: 0 };
    }
  }
}

/** What a DynamoDB request is for, told from its body: the table's sort keys and attribute names. */
function purpose(op: string, body: string): string {
  if (op === 'BatchGetItem' || op === 'GetItem') return body.includes('"CHUNK#') ? ' (results)' : ' (job)';
  if (op !== 'UpdateItem') return '';
  if (body.includes('"doneShards"') && body.includes('ADD #doneShards')) return ' (mark shard)';
  for (const [attr, what] of [
    ['"released"', 'release'],
    ['"DONE"', 'finish'],
    ['"fence"', 'claim finaliser'],
    ['"total"', 'seal'],
  ] as const)
    if (body.includes(attr)) return ` (${what})`;
  return '';
}

const emulators = await startEmulators();
const name = `cost-${randomUUID().slice(0, 8)}`;
const clientOptions = emulators.clientOptions;
const setupClients = {
  sqs: new SQSClient({ ...clientOptions, useQueueUrlAsEndpoint: false }),
  dynamo: new DynamoDBClient(clientOptions),
  s3: new S3Client({ ...clientOptions, forcePathStyle: true }),
};
const resources = await setupAws({
  clients: setupClients,
  tableName: name,
  bucket: name,
  queue: { name, visibilityTimeoutSeconds: 60, maxReceiveCount: 5 },
});
const meter = new Meter(setupClients.dynamo, name);

/** A backend whose clients count as `party`. */
function backendOf(party: Party): Backend {
  const clients = {
    sqs: new SQSClient({ ...clientOptions, useQueueUrlAsEndpoint: false }),
    dynamo: new DynamoDBClient(clientOptions),
    s3: new S3Client({ ...clientOptions, forcePathStyle: true }),
  };
  meter.wrap(clients.sqs, 'SQS', party);
  meter.wrap(clients.dynamo, 'DynamoDB', party);
  meter.wrap(clients.s3, 'S3', party);
  return awsBackend({
    ...resources,
    clients,
    ...(PER_SHARD ? { store: { sharding: { chunksPerShard: PER_SHARD } } } : {}),
  });
}

const coordinator = new Coordinator(backendOf('coordinator'));
const callerBackend = backendOf('caller');
const client = new JobClient({
  coordinator: (req) => coordinator.handle(req),
  store: callerBackend.store,
  blobs: callerBackend.blobs,
  processes: WORKERS * 2,
  jobTimeoutMs: 3_600_000,
  window: 64,
});
const mapping = backendOf('mapping').queue;
const script = await threadScript(fixture);
let running = true;
let invokes = 0;

/** One worker function's container: a host on 2 threads, fed batches as the event source mapping feeds them. */
async function worker(): Promise<void> {
  const backend = backendOf('worker');
  const batch = new EsmBatchQueue(backend.queue);
  const threads = new ThreadPool({ size: 2, script });
  await threads.ready();
  const host = new Host({
    backend: { ...backend, queue: batch },
    executor: new ThreadExecutor(threads, { batching: true }),
    visibilityMs: 60_000,
    leaseMs: 60_000,
    owner: `worker-${randomUUID()}`,
  });
  // Typed loosely, as `settled` below, so that the script also runs on the commit before sharding
  // (RESULTS.md's "before" figures), whose getJob takes no options.
  const status = backend.store as JobStore & {
    getJob(id: string, o?: { counts?: boolean }): ReturnType<JobStore['getJob']>;
  };
  while (running) {
    const got = await mapping.receive({ max: 10, waitMs: 1000 });
    if (got.length === 0) continue;
    invokes++;
    // The worker handler's status read of each job of the batch (the job item alone).
    const jobs = new Set(got.map((d) => (d.body as { jobId: string }).jobId));
    await Promise.all([...jobs].map((id) => status.getJob(id, { counts: false })));
    await host.processBatch(got);
    const failed = new Set(batch.settle(got).batchItemFailures.map((f) => f.itemIdentifier));
    const acked = got.filter((d) => !failed.has(d.messageId)).map((d) => d.receipt);
    if (acked.length > 0) await mapping.ack(acked);
  }
  await threads.close();
}

const started = performance.now();
const workers = Array.from({ length: WORKERS }, () => worker());
const out = (await client.map('map', 'square', range(CHUNKS * PER_CHUNK), {
  chunksize: PER_CHUNK,
})) as number[];
const mapMs = performance.now() - started;
await (client as { settled?: () => Promise<void> }).settled?.();
running = false;
await Promise.all(workers);
if (out.length !== CHUNKS * PER_CHUNK || out[7] !== 49) throw new Error('wrong results');
meter.add('mapping | Lambda | Invoke worker', invokes);

const rows = [...meter.rows].sort(([a], [b]) => a.localeCompare(b));
const f = (n: number) => (n / CHUNKS).toFixed(3);
const lines = [
  `| party | service | operation | requests | per chunk | WRU | RRU |`,
  '|---|---|---|---:|---:|---:|---:|',
];
let all = { requests: 0, wru: 0, rru: 0 };
/** The caller's reads of the job while it waits (not of its results). */
let polls = { requests: 0, wru: 0, rru: 0 };
const sqsRequests = { n: 0 };
let s3 = { put: 0, get: 0 };
let lambda = 0;
for (const [key, r] of rows) {
  const [party, service, op] = key.split(' | ');
  lines.push(
    `| ${party} | ${service} | ${op} | ${r.requests} | ${f(r.requests)} | ${r.wru || ''} | ${r.rru || ''} |`,
  );
  all = { requests: all.requests + r.requests, wru: all.wru + r.wru, rru: all.rru + r.rru };
  if (party === 'caller' && op?.endsWith('(job)'))
    polls = { requests: polls.requests + r.requests, wru: 0, rru: polls.rru + r.rru };
  if (service === 'SQS') sqsRequests.n += r.requests;
  if (service === 'S3')
    s3 = { put: s3.put + (op === 'PUT' ? r.requests : 0), get: s3.get + (op === 'GET' ? r.requests : 0) };
  if (service === 'Lambda') lambda += r.requests;
}
lines.push(`| all | | | ${all.requests} | ${f(all.requests)} | ${all.wru} | ${all.rru} |`);
const cost =
  (sqsRequests.n * 0.4 + all.wru * 0.625 + all.rru * 0.125 + lambda * 0.2) / 1e6 +
  (s3.put * 0.005 + s3.get * 0.0004) / 1e3;
const tasks = CHUNKS * PER_CHUNK;
console.log(lines.join('\n'));
console.log(
  `\nWithout the caller's polling (${polls.requests} reads, ${polls.rru} RRU): ${f(all.requests - polls.requests)} requests, ` +
    `${f(all.wru)} WRU and ${f(all.rru - polls.rru)} RRU per chunk. Cost at list prices: $${((cost * 1e6) / tasks).toFixed(4)} per million tasks ` +
    `at ${PER_CHUNK} tasks per chunk. ${CHUNKS} chunks, ${WORKERS} workers of 2 threads, map ${(mapMs / 1000).toFixed(1)} s.`,
);
for (const c of Object.values(setupClients)) c.destroy();
await emulators.stop();
process.exit(0);
