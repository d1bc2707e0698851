/**
 * A map's results in input order, gathered chunk by chunk. `advance()` appends the chunks recorded
 * so far from the first one not yet read, stopping at the first that is missing; the client calls
 * it while the job runs on a store that tells changes at once (the local context), so that copying
 * a large result into the caller's array overlaps the chunks still running instead of following
 * the last one (a million numbers cost the main thread ~10-25 ms to copy, cold). `finish()` reads
 * the rest once the job is DONE. Only recorded results are read, and a recorded result never
 * changes (a chunk is recorded once), so reading early changes nothing of what the call returns.
 */
import { TaskError } from '../errors.js';
import type { BlobStore, Data, JobStore } from '../ports.js';
import { decodeList, unspill } from './codec.js';

/** Chunks read per `advance()` at most: a job of many small chunks pays a bounded read per change. */
const ADVANCE_CHUNKS = 16;

/**
 * Results up to which the caller's array is made at its full length first. Filled in order, it
 * stays a fast (holey) array and costs ~30% less than growing by push (1e6 numbers: 16-19 ms of
 * CPU against 22-27, cold, with fewer collections; reading it back costs the same). Past 2^25
 * elements V8 would make it a dictionary, so a larger result grows by push.
 */
const PREALLOCATE_MAX = 2 ** 24;

/** The ordered results of one job; see the module comment. Its calls are awaited one at a time. */
export class OrderedResults {
  readonly #jobId: string;
  readonly #chunks: number;
  readonly #store: JobStore;
  readonly #blobs: BlobStore;
  /** The results expected, when known. */
  readonly #n: number | undefined;
  readonly #out: unknown[];
  /** Results written so far (the array may be longer: made at its full length). */
  #filled = 0;
  #next = 0;

  constructor(jobId: string, chunks: number, n: number | undefined, store: JobStore, blobs: BlobStore) {
    this.#jobId = jobId;
    this.#chunks = chunks;
    this.#n = n;
    this.#store = store;
    this.#blobs = blobs;
    this.#out = n !== undefined && n <= PREALLOCATE_MAX ? new Array<unknown>(n) : [];
  }

  /** Appends the recorded chunks from the first not yet read, up to the first missing one. */
  async advance(): Promise<void> {
    const to = Math.min(this.#chunks, this.#next + ADVANCE_CHUNKS);
    if (this.#next >= to) return;
    const indices = Array.from({ length: to - this.#next }, (_, k) => this.#next + k);
    const found = await this.#store.readResults(this.#jobId, indices);
    for (const i of indices) {
      const d = found.get(i);
      if (!d) return;
      await this.#append(i, d);
    }
  }

  /**
   * Every result, once the job is DONE; `read` holds chunks read already (by the straggler check).
   * Throws a `TaskError` when a chunk has no result, or the results are not `n` (when given).
   */
  async finish(read?: ReadonlyMap<number, Data>): Promise<unknown[]> {
    const jobId = this.#jobId;
    const rest = Array.from({ length: this.#chunks - this.#next }, (_, k) => this.#next + k);
    const found = new Map(read);
    const missing = read?.size ? rest.filter((i) => !read.has(i)) : rest;
    for (const [i, d] of await this.#store.readResults(jobId, missing)) found.set(i, d);
    for (const i of rest) {
      const d = found.get(i);
      if (!d)
        throw new TaskError(
          { name: 'Error', message: `Job ${jobId} is DONE but chunk ${i} has no result` },
          jobId,
        );
      await this.#append(i, d);
    }
    const n = this.#n;
    if (n !== undefined && this.#filled !== n) {
      throw new TaskError(
        { name: 'Error', message: `Job ${jobId} returned ${this.#filled} results for ${n} items` },
        jobId,
      );
    }
    return this.#out;
  }

  async #append(i: number, d: Data): Promise<void> {
    // Only read (the numbers or the deserialised items are copied out): the store may lend its bytes.
    const list = decodeList(await unspill(d, this.#blobs, true));
    this.#filled = write(this.#out, this.#filled, list);
    this.#next = i + 1;
  }
}

/**
 * Writes `list` into `out` from `at` (within its length, or appending at its end: either keeps the
 * array fast) and returns the next position. A plain function, not a step of an async one: V8
 * optimises its loop mid-way (OSR) on a large list.
 */
function write(out: unknown[], at: number, list: ArrayLike<unknown>): number {
  const n = list.length;
  for (let k = 0; k < n; k++) out[at + k] = list[k];
  return at + n;
}
