/**
 * Recording chunk results on DynamoDB (`DynamoJobStore.completeChunks`), sharded: per ~99 chunks
 * ONE transaction of conditional chunk Puts and one counter Update per shard touched, then ONE
 * strongly consistent BatchGetItem of the job item and those shards' counters, then — only when a
 * shard has just become complete — ONE conditional mark on the job item. The call that sees every
 * shard marked answers `complete: true` (docs/protocol.md, steps H8 and H9, says why no step is
 * lost when a host dies between two of them). Sealing ends the same way: once the total is set,
 * every counter is read and the complete shards are marked (`completeSeal`).
 */
import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ProtocolError, type SerializedError } from '../errors.js';
import type { ChunkResult, CompleteOutcome, JobError, JobRef, JobStatus, SealOutcome } from '../ports.js';
import { type RetryPolicy, transactWrite } from './dynamo-batch.js';
import { decodeJob, expiryOf } from './dynamo-items.js';
import { type JobCommands, partitionForTransactions } from './job-commands.js';
import { allMarked, type JobShardReads } from './job-shard-reads.js';
import { shardOf } from './job-shards.js';

/** What recording needs of its store. */
export interface RecordingContext {
  readonly client: DynamoDBClient;
  readonly commands: JobCommands;
  readonly shards: JobShardReads;
  readonly retry: RetryPolicy;
  readonly retentionSeconds: number;
  /** Fails the job (a corrupt count must never complete it). */
  readonly fail: (jobId: string, error: JobError) => Promise<unknown>;
}

const GONE: CompleteOutcome = { first: false, total: undefined, status: 'CANCELLED', complete: false };

/**
 * Records `entries` (validated, inline sizes checked) of `jobId` and returns one outcome per entry.
 * `known` is the layout a chunk message carried; without it the job is read once (then remembered).
 */
export async function recordChunks(
  ctx: RecordingContext,
  jobId: string,
  entries: readonly ChunkResult[],
  known: JobRef | undefined,
): Promise<CompleteOutcome[]> {
  const layout = await ctx.shards.layout(jobId, known);
  if (!layout) return entries.map(() => GONE);
  const { shards } = layout;
  const unique = new Map<number, ChunkResult>();
  for (const e of entries) if (!unique.has(e.index)) unique.set(e.index, e);
  const recorded = await writeChunks(ctx, jobId, layout, [...unique.values()]);

  // Every shard of the call is checked, recorded now or before: a redelivery after a host died
  // between its write and its mark re-runs the check, so no complete shard stays unmarked.
  const touched = new Set([...unique.keys()].map((i) => shardOf(i, shards)));
  const { item, counters } = await ctx.shards.read(jobId, shards, touched);
  if (!item) return entries.map(() => GONE);
  const found = decodeJob(item);
  const late = [...unique.keys()].filter((i) => found.total !== undefined && i >= found.total);
  if (found.shards !== shards || late.length > 0) {
    ctx.shards.forget(jobId);
    const why =
      found.shards !== shards
        ? `chunks of job ${jobId} were recorded as if it had ${shards} shards; it has ${found.shards}`
        : `chunk ${Math.max(...late)} is out of range for job ${jobId} of ${found.total} chunks`;
    await corrupt(ctx, jobId, why);
  }
  const marks = await ctx.shards.markComplete(jobId, item, counters);
  if (marks.overshoot.length > 0)
    await corrupt(ctx, jobId, `shard ${marks.overshoot[0]} of job ${jobId} counts more chunks than it holds`);
  const job = decodeJob(marks.item);
  const complete =
    (job.status === 'RUNNING' || job.status === 'FOLDING') &&
    job.total !== undefined &&
    allMarked(marks.item);
  let done: number | undefined;
  if (touched.size === shards) done = [...counters.values()].reduce((n, c) => n + c.done, 0);
  const base = {
    total: job.total,
    status: job.status as JobStatus,
    complete,
    ...(done === undefined ? {} : { done }),
  };
  const claimed = new Set<number>();
  return entries.map((e) => {
    // A released job's late chunk may be written (it expires with the job) but is no first record.
    const first = recorded.has(e.index) && !claimed.has(e.index) && job.released !== true;
    claimed.add(e.index);
    return { first, ...base };
  });
}

/**
 * Writes the chunks in transactions; returns the indices this call wrote. A duplicate cancels its
 * transaction and names itself in the reasons: it is dropped and the rest written again.
 */
async function writeChunks(
  ctx: RecordingContext,
  jobId: string,
  layout: JobRef,
  entries: readonly ChunkResult[],
): Promise<Set<number>> {
  const recorded = new Set<number>();
  const expiresAt = expiryOf(layout.deadline, ctx.retentionSeconds);
  for (const part of partitionForTransactions(entries, layout.shards)) {
    let rest = part;
    while (rest.length > 0) {
      const reasons = await transactWrite(
        ctx.client,
        () => ctx.commands.recordChunks(jobId, layout.shards, expiresAt, rest),
        ctx.retry,
      );
      if (!reasons) {
        for (const e of rest) recorded.add(e.index);
        break;
      }
      // The reasons follow the transaction's items: the puts first, in the order of `rest`.
      const duplicate = (k: number) => reasons[k]?.Code === 'ConditionalCheckFailed';
      if (!rest.some((_, k) => duplicate(k)))
        throw new ProtocolError(`Recording chunks of job ${jobId} was refused for no duplicate`);
      rest = rest.filter((_, k) => !duplicate(k));
    }
  }
  return recorded;
}

/**
 * What a seal found, once the total is on the job item (`item`, after the seal's write or as a
 * retried seal found it): every shard's counter is read and the complete shards marked. A host
 * that read the job before the total was set did so after its own counter write, so this later
 * read sees that write: every chunk recorded before the seal is counted here or by its host.
 */
export async function completeSeal(
  ctx: RecordingContext,
  jobId: string,
  item: Record<string, AttributeValue>,
  total: number,
): Promise<SealOutcome> {
  ctx.shards.remember(item);
  const read = await ctx.shards.read(jobId, decodeJob(item).shards);
  const marks = await ctx.shards.markComplete(jobId, read.item ?? item, read.counters);
  if (marks.overshoot.length > 0) {
    const done = [...read.counters.values()].reduce((n, c) => n + c.done, 0);
    const error = new ProtocolError(`Job ${jobId} has ${done} chunks done; cannot seal it with ${total}`);
    await ctx.fail(jobId, { name: error.name, message: error.message, code: error.code, reason: 'internal' });
    throw error;
  }
  const job = decodeJob(marks.item, read.counters);
  return { job, complete: job.status === 'RUNNING' && allMarked(marks.item) };
}

/** Fails the job whose count a corrupt chunk message broke, and throws. */
async function corrupt(ctx: RecordingContext, jobId: string, why: string): Promise<never> {
  const error = new ProtocolError(`A corrupt chunk message: ${why}`);
  const serialized: SerializedError = { name: error.name, message: error.message, code: error.code };
  await ctx.fail(jobId, { ...serialized, reason: 'internal' });
  throw error;
}
