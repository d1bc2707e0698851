/** An in-memory {@link FanoutLedger}, standing in for the `FAN#` items of the DynamoDB table. */
import type { FanoutLedger } from '../ports.js';
import { integer, nonEmptyString } from '../validate.js';

/** Options of {@link MemoryFanoutLedger}. */
export interface MemoryFanoutLedgerOptions {
  /** How long a job's progress is kept after its last write, as the table's TTL keeps it. @default 86_400_000 (a day) */
  readonly ttlMs?: number;
  /** The time source, in epoch ms. @default Date.now */
  readonly clock?: () => number;
}

/**
 * The progress of each job's fan-out leaves in a `Map`. A job's entries go a `ttlMs` after its
 * last write (swept on writes), as DynamoDB's TTL removes the `FAN#` items, so that a long-lived
 * local pool does not keep them for ever.
 *
 * @example
 * ```ts
 * const ledger = new MemoryFanoutLedger();
 * await ledger.advance('j1', 0, 1000);
 * await ledger.progress('j1', 0); // 1000
 * ```
 */
export class MemoryFanoutLedger implements FanoutLedger {
  readonly #jobs = new Map<string, { readonly next: Map<number, number>; until: number }>();
  readonly #ttlMs: number;
  readonly #clock: () => number;

  constructor(options: MemoryFanoutLedgerOptions = {}) {
    this.#ttlMs = integer(options.ttlMs ?? 86_400_000, 'options.ttlMs', 1);
    this.#clock = options.clock ?? Date.now;
  }

  /** {@inheritDoc FanoutLedger.progress} */
  async progress(jobId: string, from: number): Promise<number | undefined> {
    nonEmptyString(jobId, 'jobId');
    integer(from, 'from', 0);
    const job = this.#jobs.get(jobId);
    return job && job.until > this.#clock() ? job.next.get(from) : undefined;
  }

  /** {@inheritDoc FanoutLedger.advance} */
  async advance(jobId: string, from: number, next: number): Promise<void> {
    nonEmptyString(jobId, 'jobId');
    integer(from, 'from', 0);
    integer(next, 'next', from);
    const now = this.#clock();
    for (const [id, job] of this.#jobs) if (job.until <= now) this.#jobs.delete(id);
    let job = this.#jobs.get(jobId);
    if (!job) {
      job = { next: new Map(), until: 0 };
      this.#jobs.set(jobId, job);
    }
    job.until = now + this.#ttlMs;
    if ((job.next.get(from) ?? -1) < next) job.next.set(from, next);
  }
}
