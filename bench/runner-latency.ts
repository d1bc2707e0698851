/**
 * What a caller waits beyond its task on the aws context, on the Lambda runner (test/runner/): the
 * e2e stack (test/e2e/stack.ts) synthesized and stood up on moto, its coordinator invoked through
 * the runner's Invoke API and its workers fed by the polled event source mapping. Run by
 * `npm run bench` (`node --import tsx bench/runner-latency.ts [--quick]`); prints a Markdown
 * section on stdout, progress on stderr. Nothing here is a test: the suite asserts behaviour, this
 * reports time.
 *
 * - the round trip of a 1-item `apply` (submit, run, record, the caller's poll sees it);
 * - "a chunk done → the caller knows": a probe reads the job's record back to back (a GetItem every
 *   2 ms) and notes when it first shows the chunk done; the caller notes when its onProgress says
 *   so. The difference is what the caller's polling adds (the probe's own delay makes it a little
 *   short), for the context's default polling and for the tests' (20–200 ms).
 *
 * Containers share this machine's cores with moto and the caller: the figures say what the
 * protocol and the polling cost here, not what Lambda takes (docs/testing.md, "What no local tier
 * models").
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { createDynamoClient, createS3Client } from '../src/aws/clients.js';
import { aws } from '../src/aws/context.js';
import { DynamoJobStore } from '../src/aws/dynamo-store.js';
import { E2E_STACK, e2eAssembly } from '../test/e2e/assembly.js';
import tasks from '../test/fixtures/pool-tasks.js';
import { startCloud } from '../test/runner/index.js';

const quick = process.argv.includes('--quick');
const N = quick ? 10 : 40;
const JOB_TIMEOUT_MS = 60_000;
const TEST_POLL = { min: 20, max: 200 } as const;
const log = (s: string) => process.stderr.write(`${s}\n`);

function stats(ms: readonly number[]): { p50: string; p95: string; max: string } {
  const sorted = [...ms].sort((a, b) => a - b);
  const q = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]?.toFixed(1) ?? '—';
  return { p50: q(0.5), p95: q(0.95), max: q(1) };
}

log('runner latency: synthesizing the e2e stack (reused while its sources are unchanged)…');
const cloud = await startCloud({ cdkOut: await e2eAssembly(), stack: E2E_STACK });
const options = { ...cloud.clientOptions, maxAttempts: 1 };
const clients = {
  lambda: new LambdaClient({ ...options, endpoint: cloud.lambdaEndpoint }),
  cloudformation: new CloudFormationClient({ ...options, endpoint: cloud.endpoints.cloudformation }),
  dynamo: createDynamoClient(options),
  s3: createS3Client(options),
};
const rows: string[] = [];
try {
  for (const [what, pollMs] of [
    ['default pollMs', undefined],
    [`pollMs ${TEST_POLL.min}..${TEST_POLL.max}`, TEST_POLL],
  ] as const) {
    const mp = aws({ tasks, stack: E2E_STACK, clients, ...(pollMs ? { pollMs } : {}) });
    await using pool = mp.Pool({ jobTimeoutMs: JOB_TIMEOUT_MS });
    await pool.map('square', [1]); // warm containers
    const trips: number[] = [];
    for (let i = 0; i < N; i++) {
      const t = performance.now();
      await pool.apply('add', [i, 1]);
      trips.push(performance.now() - t);
    }
    const probe = new DynamoJobStore({ client: clients.dynamo, tableName: cloud.outputs.FanfoldTable! });
    const gaps: number[] = [];
    for (let i = 0; i < N; i++) {
      let recordedAt: number | undefined;
      let knownAt: number | undefined;
      let probing: Promise<void> | undefined;
      await pool.map('spin', [100], {
        onProgress: (p) => {
          probing ??= (async () => {
            while (recordedAt === undefined) {
              const job = await probe.getJob(p.jobId);
              if (!job || job.done >= 1) recordedAt = performance.now();
              else await sleep(2);
            }
          })();
          if (p.done >= 1) knownAt ??= performance.now();
        },
      });
      await probing;
      if (recordedAt !== undefined && knownAt !== undefined) gaps.push(Math.max(0, knownAt - recordedAt));
    }
    const a = stats(trips);
    const g = stats(gaps);
    log(`  ${what}: apply p50 ${a.p50} ms; chunk done → caller knows p50 ${g.p50} ms`);
    rows.push(`| ${what} | 1-item apply, round trip | ${a.p50} | ${a.p95} | ${a.max} | ${trips.length} |`);
    rows.push(
      `| ${what} | chunk done → the caller knows | ${g.p50} | ${g.p95} | ${g.max} | ${gaps.length} |`,
    );
  }
} finally {
  for (const c of Object.values(clients)) c.destroy();
  await cloud.stop();
}

const out = [
  `### The aws context on the Lambda runner (the e2e stack on moto), ${N} calls each`,
  '',
  'What a caller waits: a 1-item `apply` from call to result, and how long after a chunk is recorded the caller learns of it (its polling of the job record). Functions run in local containers beside moto on this machine.',
  '',
  '| caller polling | measure | p50 ms | p95 ms | max ms | n |',
  '|---|---|---|---|---|---|',
  ...rows,
];
process.stdout.write(`${out.join('\n')}\n`);
