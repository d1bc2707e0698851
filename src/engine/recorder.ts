/**
 * Recording a group of chunk results, exactly once (docs/protocol.md, invariant 1): each result
 * larger than the store takes inline goes to the blob store under its chunk's output key, then ONE
 * `completeChunks` call records the whole group with each chunk's attempt, so a shard's counter is
 * written once for all its chunks (one transaction on DynamoDB). A duplicate delivery's result is
 * refused by the store and counted once.
 */
import type { Backend, ChunkAttempt, CompleteOutcome, JobRef } from '../ports.js';
import { blobKeys } from './blob-keys.js';
import { type Encoded, spill } from './codec.js';
import type { HostLife } from './host-life.js';

/** One chunk's result, encoded by its thread, and how it ran. */
export interface ChunkResultBytes {
  readonly index: number;
  readonly result: Encoded;
  readonly attempt?: ChunkAttempt;
}

/**
 * Records the results of chunks of `jobId` and returns what the store found of the job after the
 * call: its status, and whether the job is complete (then the host claims the finaliser). `job` is
 * the layout the chunk messages carried (the store reads the job without it). The host's life is
 * checked before the write: a dead host records nothing.
 */
export async function recordResults(
  backend: Backend,
  life: HostLife,
  jobId: string,
  results: readonly ChunkResultBytes[],
  job?: JobRef,
): Promise<CompleteOutcome> {
  const { store, blobs } = backend;
  const entries = await Promise.all(
    results.map(async ({ index, result, attempt }) => ({
      index,
      // A thread's result bytes are the host's alone (moved from the thread, recorded once).
      result: await spill(result, store.maxInlineBytes, blobs, blobKeys.output(jobId, index), true),
      ...(attempt ? { attempt } : {}),
    })),
  );
  life.live();
  const recorded = await store.completeChunks(jobId, entries, job);
  // Every outcome carries what the call found of the job.
  return recorded[recorded.length - 1]!;
}
