/**
 * One run of a group of chunks on a {@link ThreadPool}: sent to one thread in one round trip, and
 * shared with the threads that fall idle while it has chunks nobody has started (claims.ts). So a
 * slow chunk holds back only itself: the chunks queued behind it on its thread are taken by an idle
 * neighbour, a task error among them is reported at once, and a group of fast chunks still costs
 * one round trip when no thread is idle.
 *
 * Settles (once) when every chunk has an outcome, at the first task error (the chunks nobody
 * started are stopped; those still running elsewhere are the job's, which the host then cancels),
 * or, when a thread running part of it died or was cancelled, once the other threads have finished
 * the chunk each was running: the chunks not reported are then exactly the one that was running on
 * the lost thread and those nobody started, in order after it (each thread takes its chunks in
 * order, so every chunk before a claimed one was claimed first).
 */

import { transferableInputs } from '../engine/chunk-input.js';
import type { RunChunksOptions } from '../engine/executor.js';
import type { ChunkOutcome, InlineChunk } from '../engine/run-chunk.js';
import { JobCancelledError, ProtocolError } from '../errors.js';
import { newClaims, stopUnclaimed, unclaimed } from './claims.js';
import type { ThreadPool } from './pool.js';
import type { Placed, ThreadJob } from './serve-tasks.js';

/** What each chunk of a group produced, by position; none for a chunk not run. */
export type GroupOutcomes = (ChunkOutcome | undefined)[];

/** See the module comment. */
export class GroupRun {
  readonly #pool: ThreadPool;
  readonly #chunks: readonly InlineChunk[];
  readonly #tag: string;
  readonly #onOutcome: RunChunksOptions['onOutcome'];
  readonly #exclusive: boolean;
  /** Shared with the threads; none for a single chunk (there is nothing to share). */
  readonly #claims: Int32Array | undefined;
  readonly #outcomes: GroupOutcomes;
  #known = 0;
  /** Thread runs of this group not settled yet, and the mark of the next one (1, 2, …). */
  #runners = 0;
  #nextMark = 1;
  #lost: unknown;
  #settled = false;
  #resolve: (o: GroupOutcomes) => void = () => {};
  #reject: (e: unknown) => void = () => {};
  /** Settles as the module comment says. */
  readonly done: Promise<GroupOutcomes>;

  constructor(pool: ThreadPool, chunks: readonly InlineChunk[], options: RunChunksOptions) {
    this.#pool = pool;
    this.#chunks = chunks;
    this.#tag = chunks[0]?.jobId ?? '';
    this.#onOutcome = options.onOutcome;
    this.#claims = chunks.length > 1 ? newClaims(chunks.length) : undefined;
    this.#outcomes = new Array<ChunkOutcome | undefined>(chunks.length);
    this.done = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#exclusive = options.exclusive === true;
  }

  /** Sends the whole group to one thread. */
  start(): void {
    if (this.#chunks.length === 0) this.#settle();
    else
      this.#send(
        this.#chunks.map((_, k) => k),
        this.#exclusive,
      );
  }

  /**
   * An idle thread may help: sends it the chunks nobody has started, unless there are none or as
   * many threads run the group already. Returns whether it sent them.
   */
  offer(): boolean {
    if (this.#settled || this.#lost !== undefined || this.#claims === undefined) return false;
    const free = unclaimed(this.#claims);
    if (free.length === 0 || this.#runners > free.length) return false;
    this.#send(free, false);
    return true;
  }

  #send(at: readonly number[], exclusive: boolean): void {
    const claims = this.#claims;
    const by = this.#nextMark++;
    const job: ThreadJob = {
      op: 'run',
      chunks: at.map((k) => this.#chunks[k]!),
      ...(claims ? { share: { claims, at, by } } : {}),
    };
    this.#runners++;
    // A chunk run alone moves the inputs read from the blob store to its thread (they are this
    // host's own: a 1 MB chunk's copy was ~3 ms of the main thread); a shared group's are copied,
    // as a helping thread still needs them. Bytes that came in the message are always copied by
    // structured clone: they may be views of the queue's stored copy, which a redelivery needs.
    const transfer = claims ? [] : transferableInputs(job.chunks);
    this.#pool
      .run<Placed[]>(job, {
        tag: this.#tag,
        exclusive,
        ...(transfer.length > 0 ? { transfer } : {}),
        onProgress: (p) => this.#take(p as Placed),
      })
      .then(
        (rest) => {
          for (const p of rest) this.#take(p);
        },
        (e: unknown) => {
          if (claims) stopUnclaimed(claims);
          // A cancellation outranks a crash: the job ended, nothing is to be redelivered.
          if (this.#lost === undefined || e instanceof JobCancelledError) this.#lost = e;
        },
      )
      .finally(() => {
        this.#runners--;
        this.#settle();
      });
  }

  #take({ at, outcome }: Placed): void {
    if (this.#settled || this.#outcomes[at] !== undefined) return;
    this.#outcomes[at] = outcome;
    this.#known++;
    this.#onOutcome?.(at, outcome);
    if (!outcome.ok) {
      // The failing thread stopped the group already; the failure need not wait for its neighbours.
      this.#settled = true;
      this.#resolve(this.#outcomes);
    } else if (this.#known === this.#chunks.length) this.#settle();
  }

  #settle(): void {
    if (this.#settled) return;
    if (this.#known === this.#chunks.length) {
      this.#settled = true;
      this.#resolve(this.#outcomes);
    } else if (this.#runners === 0) {
      this.#settled = true;
      this.#reject(
        this.#lost ??
          new ProtocolError(`A group of ${this.#chunks.length} chunks ended with ${this.#known} run`),
      );
    }
  }
}
