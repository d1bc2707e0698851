/**
 * Finalising a job, exactly once (docs/protocol.md, invariant 2): the party that sees the last
 * chunk recorded claims the finaliser lease (`JobStore.claimFinaliser`, RUNNING → FOLDING), folds
 * the partial results of a mapReduce job, and finishes it (FOLDING → DONE) under its fence. A
 * finaliser that dies loses its lease; the message it kept comes back and the next party takes over.
 */
import { ProtocolError } from '../errors.js';
import type { Backend, Data, JobRecord, WorkMessage } from '../ports.js';
import { blobKeys } from './blob-keys.js';
import { type Encoded, spill, unspill } from './codec.js';
import type { ChunkExecutor } from './executor.js';
import { ENDED, type HostLife } from './host-life.js';
import type { ChunkOutcome } from './run-chunk.js';

/** Options of {@link Finaliser}. */
export interface FinaliserOptions {
  readonly backend: Backend;
  /** Folds the partials of a mapReduce job. */
  readonly executor: ChunkExecutor;
  /** This host, as the lease owner. */
  readonly owner: string;
  readonly leaseMs: number;
  readonly life: HostLife;
  /** Told when the job failed here (its fold threw): its chunks still running stop. */
  readonly jobFailed: (jobId: string) => void;
}

/** Finalises the jobs whose last chunk a host recorded; see the module comment. */
export class Finaliser {
  readonly #o: FinaliserOptions;
  /** This host's finalisations in progress, by job: a second one of the same job waits for the first. */
  readonly #finalising = new Map<string, Promise<number | undefined>>();

  constructor(options: FinaliserOptions) {
    this.#o = options;
  }

  /**
   * Claims the finaliser lease and ends the job: folds the partials of a mapReduce job, then
   * FOLDING → DONE. Returns a delay after which to retry when another party holds a valid lease
   * (the message is kept, so the job is finalised even if that party dies), else undefined.
   */
  async finalise(jobId: string, m: WorkMessage): Promise<number | undefined> {
    // Two deliveries of one batch can both see the last chunk recorded (a duplicate, or two groups
    // of the job). The second waits for this host's own finalisation instead of finding the lease
    // held (by this very host) and keeping its message until the lease ends. Chained before any
    // await, so that the check and the registration are one step.
    const before = this.#finalising.get(jobId);
    const mine = (async () => {
      if (before) await before.catch(() => {});
      return this.#claimAndFinish(jobId, m);
    })();
    this.#finalising.set(jobId, mine);
    try {
      return await mine;
    } finally {
      if (this.#finalising.get(jobId) === mine) this.#finalising.delete(jobId);
    }
  }

  async #claimAndFinish(jobId: string, m: WorkMessage): Promise<number | undefined> {
    const { backend, life, owner, leaseMs } = this.#o;
    const { store, blobs } = backend;
    life.live();
    const claim = await store.claimFinaliser(jobId, owner, leaseMs);
    if (!claim.claimed) {
      const job = claim.job;
      if (job?.status === 'FOLDING' && job.finaliser)
        return Math.max(0, job.finaliser.leaseUntil - Date.now()) + 20;
      if (job && ENDED.has(job.status)) life.noteEnded(jobId);
      return undefined;
    }
    life.step('claimed', m);
    const job = claim.job;
    let result: Data | undefined;
    if (job.kind === 'mapReduce') {
      const outcome = await this.#fold(job);
      life.live();
      if (!outcome.ok) {
        await store.failJob(jobId, { ...outcome.error, reason: 'task' });
        this.#o.jobFailed(jobId);
        return undefined;
      }
      result = await spill(outcome.result, store.maxInlineBytes, blobs, blobKeys.result(jobId));
      life.step('folded', m);
    }
    await store.finishJob(jobId, owner, claim.fence, result);
    life.step('finished', m);
    life.noteEnded(jobId);
    return undefined;
  }

  async #fold(job: JobRecord): Promise<ChunkOutcome> {
    const { store, blobs } = this.#o.backend;
    const total = job.total ?? 0;
    const indices = Array.from({ length: total }, (_, i) => i);
    const found = await store.readResults(job.id, indices);
    const partials: Encoded[] = await Promise.all(
      indices.map((i) => {
        const d = found.get(i);
        if (!d) throw new ProtocolError(`Job ${job.id} is FOLDING but chunk ${i} has no result`);
        return unspill(d, blobs);
      }),
    );
    const initial = job.initial ? await unspill(job.initial, blobs) : undefined;
    return this.#o.executor.fold(job.id, job.reducer ?? '', initial, partials);
  }
}
