/**
 * A `Process` runs at most once, on at-least-once delivery: before its chunk runs, the host claims
 * the run with a conditional write on the job (`JobStore.claimRun`) whose owner is this attempt
 * alone, under a lease the runner renews while the run goes on. A refused claim tells the host
 * what to do with the delivery instead; a run that was started and will never be recorded fails
 * its job as interrupted (a process is never run again, as a CPython child killed by a signal).
 */
import { randomUUID } from 'node:crypto';
import { ErrorCodes, type SerializedError } from '../errors.js';
import type { Backend, Delivery } from '../ports.js';
import type { ChunkMessage } from './chunk-input.js';
import type { Finaliser } from './finaliser.js';
import { ENDED, type HostLife } from './host-life.js';

/** Options of {@link ProcessRuns}. */
export interface ProcessRunsOptions {
  readonly backend: Backend;
  /** The run's lease, renewed every third of it. */
  readonly leaseMs: number;
  readonly life: HostLife;
  readonly finaliser: Finaliser;
  /** Marks the job ended in the host (its other chunks stop). */
  readonly jobEnded: (jobId: string) => void;
  /** Acknowledges deliveries through the host. */
  readonly ack: (ds: readonly Delivery[]) => Promise<void>;
  /** Makes deliveries visible again after `ms`, through the host. */
  readonly release: (ds: readonly Delivery[], ms: number) => Promise<void>;
  readonly onError?: ((error: unknown) => void) | undefined;
}

/** Claims, renews and ends the runs of `Process` chunks; see the module comment. */
export class ProcessRuns {
  readonly #o: ProcessRunsOptions;

  constructor(options: ProcessRunsOptions) {
    this.#o = options;
  }

  /**
   * Claims the one run of a `Process` chunk; resolves the claim's owner (for {@link renew}) when
   * this delivery may run it, else settles the delivery and resolves undefined. SQS delivers at
   * least once and redelivers what a dead worker (a crash, Lambda's timeout) left unacknowledged,
   * and neither the receive count (a duplicate has 1 too) nor this host's memory can tell a first
   * run: the claim is a conditional write on the job, whose owner is this attempt alone, under a
   * lease its runner renews. When the claim is refused: the job ended (acknowledged); the run
   * finished and was recorded by a host that died before finalising (finalised now); the run is in
   * progress elsewhere, its lease live (a duplicate: the message comes back once the lease would
   * have run out); or the lease ran out with nothing recorded (the job fails: the process was
   * interrupted).
   */
  async claim(d: Delivery, m: ChunkMessage): Promise<string | undefined> {
    const { backend, life, leaseMs } = this.#o;
    const { store } = backend;
    const { jobId, index } = m;
    const owner = randomUUID();
    const claim = await store.claimRun(jobId, index, owner, leaseMs);
    if (claim.claimed) {
      life.step('started', m);
      return owner;
    }
    life.live();
    const job = claim.job;
    if (!job || ENDED.has(job.status)) {
      this.#o.jobEnded(jobId);
      await this.#o.ack([d]);
      return undefined;
    }
    const recorded = job.status === 'FOLDING' || (await store.readResults(jobId, [index])).has(index);
    if (recorded) {
      // Its one chunk is recorded: the finaliser's claim decides whether the job is complete (the
      // record a refused claim returns may not count the chunk yet).
      const retry = await this.#o.finaliser.finalise(jobId, m);
      if (retry !== undefined) await this.#o.release([d], retry);
      else await this.#o.ack([d]);
      return undefined;
    }
    const left = (claim.leaseUntil ?? 0) - Date.now();
    if (left > 0) await this.#o.release([d], left + 20);
    else await this.interrupted(d, m, await store.lastChunkError(jobId, index));
    return undefined;
  }

  /** Renews the run's lease every third of it while the run goes on; clear the returned timer after. */
  renew(m: ChunkMessage, owner: string): NodeJS.Timeout {
    const { leaseMs, backend, life } = this.#o;
    const timer = setInterval(() => {
      if (life.dead) return clearInterval(timer);
      backend.store.claimRun(m.jobId, m.index, owner, leaseMs).catch((e) => this.#o.onError?.(e));
    }, leaseMs / 3);
    timer.unref();
    return timer;
  }

  /** Fails a `Process` job whose one run was started and will never be recorded, and settles its delivery. */
  async interrupted(d: Delivery, m: ChunkMessage, cause: SerializedError | undefined): Promise<void> {
    const { jobId, index, process } = m;
    this.#o.life.live();
    await this.#o.backend.store.failJob(jobId, {
      name: 'ProcessInterruptedError',
      message:
        `Process ${process} was interrupted: its worker crashed or hit the function's timeout while ` +
        'running it, and a process is never run again' +
        (cause ? ` (${cause.name}: ${cause.message})` : ''),
      code: ErrorCodes.PROCESS_INTERRUPTED,
      reason: 'internal',
      chunkIndex: index,
      ...(cause ? { cause } : {}),
    });
    this.#o.jobEnded(jobId);
    await this.#o.ack([d]);
  }
}
