/**
 * Recording a group of chunk results, exactly once (docs/protocol.md, invariant 1): each result
 * larger than the store takes inline goes to the blob store under its chunk's output key, then ONE
 * `completeChunks` call records the whole group, so the job's counter is written once for all its
 * chunks (one transaction on DynamoDB) and a job of many chunks does not make its record a hot item.
 * A duplicate delivery's result is refused by the store and counted once.
 */
import type { Backend, CompleteOutcome } from '../ports.js';
import { blobKeys } from './blob-keys.js';
import { type Encoded, spill } from './codec.js';
import type { HostLife } from './host-life.js';

/** One chunk's result, encoded by its thread. */
export interface ChunkResultBytes {
  readonly index: number;
  readonly result: Encoded;
}

/**
 * Records the results of chunks of `jobId` and returns the job's counts after the call (they may
 * include later completions). The host's life is checked before the write: a dead host records
 * nothing.
 */
export async function recordResults(
  backend: Backend,
  life: HostLife,
  jobId: string,
  results: readonly ChunkResultBytes[],
): Promise<CompleteOutcome> {
  const { store, blobs } = backend;
  const entries = await Promise.all(
    results.map(async ({ index, result }) => ({
      index,
      result: await spill(result, store.maxInlineBytes, blobs, blobKeys.output(jobId, index)),
    })),
  );
  life.live();
  const recorded = await store.completeChunks(jobId, entries);
  // Every outcome carries the counts after the call.
  return recorded[recorded.length - 1]!;
}
