/**
 * The coordinator's `backup` request: send straggling chunks of a running job again, marked as
 * backups (`stragglers.ts` says when a caller asks). Whichever attempt records first wins; the
 * other is a duplicate that the job store records at most once, so a backup can never change a
 * result, only hasten it, and a repeated or retried request only sends more duplicates.
 *
 * What it refuses: a chunk index past the job's total, and any backup of a one-chunk job (a caller
 * never asks for one, since a chunk without peers is never a straggler, and a `Process` is a
 * one-chunk job that runs at most once). A job that is not RUNNING gets nothing sent: it has ended,
 * or is folding, and a late backup is not needed.
 *
 * Inputs: the chunks' inputs come with the request, as the caller planned them with the chunksize
 * it submitted (a job's items are not kept by the coordinator). A job whose input the coordinator
 * could plan again needs none.
 */
import { ProtocolError } from '../errors.js';
import type { Backend, CallMode, ChunkInput, WorkMessage } from '../ports.js';
import { blobKeys } from './blob-keys.js';
import { spill } from './codec.js';

/** A `backup` request (see `CoordinatorRequest`). */
export interface BackupRequest {
  readonly v: 1;
  readonly type: 'backup';
  readonly jobId: string;
  /** The chunks to send again (distinct, at most `MAX_BACKUP_CHUNKS`). */
  readonly indices: readonly number[];
  /** Each index's input, in the same order. */
  readonly inputs?: readonly ChunkInput[];
  /** Some items hold primitives' handles (as the job's submit said). */
  readonly handles?: true;
}

/** What a backup did. */
export interface BackupOutcome {
  /** Chunks sent again (0 when the job is not RUNNING). */
  readonly sent: number;
}

/** Handles a validated `backup` request against a backend. */
export async function backupChunks(backend: Backend, req: BackupRequest): Promise<BackupOutcome> {
  const { store, queue, blobs } = backend;
  const job = await store.getJob(req.jobId);
  if (job?.status !== 'RUNNING') return { sent: 0 };
  if (job.total === undefined)
    throw new ProtocolError(`No backup of job ${req.jobId}: it is still open (not sealed)`);
  if (job.total === 1)
    throw new ProtocolError(`No backup of job ${req.jobId}: a one-chunk job has no straggler`);
  const past = req.indices.find((i) => i >= job.total!);
  if (past !== undefined)
    throw new ProtocolError(`No chunk ${past} in job ${req.jobId} of ${job.total} chunks`);
  if (!req.inputs)
    throw new ProtocolError(
      `The backup of job ${req.jobId} carries no inputs, and its chunks cannot be planned again`,
    );
  const mode: CallMode = job.kind === 'mapReduce' ? 'reduce' : job.kind;
  const batch: WorkMessage[] = [];
  for (let k = 0; k < req.indices.length; k++) {
    const index = req.indices[k]!;
    let input = req.inputs[k]!;
    if (input.kind === 'items' && 'bytes' in input.data)
      input = {
        ...input,
        data: await spill(input.data, queue.maxPayloadBytes, blobs, blobKeys.input(req.jobId, index)),
      };
    batch.push({
      v: 1,
      type: 'chunk',
      jobId: req.jobId,
      index,
      task: job.task,
      mode,
      input,
      ...(job.reducer === undefined ? {} : { reducer: job.reducer }),
      ...(req.handles ? { handles: true as const } : {}),
      // The job's layout, so that the host records the backup without reading the job.
      shards: job.shards,
      deadline: job.deadline,
      backup: true,
    });
  }
  await queue.send(batch);
  // Counted for `fanfold status` once the chunks are out. A lost count only understates that
  // figure; failing here would make the caller ask again and send every backup twice.
  await store.countBackups(req.jobId, batch.length).catch(() => undefined);
  return { sent: batch.length };
}
