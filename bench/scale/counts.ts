/**
 * Counts the AWS requests and DynamoDB request units of a `map` on the Lambda runner, by party,
 * service and operation: the scale stack (`stack.ts`: the construct's defaults, a 5 min
 * coordinator) stood up on moto behind the counting proxy (`proxy.ts`, a port per party), then
 * `pool.map('square', range(N × 100), { chunksize: 100 })` for N = 100 and 1,000 chunks, each on
 * a fresh count after a warm-up map. Writes `bench/.out/scale-counts.json`, which `model.ts`
 * reads, and prints a Markdown summary on stdout (progress on stderr).
 *
 *   node --import tsx bench/scale/counts.ts [--chunks 100,1000]
 *
 * Counts are exact; times are not (functions share this machine's cores with moto).
 */
import { execSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { aws } from '../../src/aws/context.js';
import { range } from '../../src/engine/range.js';
import tasks from '../../test/fixtures/pool-tasks.js';
import { startCloud, startEmulators } from '../../test/runner/index.js';
import { SCALE_STACK, scaleAssembly } from './assembly.js';
import { CountingProxy, type Tally } from './proxy.js';

/** One counted map. */
export interface CountedRun {
  readonly chunks: number;
  readonly tasksPerChunk: number;
  readonly seconds: number;
  readonly tallies: readonly Tally[];
  /** Worker invocations the event source mapping made (in-process in the runner, not HTTP). */
  readonly mappingInvocations: number;
  /** Messages those invocations carried (absent in counts made before it was counted). */
  readonly mappedMessages?: number;
  /** Write units of the partition that took the most, and its key's shape. */
  readonly hottestPartition: { readonly key: string; readonly wru: number };
  /** Write units by kind of item (JOB, CHUNK, COUNT, …). */
  readonly wruByItem: Readonly<Record<string, number>>;
  readonly load: readonly [number, number];
}

/** What `counts.ts` writes. */
export interface CountsFile {
  readonly when: string;
  readonly commit: string;
  readonly machine: string;
  readonly stack: string;
  readonly runs: readonly CountedRun[];
}

/** The party a function's logical id belongs to. */
const PARTIES: Record<string, string> = {
  FanfoldCoordinator: 'coordinator',
  FanfoldWorker: 'worker',
  FanfoldDeadLetter: 'dead-letter',
  FanfoldSweeper: 'sweeper',
};
const partyOf = (logicalId: string): string =>
  logicalId === 'mappings'
    ? 'mappings'
    : (Object.entries(PARTIES).find(([p]) => logicalId.startsWith(p))?.[1] ?? 'other');

const TASKS_PER_CHUNK = 100;
/**
 * The commit counted: read at start, as the stack is synthesized from the sources then (a commit
 * made while a long run goes on is not the code it counts).
 */
const COMMIT = execSync('git rev-parse --short HEAD').toString().trim();
const log = (s: string) => process.stderr.write(`${s}\n`);

async function main(): Promise<void> {
  const arg = process.argv.indexOf('--chunks');
  const sizes = (arg > 0 ? process.argv[arg + 1]! : '100,1000').split(',').map(Number);
  log('scale counts: synthesizing the scale stack (reused while its sources are unchanged)…');
  const cdkOut = await scaleAssembly();
  const emulators = await startEmulators();
  let cloud: Awaited<ReturnType<typeof startCloud>> | undefined;
  const proxy = await CountingProxy.start({
    emulator: emulators.endpoint,
    parties: ['caller', 'mappings', ...new Set(Object.values(PARTIES)), 'other'],
    clientOptions: emulators.clientOptions,
    functionLabel: (name) => {
      const fn = cloud?.stack.functions.find((f) => f.name === name);
      return fn ? partyOf(fn.logicalId) : name;
    },
  });
  const runs: CountedRun[] = [];
  try {
    cloud = await startCloud({
      cdkOut,
      stack: SCALE_STACK,
      emulators,
      serviceEndpoint: (party) => proxy.endpoint(partyOf(party)),
    });
    proxy.lambda = cloud.lambdaEndpoint;
    const base = { ...emulators.clientOptions, maxAttempts: 3 };
    const at = proxy.endpoint('caller');
    const clients = {
      dynamo: new DynamoDBClient({ ...base, endpoint: at }),
      s3: new S3Client({ ...base, endpoint: at, forcePathStyle: true }),
      lambda: new LambdaClient({ ...base, endpoint: at }),
      cloudformation: new CloudFormationClient({ ...base, endpoint: cloud.endpoints.cloudformation }),
    };
    try {
      const mp = aws({ tasks, stack: SCALE_STACK, clients });
      await using pool = mp.Pool({ jobTimeoutMs: 30 * 60_000 });
      log('  warm-up map (starts the containers)…');
      await pool.map('square', range(40 * TASKS_PER_CHUNK), { chunksize: TASKS_PER_CHUNK });
      for (const chunks of sizes) {
        await proxy.quiet(3_000);
        proxy.reset();
        const invoked = mappingInvocations(cloud);
        const carried = mappedMessages(cloud);
        const t = performance.now();
        const out = await pool.map('square', range(chunks * TASKS_PER_CHUNK), { chunksize: TASKS_PER_CHUNK });
        const seconds = (performance.now() - t) / 1000;
        if (out.length !== chunks * TASKS_PER_CHUNK || out[7] !== 49) throw new Error('wrong results');
        // What the workers and the release still send after the caller has its results.
        await proxy.quiet(3_000);
        const partitions = [...proxy.partitions()].sort((a, b) => b[1] - a[1]);
        const [key, wru] = partitions[0] ?? ['—', 0];
        runs.push({
          chunks,
          tasksPerChunk: TASKS_PER_CHUNK,
          seconds,
          tallies: proxy.tallies(),
          mappingInvocations: mappingInvocations(cloud) - invoked,
          mappedMessages: mappedMessages(cloud) - carried,
          hottestPartition: { key: key.replace(/[0-9a-f-]{36}/, '<id>'), wru },
          wruByItem: Object.fromEntries(proxy.itemKinds()),
          load: [loadavg()[0]!, loadavg()[1]!],
        });
        log(`  ${chunks} chunks: ${seconds.toFixed(1)} s, ${total(proxy.tallies()).requests} requests`);
        save(runs);
      }
    } finally {
      for (const c of Object.values(clients)) c.destroy();
    }
  } finally {
    await cloud?.stop();
    await proxy.close();
    await emulators.stop();
  }
  process.stdout.write(`${countsMarkdown(save(runs))}\n`);
}

/** Writes the runs counted so far, so that a long last size stopped short keeps the others. */
function save(runs: readonly CountedRun[]): CountsFile {
  const file: CountsFile = {
    when: new Date().toISOString(),
    commit: COMMIT,
    machine: `${cpus()[0]?.model ?? '?'} × ${cpus().length}`,
    stack: `${SCALE_STACK} (bench/scale/stack.ts)`,
    runs,
  };
  mkdirSync(new URL('../.out/', import.meta.url), { recursive: true });
  writeFileSync(new URL('../.out/scale-counts.json', import.meta.url), `${JSON.stringify(file, null, 2)}\n`);
  return file;
}

function mappingInvocations(cloud: Awaited<ReturnType<typeof startCloud>>): number {
  return cloud.pollers.reduce((n, p) => n + p.stats.batchSizes.length, 0);
}

function mappedMessages(cloud: Awaited<ReturnType<typeof startCloud>>): number {
  return cloud.pollers.reduce((n, p) => n + p.stats.batchSizes.reduce((a, b) => a + b, 0), 0);
}

/** The sum of some tallies. */
export function total(ts: readonly Tally[]): { requests: number; wru: number; rru: number } {
  return ts.reduce(
    (a, t) => ({ requests: a.requests + t.requests, wru: a.wru + t.wru, rru: a.rru + t.rru }),
    {
      requests: 0,
      wru: 0,
      rru: 0,
    },
  );
}

const fmt = (n: number, d = 3) => (n === 0 ? '' : Number.isInteger(n) ? String(n) : n.toFixed(d));

/** The counts as Markdown tables, one per run. */
export function countsMarkdown(f: CountsFile): string {
  const out: string[] = [];
  for (const r of f.runs) {
    out.push(
      `#### ${r.chunks.toLocaleString('en')} chunks × ${r.tasksPerChunk} tasks (${r.seconds.toFixed(1)} s, load ${r.load[0].toFixed(1)})`,
      '',
      '| party | service | operation | requests | per chunk | WRU | RRU |',
      '|---|---|---|---:|---:|---:|---:|',
    );
    const rows: Tally[] = [
      ...r.tallies,
      {
        party: 'mappings',
        service: 'Lambda',
        operation: 'Invoke worker (the mapping, in the runner)',
        requests: r.mappingInvocations,
        wru: 0,
        rru: 0,
      },
    ];
    for (const t of rows)
      out.push(
        `| ${t.party} | ${t.service} | ${t.operation} | ${t.requests} | ${fmt(t.requests / r.chunks)} | ${fmt(t.wru, 0)} | ${fmt(t.rru, 1)} |`,
      );
    const all = total(rows);
    // The caller polls with GetItem and, for a sharded job, BatchGetItem; one BatchGetItem per 100
    // results collects them.
    const callerReads = (op: string) =>
      rows.filter((t) => t.party === 'caller' && t.operation === op).reduce((a, t) => a + t.requests, 0);
    const polls =
      callerReads('GetItem') + Math.max(0, callerReads('BatchGetItem') - Math.ceil(r.chunks / 100));
    const noPoll = { requests: total(rows).requests - polls };
    out.push(
      `| all | | | ${all.requests} | ${fmt(all.requests / r.chunks)} | ${fmt(all.wru, 0)} | ${fmt(all.rru, 1)} |`,
      '',
      `Without the caller's polling (GetItem, and BatchGetItem beyond one per 100 results): ${fmt(noPoll.requests / r.chunks)} requests per chunk. ` +
        `Write units per chunk ${fmt(all.wru / r.chunks, 2)}; by item: ${Object.entries(r.wruByItem)
          .map(([k, v]) => `${k} ${fmt(v / r.chunks, 2)}`)
          .join(
            ', ',
          )}; the hottest partition (${r.hottestPartition.key}) took ${fmt(r.hottestPartition.wru / r.chunks, 2)} per chunk.`,
      '',
    );
  }
  return out.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
