/**
 * A delivery whose worker vanished (its container killed mid-chunk) leaves no note: nothing ran
 * after the kill to write one. The dead-letter handler tells it from the notes' delivery numbers:
 * when the chunk's last delivery left no note of its own, the job's failure names that delivery
 * as lost with its worker (a `WorkerCrashedError`), instead of no cause or an earlier delivery's.
 *
 * On the in-memory adapters: a delivery that lapses unsettled is what a killed container leaves.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DeadLetterHandler } from '../../src/engine/dead-letters.js';
import { ChunkTimeLimitError, ErrorCodes, serializeError } from '../../src/errors.js';
import { type MemoryBackend, memoryBackend } from '../../src/local/memory-backend.js';
import { submitSquares } from './one-item-jobs.js';

const MAX = 3;
const VIS = 30;
let backend: MemoryBackend | undefined;
afterEach(() => backend?.close());

/** A job of one chunk, its message on a queue that dead-letters after `MAX` deliveries. */
async function setup(): Promise<MemoryBackend> {
  backend = memoryBackend({ visibilityMs: VIS, maxReceiveCount: MAX });
  await submitSquares(backend, 1);
  return backend;
}

/** Receives the chunk once and leaves it, as a worker killed with its container does; its delivery number. */
async function deliverAndVanish(b: MemoryBackend): Promise<number> {
  const [d] = await b.queue.receive({ max: 1, waitMs: 5_000, visibilityMs: VIS });
  return d!.receiveCount;
}

/** Moves the chunk to the dead-letter queue (the receive after the last delivery) and handles it there. */
async function deadLetter(b: MemoryBackend): Promise<void> {
  expect(await b.queue.receive({ max: 1, waitMs: VIS * 20 })).toEqual([]);
  const [dead] = await b.deadLetters.receive({ max: 1, waitMs: 5_000 });
  await new DeadLetterHandler({ backend: b, maxReceiveCount: MAX }).handle(dead!);
}

describe('a chunk whose last delivery vanished with its worker', () => {
  it('fails its job naming that delivery as lost with its worker, and notes it', async () => {
    const b = await setup();
    for (let k = 1; k <= MAX; k++) expect(await deliverAndVanish(b)).toBe(k);
    await deadLetter(b);

    const job = await b.store.getJob('job');
    expect(job?.status).toBe('FAILED');
    expect(job?.error).toMatchObject({
      name: 'RetriesExhaustedError',
      chunkIndex: 0,
      message: expect.stringContaining(`failed ${MAX} deliveries; last error: WorkerCrashedError`),
      cause: {
        name: 'WorkerCrashedError',
        code: ErrorCodes.WORKER_CRASHED,
        chunkIndex: 0,
        attempt: MAX,
        message: expect.stringContaining(
          `running chunk 0 of job job (delivery ${MAX}) ended before it recorded`,
        ),
      },
    });
    expect(await b.store.lastChunkError('job', 0)).toMatchObject({
      code: ErrorCodes.WORKER_CRASHED,
      attempt: MAX,
    });
  });

  it("names the lost delivery, and the earlier delivery's noted error beside it", async () => {
    const b = await setup();
    expect(await deliverAndVanish(b)).toBe(1);
    // What a hand-back notes for the delivery it gave up (holdings.ts).
    await b.store.noteChunkError('job', 0, {
      ...serializeError(new ChunkTimeLimitError('job', 0, 5_000)),
      attempt: 1,
    });
    for (let k = 2; k <= MAX; k++) expect(await deliverAndVanish(b)).toBe(k);
    await deadLetter(b);

    const cause = (await b.store.getJob('job'))?.error?.cause;
    expect(cause).toMatchObject({ code: ErrorCodes.WORKER_CRASHED, attempt: MAX });
    expect(cause?.message).toContain(`(delivery ${MAX})`);
    expect(cause?.message).toContain(
      "delivery 1 had failed with ChunkTimeLimitError: Chunk 0 of job job ran past the worker's time limit",
    );
  });

  it("keeps the last delivery's own note as the cause", async () => {
    const b = await setup();
    for (let k = 1; k <= MAX; k++) expect(await deliverAndVanish(b)).toBe(k);
    await b.store.noteChunkError('job', 0, {
      ...serializeError(new ChunkTimeLimitError('job', 0, 5_000)),
      attempt: MAX,
    });
    await deadLetter(b);
    expect((await b.store.getJob('job'))?.error?.cause).toMatchObject({
      code: ErrorCodes.CHUNK_TIME_LIMIT,
      attempt: MAX,
    });
  });
});
