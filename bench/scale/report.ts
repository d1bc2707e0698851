/**
 * The cloud scale section of `bench/RESULTS.md`: the runner's counts (`bench/.out/scale-counts.json`,
 * written by `counts.ts`) and the model's predictions from them (`model.ts`), beside Lithops and
 * Step Functions Distributed Map, with the issue's targets checked. Rewrites the section between
 * its markers and prints it.
 *
 *   node --import tsx bench/scale/report.ts
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import {
  ASSUMED,
  costPerMillionTasks,
  HAND_ROLLED,
  HAND_ROLLED_PER_CHUNK,
  ISSUE10,
  LIMITS,
  MAIN,
  type PerChunk,
  type Prediction,
  predict,
  type Shape,
  STACK,
  sendRate,
  tree,
} from '../../src/views/scale-model.js';
import { type CountedRun, type CountsFile, countsMarkdown } from './counts.js';

export const START = '<!-- scale:start -->';
export const END = '<!-- scale:end -->';

/** What one chunk cost in a counted run, for the model. */
export function perChunkOf(run: CountedRun): PerChunk {
  const n = run.chunks;
  let sqs = 0;
  let lambda = run.mappingInvocations;
  let s3Put = 0;
  let s3Get = 0;
  let wru = 0;
  let rru = 0;
  let recordingWru = 0;
  for (const t of run.tallies) {
    // The caller's polling costs by the second, not by the chunk; the runner's pollers' empty
    // receives (1 s long polls) by the second too (AWS's pollers wait 20 s).
    if (t.party === 'caller' && t.operation === 'GetItem') continue;
    // The caller's BatchGetItem both collects results (100 a call, a unit each) and, while it
    // waits, reads the job's shards: only the collecting counts by the chunk.
    if (t.party === 'caller' && t.operation === 'BatchGetItem') {
      rru += Math.min(t.rru, n);
      continue;
    }
    if (t.operation === 'ReceiveMessage (empty)') continue;
    if (t.service === 'SQS') sqs += t.requests;
    if (t.service === 'Lambda') lambda += t.requests;
    if (t.service === 'S3') {
      if (/^(Put|Post|List|Copy)/.test(t.operation)) s3Put += t.requests;
      else if (/^(Get|Head)/.test(t.operation)) s3Get += t.requests;
    }
    wru += t.wru;
    rru += t.rru;
    if (t.party === 'worker') recordingWru += t.wru;
  }
  return {
    sqs: sqs / n,
    lambda: lambda / n,
    s3Put: s3Put / n,
    s3Get: s3Get / n,
    wru: wru / n,
    rru: rru / n,
    recordingWru: recordingWru / n,
  };
}

/**
 * What a chunk cost before issue 10 (one coordinator invocation sent every chunk, the mapping alone
 * started workers, the release deleted every item): the 1,000-chunk run counted at commit f97c5bb.
 */
export const BEFORE_ISSUE10: PerChunk = {
  sqs: 0.304,
  lambda: 0.103,
  s3Put: 0.001,
  s3Get: 0,
  wru: 3.413,
  rru: 1.608,
  recordingWru: 2.411,
};

/**
 * A counted run's per-chunk costs less what the model adds back per job and per batch at the
 * predicted size (`model.ts`, withJobCosts): the coordinator invocations and drain workers (every
 * Lambda request but the mapping's) and the visibility calls, which at the counted size are a
 * job's few spread over few chunks.
 */
export function perChunkAtScale(run: CountedRun): PerChunk {
  const p = perChunkOf(run);
  const perJob = (pick: (t: CountedRun['tallies'][number]) => boolean) =>
    run.tallies.filter(pick).reduce((a, t) => a + t.requests, 0) / run.chunks;
  return {
    ...p,
    lambda: p.lambda - perJob((t) => t.service === 'Lambda'),
    sqs: p.sqs - perJob((t) => t.service === 'SQS' && t.operation.startsWith('ChangeMessageVisibility')),
  };
}

const SIZES = [10_000, 100_000, 1_000_000];
const TASK_MS = [1, 10, 100];

const secs = (s: number) =>
  !Number.isFinite(s)
    ? '—'
    : s < 10
      ? `${s.toFixed(1)} s`
      : s < 600
        ? `${s.toFixed(0)} s`
        : `${(s / 60).toFixed(0)} min`;
const rate = (r: number) => (r >= 10_000 ? `${(r / 1000).toFixed(0)}k/s` : `${r.toFixed(0)}/s`);
const usd = (d: number) => `$${d < 0.1 ? d.toFixed(4) : d.toFixed(2)}`;

function table(shape: Shape, p: PerChunk): { lines: string[]; rows: Prediction[] } {
  const lines = [
    '| chunks | task | fan-out | 1,000 busy workers | recording ceiling (partitions · new table) | 1,000 workers finish | end to end | cost / 1M tasks |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const rows: Prediction[] = [];
  for (const n of SIZES)
    for (const ms of TASK_MS) {
      const r = predict(shape, p, n, ms);
      rows.push(r);
      lines.push(
        `| ${n.toExponential(0).replace('+', '')} | ${ms} ms | ${r.failure ? `fails: ${r.failure}` : secs(r.fanout)} | ${secs(r.busy1000)} | ${rate(r.recordingCap)} · ${rate(r.tableCap)} | ${rate(r.demand)} | ${secs(r.endToEnd)} | ${usd(r.costPerMillionTasks)} |`,
      );
    }
  return { lines, rows };
}

/** The section, from a counts file. */
export function section(f: CountsFile): string {
  const run = [...f.runs].sort((a, b) => b.chunks - a.chunks)[0];
  if (!run) throw new Error('The counts file holds no run');
  const measured = perChunkOf(run);
  const main = BEFORE_ISSUE10;
  const design = perChunkAtScale(run);
  const m = table(MAIN, main);
  const d = table(ISSUE10, design);
  const at = (rows: Prediction[], n: number, ms: number) =>
    rows.find((r) => r.chunks === n && r.taskMs === ms)!;
  const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');
  const big = at(d.rows, 1_000_000, 10);
  const busy = big.busy1000;
  const fan = big.fanout;
  const cost = big.costPerMillionTasks;
  const mainBusy = at(m.rows, 100_000, 10).busy1000;
  const h = table(HAND_ROLLED, HAND_ROLLED_PER_CHUNK);
  const hand = at(h.rows, 1_000_000, 10);
  const mainMid = at(m.rows, 100_000, 10);
  const leaves = tree(ISSUE10, 1_000_000);
  const out = [
    START,
    '## 8. The cloud at scale: requests counted on the runner, and a model of AWS',
    '',
    `Counted by \`FANFOLD_MOTO_VENV=… node --import tsx bench/scale/counts.ts --chunks ${f.runs.map((r) => r.chunks).join(',')}\` on ${f.when.slice(0, 10)} (commit ${f.commit}, ${f.machine}), modelled by \`bench/scale/report.ts\`. The stack: ${f.stack}. A counting proxy on 127.0.0.1 (\`bench/scale/proxy.ts\`, a port per party) sits in front of moto and the runner's Invoke API and costs every DynamoDB request in write (WRU) and read (RRU) request units from the sizes of the items it touched. Counts are exact; the run's times are not (the functions share this machine's cores with moto).`,
    '',
    '### What a chunk costs, counted',
    '',
    ...(run.chunks < 1_000
      ? [
          `Only ${f.runs.map((r) => r.chunks.toLocaleString('en')).join(' and ')} chunks were counted: at this load a 1,000-chunk run would not have ended in the time there was. At these sizes the stack's 50 drain workers outnumber the job's batches, so receives, deletes and counter transactions carry a message or two instead of ten; and a drain worker's receive loop asks for only as many messages as it has room for (engine/receive-loop.ts). Whether a large job's receives carry more is not measured here: the model's costs below take these counts as they are.`,
          '',
        ]
      : []),
    countsMarkdown(f),
    routes(run),
    '',
    "The mappings' empty receives are the runner's 1 s long polls (Lambda's pollers wait 20 s), and a drain worker makes two before it ends: they cost by the second or by the job, not by the chunk, as the caller's polling does (GetItem, and BatchGetItem of the job's shards beyond one per 100 results collected) (about 80 reads in a job's first minute, then one a second); both are left out of the per-chunk figures below.",
    '',
    '### The model',
    '',
    `Inputs, measured (the ${run.chunks.toLocaleString('en')}-chunk run, per chunk, commit ${f.commit}): ${fmtPerChunk(measured)}; before issue 10 (the 1,000-chunk run at commit f97c5bb): ${fmtPerChunk(main)}. From AWS's documentation: Lambda adds ${LIMITS.lambdaScalePer10s.toLocaleString('en')} environments per function per 10 s, ${LIMITS.accountConcurrency.toLocaleString('en')} concurrent executions per account by default; the SQS mapping starts at ${LIMITS.esmInitial} batches and adds ${LIMITS.esmPerMinute} a minute; SendMessageBatch takes ${LIMITS.sqsBatch}; a partition takes ${LIMITS.partitionWru.toLocaleString('en')} WRU/s, a new on-demand table ${LIMITS.tableInitialWru.toLocaleString('en')} WRU/s at first (quota ${LIMITS.tableQuotaWru.toLocaleString('en')}). The stack: the construct's defaults (coordinator ${STACK.coordinatorTimeout} s, worker ${STACK.workerTimeout} s with ${STACK.threads} threads, batch ${STACK.batchSize}) with worker concurrency raised to ${STACK.concurrency.toLocaleString('en')}; ${100} tasks per chunk. Assumed (AWS latencies, not measurable here): SendMessageBatch ${ms(ASSUMED.sqsSend)}, an asynchronous Invoke call ${ms(ASSUMED.invokeAsync)}, submit ${ms(ASSUMED.submit)}, cold starts ${ms(ASSUMED.coordinatorColdStart)} (coordinator) and ${ms(ASSUMED.workerColdStart)} (worker), ${ms(ASSUMED.batchOverhead)} per batch beyond its compute. One sending invocation puts ${rate(sendRate(MAIN))} chunks on the queue with ${MAIN.sendInFlight} calls in flight (before issue 10), ${rate(sendRate(ISSUE10))} with ${ISSUE10.sendInFlight}.`,
    '',
    '**before issue 10** (commit f97c5bb: one coordinator invocation sent every chunk, the mapping alone started workers, one partition took every write; its per-chunk counts as counted then):',
    '',
    ...m.lines,
    '',
    `**this commit** (issue 10): ranges over ${ISSUE10.leafChunks.toLocaleString('en')} chunks split ${ISSUE10.fanout} ways at most (a million chunks: ${leaves.depth} levels, ${leaves.leaves} leaves of ${leaves.leafSize.toLocaleString('en')}, ${big.invocations} coordinator invocations), each leaf sending groups of ${ISSUE10.group.toLocaleString('en')} with ${ISSUE10.sendInFlight} calls in flight and a progress record after each (${rate(sendRate(ISSUE10))} per leaf); drain workers fired as chunks go out, as many as the worker concurrency and no more than the job's batches of ten, each receiving ten messages at a time, beside the mapping; a shard per 2,000 chunks up to 64; messages held 30 s and renewed every 10 s; release by TTL. Its per-chunk costs are the counted ones less the counted run's invocations of coordinators and drain workers and its visibility calls (${fmtPerChunk(design)}), plus what the shape makes per job and per batch at the predicted size (the fan-out's invocations and progress records, the drain workers and their two empty polls, the visibility calls, the shards' marks).`,
    '',
    ...d.lines,
    '',
    `"1,000 busy workers": seconds from submit until 1,000 workers run (— when the job has fewer than 1,000 batches, or ends before that many run). "Recording ceiling": chunks a second the partitions that take a job's records allow on paper (and the table's default quota of ${LIMITS.tableQuotaWru.toLocaleString('en')} WRU/s), then what a new on-demand table takes at first (${LIMITS.tableInitialWru.toLocaleString('en')} WRU/s, until it has doubled its capacity: set the table's warm throughput before a large job). The end-to-end times assume a warmed table. "1,000 workers finish": chunks a second 1,000 busy workers complete, the demand the ceiling must meet.`,
    '',
    "**A hand-rolled SQS fan-out**, modelled from the operations it makes (not counted here): the caller sends every message with 16 calls in flight, the mapping alone starts workers, each chunk's result is one PutItem of its own (no transaction, no counter, no end detected), the queue's visibility 6 × the function's timeout as AWS recommends for a mapping:",
    '',
    ...h.lines,
    '',
    '### Beside Lithops, Step Functions Distributed Map and a hand-rolled SQS fan-out',
    '',
    '| | fanfold, before issue 10 | fanfold, this commit | hand-rolled SQS fan-out (modelled) | Lithops (AWS Lambda) | Step Functions Distributed Map |',
    '|---|---|---|---|---|---|',
    `| a million chunks sent | fails (one invocation, ${STACK.coordinatorTimeout} s) | ${secs(fan)} | ${secs(hand.fanout)} from one process | one Invoke per call from the client | items read by the map run from S3 (an ItemReader) |`,
    `| to 1,000 busy workers | ${secs(mainBusy)} (the mapping's ramp) | ${secs(busy)} | ${secs(hand.busy1000)} (the mapping's ramp) | about 3–4 s, warm (its own FLOPS benchmark, 1,000 functions) | up to 10,000 parallel child executions; no documented start rate |`,
    `| 1e5 chunks × 100 tasks × 10 ms, end to end | ${secs(mainMid.endToEnd)} | ${secs(at(d.rows, 100_000, 10).endToEnd)} | ${secs(at(h.rows, 100_000, 10).endToEnd)}, without knowing it ended | — | — |`,
    `| a crashed worker's chunks come back after | ${secs(mainMid.crashRecovery)} (the queue's visibility) | ≤ ${secs(big.crashRecovery)} | ${secs(hand.crashRecovery)} | the call is lost unless retried (its retrying executor resubmits it) | the child execution's retry policy |`,
    `| caller learns a chunk is done | one poll: ${ms(ASSUMED.notice)} while chunks finish, ≤ 1 s idle | same | what the user builds | lists its storage every 2 s | the execution's end (DescribeExecution or an EventBridge event) |`,
    '| per million tasks, non-compute | ' +
      `${usd(costPerMillionTasks(main, 100))} at 100 tasks per chunk | ${usd(cost)} | ${usd(hand.costPerMillionTasks)}, duplicates counted twice | one S3 status object (PUT, $5 per million) per call and one invocation per call: about $5.20 per million tasks at one task per call (its \`map\`), $0.05 if each call takes 100 tasks | Standard child executions: a state transition each ($25 per million) plus the child's Lambda invocation, about $0.25 per million tasks with 100 items per child (ItemBatcher), $25 at one; Express children: $1 per million executions plus their duration |`,
    '',
    "### Targets (issue 10; the construct's defaults with concurrency 1,000, 100 tasks per chunk, 10-ms tasks)",
    '',
    '| target | before issue 10 | this commit |',
    '|---|---|---|',
    `| 1,000 busy workers ≤ 10 s after submit | ${secs(mainBusy)}: ${verdict(mainBusy <= 10)} | ${secs(busy)}: ${verdict(busy <= 10)} |`,
    `| 1e6-chunk fan-out ≤ 60 s | ${secs(at(m.rows, 1_000_000, 10).fanout)}: ${verdict(at(m.rows, 1_000_000, 10).fanout <= 60)} | ${secs(fan)}: ${verdict(fan <= 60)} |`,
    `| ≤ $0.03 per million tasks | ${usd(costPerMillionTasks(main, 100))}: ${verdict(costPerMillionTasks(main, 100) <= 0.03)} | ${usd(cost)}: ${verdict(cost <= 0.03)} |`,
    '',
    END,
  ];
  return out.join('\n');
}

const ms = (s: number) => `${Math.round(s * 1000)} ms`;

/**
 * Which way the counted run's chunks went: the mapping's batches or the drain workers' receives,
 * and how many messages each receive carried (the receive loop asks for ten).
 */
function routes(run: CountedRun): string {
  const got = (party: string) =>
    run.tallies
      .filter((t) => t.party === party && t.operation === 'ReceiveMessage')
      .reduce((a, t) => a + t.requests, 0);
  const mapped = run.mappingInvocations;
  const drained = got('worker');
  // Without the mapping's message count (older counts), full batches give a lower bound.
  const exact = run.mappedMessages !== undefined;
  const rest = Math.max(0, run.chunks - (run.mappedMessages ?? mapped * 10));
  const perDrain = drained === 0 ? 0 : rest / drained;
  return `In the ${run.chunks.toLocaleString('en')}-chunk run the mapping made ${mapped} invocations${exact ? ` carrying ${run.mappedMessages} messages` : ' (batches of at most 10)'} and the drain workers ${drained} receives that found messages: ${exact ? 'about' : 'at least'} ${perDrain.toFixed(1)} chunks a receive for the chunks the mapping did not take (a drain's receive loop asks for ten, and waits for room for ten). On the runner a function has a few containers (4 here) and the mapping's concurrency is kept for its batches, so the drain workers run one or two at a time and the mapping takes most chunks; on AWS each drain has an environment of its own.`;
}

function fmtPerChunk(p: PerChunk): string {
  const f = (x: number) => x.toFixed(3).replace(/\.?0+$/, '');
  return `${f(p.sqs)} SQS requests, ${f(p.lambda)} Lambda invocations, ${f(p.s3Put + p.s3Get)} S3 requests, ${f(p.wru)} WRU (${f(p.recordingWru)} of them recording), ${f(p.rru)} RRU`;
}

/** Replaces (or appends) the marked section of a RESULTS.md text. */
export function splice(text: string, block: string): string {
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a >= 0 && b > a) return text.slice(0, a) + block + text.slice(b + END.length);
  return `${text.trimEnd()}\n\n${block}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const counts = new URL('../.out/scale-counts.json', import.meta.url);
  if (!existsSync(counts))
    throw new Error('No bench/.out/scale-counts.json: run bench/scale/counts.ts first');
  const block = section(JSON.parse(readFileSync(counts, 'utf8')) as CountsFile);
  const results = new URL('../RESULTS.md', import.meta.url);
  writeFileSync(results, splice(readFileSync(results, 'utf8'), block));
  process.stdout.write(`${block}\n`);
}
