/**
 * The dead-letter handler: a chunk (or finalise) message that exhausted its deliveries ends its
 * job as FAILED with the last error seen, so no caller waits forever for a chunk no one will run.
 *
 * A dead letter is checked against its job's record before it fails the job: anyone who can send
 * to the work queue can make a letter, and a well-formed one that names a job it does not belong
 * to (an index past the job's total, another task, no such job, a finalise of a job whose chunks
 * are not all recorded) must not end a healthy job. Such a letter is reported and deleted; a
 * stale copy of a chunk that another delivery recorded is deleted silently.
 */
import { ProtocolError, type SerializedError, serializeError, WorkerCrashedError } from '../errors.js';
import type { Backend, Delivery, JobRecord, WorkMessage } from '../ports.js';
import { parseWorkMessage } from './protocol.js';

/** Options of {@link DeadLetterHandler}. */
export interface DeadLetterOptions {
  readonly backend: Backend;
  /** The delivery count after which the work queue dead-letters a message (reported to the caller). */
  readonly maxReceiveCount: number;
  /** Called when a job was failed, so running chunks of it can be stopped. */
  readonly onJobFailed?: (jobId: string) => void;
  /** Malformed dead letters are reported here (and then deleted: they belong to no job). */
  readonly onError?: (error: unknown) => void;
  /** @default 1000 */
  readonly waitMs?: number;
}

/** Ends the job of each dead letter. */
export class DeadLetterHandler {
  readonly #o: DeadLetterOptions;
  #running = false;
  #loop: Promise<void> | undefined;
  readonly #abort = new AbortController();

  constructor(options: DeadLetterOptions) {
    this.#o = options;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#abort.abort();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const { deadLetters } = this.#o.backend;
    while (this.#running) {
      let got: Delivery[];
      try {
        got = await deadLetters.receive({
          max: 10,
          waitMs: this.#o.waitMs ?? 1000,
          signal: this.#abort.signal,
        });
      } catch (e) {
        if (!this.#running) return;
        this.#o.onError?.(e);
        continue;
      }
      for (const d of got) {
        try {
          await this.handle(d);
        } catch (e) {
          this.#o.onError?.(e);
        }
      }
    }
  }

  /** Handles one dead letter: fails its job with the last error noted for the chunk, then deletes it. */
  async handle(d: Delivery): Promise<void> {
    const { store, deadLetters } = this.#o.backend;
    let m: ReturnType<typeof parseWorkMessage>;
    try {
      m = parseWorkMessage(d.body);
    } catch (e) {
      this.#o.onError?.(
        new ProtocolError(`Dropped a malformed dead letter ${d.messageId}: ${(e as Error).message}`),
      );
      await deadLetters.ack([d.receipt]);
      return;
    }
    const job = await store.getJob(m.jobId);
    const mismatch = mismatchOf(m, job);
    if (mismatch !== undefined) {
      this.#o.onError?.(new ProtocolError(`Dropped dead letter ${d.messageId}: ${mismatch}`));
      await deadLetters.ack([d.receipt]);
      return;
    }
    const own = m.type === 'chunk' ? m.index : undefined;
    // A copy of a chunk that another delivery recorded (or of a job that ended) fails nothing.
    const recorded = own !== undefined && (await store.readResults(m.jobId, [own])).has(own);
    if (recorded || (job?.status !== 'RUNNING' && job?.status !== 'FOLDING')) {
      await deadLetters.ack([d.receipt]);
      return;
    }
    const noted = own === undefined ? undefined : await store.lastChunkError(m.jobId, own);
    const attempts = this.#o.maxReceiveCount;
    // The last delivery ended without a note (a note says which delivery it is about): its worker
    // vanished while running it. Say so, rather than blame an earlier delivery's error, or nothing.
    const last =
      own !== undefined && (noted === undefined || (noted.attempt !== undefined && noted.attempt < attempts))
        ? vanished(m.jobId, own, attempts, noted)
        : noted;
    if (last !== noted && own !== undefined) await store.noteChunkError(m.jobId, own, last!);
    // A chunk handed back because its thread died while running another chunk of its group is a
    // bystander: the error noted for it names the chunk that was running, and so does the job's.
    const index = last?.chunkIndex ?? own;
    const what = index === undefined ? 'The finalise step' : `Chunk ${index}`;
    const { changed } = await store.failJob(m.jobId, {
      reason: 'retries',
      attempts,
      name: 'RetriesExhaustedError',
      message: `${what} of job ${m.jobId} failed ${attempts} deliveries${last ? `; last error: ${last.name}: ${last.message}` : ''}`,
      ...(last ? { cause: last } : {}),
      ...(index === undefined ? {} : { chunkIndex: index }),
    });
    if (changed) this.#o.onJobFailed?.(m.jobId);
    await deadLetters.ack([d.receipt]);
  }
}

/**
 * The error of a chunk's delivery `attempt` whose worker ended while running it without recording
 * a result or noting an error: its container was killed (or ran out of memory, or its process
 * exited). `earlier` is the note of an earlier delivery, if any, named in the message.
 */
function vanished(
  jobId: string,
  index: number,
  attempt: number,
  earlier: SerializedError | undefined,
): SerializedError {
  const before = earlier
    ? `; delivery ${earlier.attempt} had failed with ${earlier.name}: ${earlier.message}`
    : '';
  const e = new WorkerCrashedError(
    `The worker running chunk ${index} of job ${jobId} (delivery ${attempt}) ended before it recorded a result or noted an error: its container was killed, ran out of memory or exited, or it could not write${before}`,
  );
  return { ...serializeError(e), chunkIndex: index, attempt };
}

/** Why a dead letter cannot be one of its job's messages, or undefined when it can. */
function mismatchOf(m: WorkMessage, job: JobRecord | undefined): string | undefined {
  if (!job) return `it names job ${m.jobId}, which does not exist`;
  if (m.type === 'finalise') {
    const ready = job.status !== 'RUNNING' || (job.total !== undefined && job.done >= job.total);
    return ready ? undefined : `it finalises job ${m.jobId}, whose chunks are not all recorded`;
  }
  if (m.index < 0 || (job.total !== undefined && m.index >= job.total))
    return `chunk ${m.index} is out of the range of job ${m.jobId} (${job.total ?? 'open'} chunks)`;
  const mode = job.kind === 'mapReduce' ? 'reduce' : job.kind;
  if (m.task !== job.task || m.mode !== mode || (m.reducer ?? undefined) !== (job.reducer ?? undefined))
    return `chunk ${m.index} calls ${m.task} (${m.mode}), not job ${m.jobId}'s ${job.task} (${mode})`;
  return undefined;
}
