/**
 * The ports between fanfold's engine and its backends. The engine sees only these interfaces;
 * `src/local/` implements them in memory (with the cloud's semantics) and `src/aws/` on SQS,
 * DynamoDB and S3. Each method is one atomic, domain-level operation whose semantics are stated
 * here; the contract suites in `test/contract/` hold every adapter to them.
 */
import type { SerializedError } from './errors.js';

/** How a value or a list of values is encoded as bytes. */
export type Encoding =
  /** `v8.serialize` of the value: structured-clone types (Map, Set, Date, BigInt, typed arrays…). */
  | 'v8'
  /** A list of numbers as the bytes of a Float64Array (little-endian, 8 bytes each). */
  | 'f64';

/**
 * Encoded data, either inline or stored in the blob store by reference: the whole blob, or with
 * `offset` the slice `[offset, offset + size)` of it (a chunk of an input uploaded as one blob of
 * chunk encodings, read with one ranged get).
 */
export type Data =
  | { readonly enc: Encoding; readonly bytes: Uint8Array }
  | { readonly enc: Encoding; readonly blob: string; readonly size: number; readonly offset?: number };

/**
 * An object whose lines are a job's items (`lines()`): an S3 object in the user's own bucket (AWS
 * context), or a file of the machine (local context: an absolute path).
 */
export type ObjectSource =
  | {
      /** The S3 bucket. */
      readonly bucket: string;
      /** The object's key. */
      readonly key: string;
    }
  | {
      /** A local file's path. */
      readonly path: string;
    };

/**
 * The input of one chunk. For `items` and `range`, `offset` is the index, in the job's whole input,
 * of the chunk's first item and `count` the chunk's number of items.
 */
export type ChunkInput =
  /** `count` items encoded in `data` (a list). */
  | { readonly kind: 'items'; readonly offset: number; readonly count: number; readonly data: Data }
  /** The numbers `start + i * step` for `i` in `[0, count)`: a slice of a `range()` never materialised. */
  | {
      readonly kind: 'range';
      readonly offset: number;
      readonly count: number;
      readonly start: number;
      readonly step: number;
    }
  /**
   * The lines of `source` that START in the byte range `[start, end)` (`0 <= start < end <= size`):
   * the reader skips the partial first line unless `start = 0` (a line starts at `p` when `p = 0` or
   * byte `p - 1` is `\n`) and reads past `end` to the end of the line that straddles it, so every
   * line belongs to exactly one range. Items are the lines without `\n` / `\r\n`.
   *
   * How many lines a range holds is unknown until it is read, so: `offset` is always 0 (an item's
   * position in the whole input is unknown; a task error's `itemIndex` is the line's index within the
   * range, and its message names the range), and `count` is the range's length in bytes
   * (`end - start`), not a number of items.
   */
  | {
      readonly kind: 'bytes';
      readonly offset: 0;
      readonly count: number;
      readonly source: ObjectSource;
      readonly start: number;
      readonly end: number;
      /** The object's size when the job was planned: the last range reads up to it, never further. */
      readonly size: number;
    };

/** How a chunk's items are passed to the task. */
export type CallMode =
  /** `task(item)`; results are kept per item. */
  | 'map'
  /** `task(...item)`; results are kept per item. */
  | 'starmap'
  /** `task(item)`, then the chunk's results are folded left with the job's reducer into one partial. */
  | 'reduce';

/** A message on the work queue. Every body carries the protocol version `v`. */
export type WorkMessage =
  | {
      readonly v: 1;
      readonly type: 'chunk';
      readonly jobId: string;
      readonly index: number;
      readonly task: string;
      readonly mode: CallMode;
      /** The reducer task, for `mode: 'reduce'`. */
      readonly reducer?: string;
      readonly input: ChunkInput;
      /** Some items hold handles of primitives: the thread revives them before it calls the task. */
      readonly handles?: true;
      /** The chunk is the run of a `Process` of this name: it gets a thread of its own, named so. */
      readonly process?: string;
      /**
       * The job's {@link JobRecord.shards}, so that a host records the chunk without reading the
       * job. Absent: the store looks it up (one read of the job, then remembered).
       */
      readonly shards?: number;
      /** The job's {@link JobSpec.deadline} (epoch ms): when the chunk's record may expire. Absent: looked up, as `shards`. */
      readonly deadline?: number;
      /**
       * A backup attempt of a straggling chunk, sent again near the end of its job: whichever
       * attempt records first wins, the other is a duplicate (recorded at most once).
       */
      readonly backup?: true;
    }
  | {
      readonly v: 1;
      /** Fold the job's recorded chunk results into its final result and end the job. */
      readonly type: 'finalise';
      readonly jobId: string;
    };

/**
 * The event a worker Lambda is invoked with directly, asynchronously (the invoker fires it after
 * chunks were sent, so that many workers start at once instead of at the event source mapping's
 * pace): drain the work queue with the host's own receive loop until it stays empty or the
 * invocation's time runs out, then hand back what is unfinished. `jobId` names the job whose
 * chunks prompted it; the worker runs whatever the queue holds. Delivered at least once, like any
 * asynchronous invocation: a duplicate drains an empty queue and ends.
 */
export interface DrainEvent {
  readonly v: 1;
  readonly type: 'drain';
  /** The job whose chunks were just sent (the worker drains whatever the queue holds). */
  readonly jobId: string;
}

/** One delivery of a message. The same message can be delivered more than once. */
export interface Delivery {
  /** The body, not yet validated: the receiver must validate it (see `parseWorkMessage`). */
  readonly body: unknown;
  /** Stable across deliveries of the same message. */
  readonly messageId: string;
  /** Valid for this delivery only; a stale receipt is ignored by `ack` and `setVisibility`. */
  readonly receipt: string;
  /** 1 on the first delivery. */
  readonly receiveCount: number;
}

/** Options of {@link WorkQueue.receive}. */
export interface ReceiveOptions {
  /** At most this many messages (1–10). */
  readonly max: number;
  /** Long poll: wait up to this long for a first message. 0 returns at once. */
  readonly waitMs: number;
  /** Visibility timeout for the received messages; the queue's default when absent. */
  readonly visibilityMs?: number;
  /** Gives up the wait early. */
  readonly signal?: AbortSignal;
}

/**
 * A queue with SQS semantics: at-least-once delivery, a visibility timeout after each receive,
 * redelivery of messages that are not acknowledged in time, a receive count, and (when the queue
 * has a dead-letter queue) a move to it once a message would be received more than
 * `maxReceiveCount` times.
 */
export interface WorkQueue {
  /** The largest inline payload (`Data` bytes) a message may carry; larger payloads go by reference. */
  readonly maxPayloadBytes: number;
  /** Sends every message or throws; partial failures of batch APIs are retried inside. */
  send(messages: readonly WorkMessage[]): Promise<void>;
  /** Receives up to `max` visible messages, waiting up to `waitMs` for the first one. */
  receive(options: ReceiveOptions): Promise<Delivery[]>;
  /**
   * Deletes the delivered messages. A stale receipt (the message was delivered again since) never
   * throws; SQS documents that it is ignored, some implementations act on it. The engine is
   * correct either way: it acknowledges only after a chunk's result is recorded.
   */
  ack(receipts: readonly string[]): Promise<void>;
  /**
   * Changes the visibility timeout of delivered messages to `ms` from now; `0` makes them visible
   * again at once. A stale receipt never throws (its message is left as it is); changes an
   * implementation's batch API reports as failed for another reason are retried, and the call
   * throws only when some still fail. On SQS: one `ChangeMessageVisibilityBatch` per 10 receipts,
   * so a worker renews a whole batch's messages with one request.
   */
  setVisibility(receipts: readonly string[], ms: number): Promise<void>;
}

/** The lifecycle of a job. RUNNING → FOLDING → DONE, or → FAILED / CANCELLED from RUNNING or FOLDING. */
export type JobStatus = 'RUNNING' | 'FOLDING' | 'DONE' | 'FAILED' | 'CANCELLED';

/** What a job computes. */
export type JobKind = 'map' | 'starmap' | 'mapReduce';

/** Why a job failed. */
export interface JobError extends SerializedError {
  /**
   * `task` when a task threw, `retries` when a chunk exhausted its deliveries, `fanout` when the
   * invocations that send a range of its chunks failed for good, `expired`, `internal`.
   */
  readonly reason: 'task' | 'retries' | 'fanout' | 'expired' | 'internal';
  readonly attempts?: number;
  /** For `retries`: the last error noted for the chunk (a worker crash, for instance). */
  readonly cause?: SerializedError;
}

/** What a caller asks for when it creates a job. */
export interface JobSpec {
  readonly id: string;
  readonly kind: JobKind;
  readonly task: string;
  /** The reducer task of a `mapReduce` job. */
  readonly reducer?: string;
  /** The initial value of a `mapReduce` fold, encoded as a one-item list. */
  readonly initial?: Data;
  /** Number of chunks when known at creation; absent for an open job, which is sealed later. */
  readonly total?: number;
  /** Epoch ms after which a job that has not ended is failed as expired. */
  readonly deadline: number;
  /**
   * How to build any of the job's chunk messages without its caller (`engine/job-plan.ts`), so
   * that invocations other than the one that created the job can send its chunks. Opaque to the
   * store: kept as given and returned with the job.
   */
  readonly plan?: string;
}

/** A job as stored. */
export interface JobRecord extends JobSpec {
  readonly status: JobStatus;
  /**
   * Chunks recorded so far: exact in what `getJob` and `waitForChange` return; in a record that a
   * write returned (`createJob`, `seal`, `claimRun`, `failJob`, …) it may be lower (on DynamoDB,
   * the chunks of the shards already known complete).
   */
  readonly done: number;
  /** Total chunks once the job is sealed. */
  readonly total?: number;
  readonly error?: JobError;
  /** Final result of a `mapReduce` job (a one-item list). */
  readonly result?: Data;
  /** Current finaliser lease, while FOLDING. */
  readonly finaliser?: { readonly owner: string; readonly leaseUntil: number; readonly fence: number };
  /**
   * Increases with every change to the job (a chunk recorded included); used to wait for changes.
   * Compare versions of records read by `getJob` and `waitForChange`: a record a write returned
   * may carry a lower one, as it may a lower `done`.
   */
  readonly version: number;
  readonly createdAt: number;
  /** When the job ended (DONE, FAILED or CANCELLED), epoch ms; absent while it runs. */
  readonly endedAt?: number;
  /**
   * Partitions the job's chunk records and counters are spread over (1 for a small job), chosen
   * by the store at creation and fixed for the job's life; chunk messages carry it (`shards`).
   */
  readonly shards: number;
  /** Mean run time of the recorded chunks, in ms (from their {@link ChunkAttempt}s); absent until one is recorded with one. */
  readonly meanChunkMs?: number;
  /**
   * Deliveries of the recorded chunks beyond their first (each attempt's `attempt - 1`, summed in
   * the write that records it); absent while 0. Attempts that never recorded are not counted.
   */
  readonly retries?: number;
  /** Straggler backups sent for the job ({@link JobStore.countBackups}); absent while 0. */
  readonly backups?: number;
  /**
   * The caller released the job: its records expire (or are gone, in memory) and its id can never
   * be used again by accident (`createJob` returns the tombstone, `created: false`).
   */
  readonly released?: true;
}

/**
 * How one attempt at a chunk ran, stored with its result in the same write (for timelines and the
 * mean chunk duration that straggler detection compares against).
 */
export interface ChunkAttempt {
  /** The host that ran it (its finaliser-lease owner id). */
  readonly worker: string;
  /** The thread of that host's pool that ran it: its number in the pool (1, 2, …; a replaced thread gets the next). */
  readonly thread: number;
  /** When the chunk started on the thread, epoch ms. */
  readonly startedAt: number;
  /** How long it ran on the thread, in ms. */
  readonly ms: number;
  /** The delivery's receive count: 1 for the first delivery. */
  readonly attempt: number;
  /** The attempt was a straggler's backup. */
  readonly backup?: true;
}

/**
 * What a host knows of a job from a chunk message, so that recording the chunk needs no read of
 * the job: its {@link JobRecord.shards} and {@link JobSpec.deadline}.
 */
export interface JobRef {
  readonly shards: number;
  readonly deadline: number;
}

/** Options of {@link JobStore.listJobs}. */
export interface ListJobsOptions {
  /** At most this many jobs. */
  readonly limit: number;
  /** Only jobs created before this time (epoch ms, exclusive): the next page after a listing's last job. @default now */
  readonly before?: number;
  /** Only jobs created at or after this time (epoch ms). @default the store's retention ago */
  readonly since?: number;
}

/** A chunk's result, for {@link JobStore.completeChunks}. */
export interface ChunkResult {
  readonly index: number;
  readonly result: Data;
  /** How the attempt ran; stored with the result (and its `ms` summed into {@link JobRecord.meanChunkMs}). */
  readonly attempt?: ChunkAttempt;
}

/** Outcome of {@link JobStore.completeChunk}. */
export interface CompleteOutcome {
  /** True for the one delivery whose result was recorded; false for duplicates, a released job, one that does not exist. */
  readonly first: boolean;
  /**
   * The job's recorded chunks as far as this call read them; absent when it did not read them all
   * (on DynamoDB, a job of several shards: only the shards the call touched are read).
   */
  readonly done?: number;
  readonly total: number | undefined;
  readonly status: JobStatus;
  /**
   * This call found the job sealed, RUNNING or FOLDING, with every chunk recorded: claim the
   * finaliser (`claimFinaliser` decides who ends the job). Every call that records or re-records
   * (a duplicate, a redelivery) the last chunks of a job sees it, so that a host that died before
   * claiming is replaced by the next delivery.
   */
  readonly complete: boolean;
}

/** Outcome of {@link JobStore.seal}. */
export interface SealOutcome {
  readonly job: JobRecord;
  /** Every chunk was recorded before (or while) the job was sealed: no host will see it complete, so finalise it now. */
  readonly complete: boolean;
}

/** Outcome of {@link JobStore.claimRun}. */
export interface RunClaim {
  readonly claimed: boolean;
  /** The job as found (undefined when it does not exist). */
  readonly job: JobRecord | undefined;
  /** End of the run's lease (epoch ms) once anyone has claimed it. */
  readonly leaseUntil?: number;
}

/** Outcome of {@link JobStore.claimFinaliser}. */
export type ClaimOutcome =
  | { readonly claimed: true; readonly fence: number; readonly job: JobRecord }
  | { readonly claimed: false; readonly job: JobRecord | undefined };

/**
 * Job records and chunk results. Every method that changes a job is atomic where its guarantee
 * needs it: one conditional write or one transaction on DynamoDB, except recording and sealing,
 * which are a write followed by conditional marks that any later call repeats (docs/protocol.md
 * says why each step is safe to lose).
 */
export interface JobStore {
  /** The largest inline `Data` a chunk result or job result may carry; larger ones go by reference. */
  readonly maxInlineBytes: number;
  /** Creates the job unless one with the same id exists (then returns it and `created: false`). */
  createJob(spec: JobSpec): Promise<{ created: boolean; job: JobRecord }>;
  /**
   * Sets the total of an open job and says whether every chunk was already recorded (then nobody
   * else will find the job complete: the sealer finalises it). Sealing again with the same total
   * changes nothing and answers again (a retried seal whose sealer died finds out). Another total
   * throws a `ProtocolError`; a total below the chunks already recorded fails the job (it can never
   * complete right) and throws a `ProtocolError`.
   */
  seal(jobId: string, total: number): Promise<SealOutcome>;
  /**
   * Records a chunk's result at most once and counts it exactly once. A duplicate returns
   * `first: false` and changes nothing. A job that has ended stays ended: a late chunk's result may
   * be kept (until the job's records expire) but never changes its status. A released job, or one
   * that does not exist, records nothing.
   */
  completeChunk(jobId: string, index: number, result: Data): Promise<CompleteOutcome>;
  /**
   * {@link completeChunk} for several chunks of one job, with the same guarantee for each (an index
   * repeated in the call counts once), written together (on DynamoDB one transaction per ~99
   * chunks, with one counter update per shard touched), so that a job of many chunks has no hot
   * item. `job`, from the chunk messages, saves the store a read of the job. One outcome per entry,
   * in order.
   *
   * A chunk whose index is past the job's total, or recorded with another `job.shards` than the
   * job's (a corrupt message), fails the job with a `ProtocolError` (and throws one): a wrong
   * count must never complete a job.
   */
  completeChunks(jobId: string, entries: readonly ChunkResult[], job?: JobRef): Promise<CompleteOutcome[]>;
  /**
   * Claims the one run of chunk `index` for `owner` (a token unique to this attempt), with a lease
   * of `leaseMs`, while the job is RUNNING: `claimed: true` for the first claim, and for each
   * further claim by the same owner, which renews the lease (a running owner renews it; a request
   * retried after its response was lost gets its claim back). `claimed: false` once another owner
   * claimed it (even after its lease ran out: a run is never handed over), or when the job is not
   * RUNNING or does not exist. `leaseUntil` is the claimed run's lease end, whoever holds it. A
   * `Process` chunk is claimed before it runs, so that no redelivery or duplicate runs it again,
   * and a refused host tells a run in progress (live lease) from an interrupted one.
   */
  claimRun(jobId: string, index: number, owner: string, leaseMs: number): Promise<RunClaim>;
  /** RUNNING or FOLDING → FAILED with this error. Only the first failure is kept. */
  failJob(jobId: string, error: JobError): Promise<{ changed: boolean; job: JobRecord | undefined }>;
  /** RUNNING or FOLDING → CANCELLED. */
  cancelJob(jobId: string, reason: string): Promise<{ changed: boolean; job: JobRecord | undefined }>;
  /**
   * RUNNING, sealed and every chunk recorded → FOLDING with a lease for `owner`; or FOLDING with an
   * expired lease → taken over by `owner` with the fencing counter increased. Exactly one party
   * holds a valid lease at a time. A claim by the owner that already holds the lease returns it
   * (a request retried after its response was lost must not lock its own sender out).
   */
  claimFinaliser(jobId: string, owner: string, leaseMs: number): Promise<ClaimOutcome>;
  /** FOLDING under (`owner`, `fence`) → DONE with the result. False if the lease was lost. */
  finishJob(jobId: string, owner: string, fence: number, result?: Data): Promise<boolean>;
  /** Records the last error seen for a chunk delivery that did not complete (reported when retries run out). */
  noteChunkError(jobId: string, index: number, error: SerializedError): Promise<void>;
  /** The last error noted for a chunk, if any. */
  lastChunkError(jobId: string, index: number): Promise<SerializedError | undefined>;
  /**
   * Adds `sent` to the job's {@link JobRecord.backups} (straggler backups sent): one write per
   * backup request, never per chunk. A job that does not exist is left alone.
   */
  countBackups(jobId: string, sent: number): Promise<void>;
  /**
   * The job as stored. With `counts: false` the store may skip reading the job's counts (on
   * DynamoDB, its S shard counters: one read unit instead of 1 + S): `done`, `version` and
   * `meanChunkMs` are then as in a record a write returns. For a check of the job's status only.
   */
  getJob(jobId: string, options?: { readonly counts?: boolean }): Promise<JobRecord | undefined>;
  /**
   * Resolves with the job once its version exceeds `sinceVersion`, or after `timeoutMs` with its
   * current state. Only a store that learns of a change without polling implements it (the
   * in-memory store wakes its waiters from the write itself); a caller polls `getJob` on any other
   * (`engine/job-watch.ts` keeps the one polling schedule, across waits).
   */
  waitForChange?(jobId: string, sinceVersion: number, timeoutMs: number): Promise<JobRecord | undefined>;
  /** The recorded results of these chunks (absent indices are not recorded yet). */
  readResults(jobId: string, indices: readonly number[]): Promise<Map<number, Data>>;
  /** How the recorded attempts of these chunks ran (absent: not recorded, or recorded without one). */
  readAttempts(jobId: string, indices: readonly number[]): Promise<Map<number, ChunkAttempt>>;
  /**
   * Up to `max` indices of a sealed job's chunks that are not recorded yet, in ascending order (which
   * ones, when more are missing, is the store's choice). Empty for an open job, a job that does not
   * exist, and one whose chunks are all recorded. For stragglers: call it near the end of a job.
   */
  pendingChunks(jobId: string, max: number): Promise<number[]>;
  /**
   * Marks the job released, after its caller has read what it needed: a tombstone, not a sweep.
   * Its records go (in memory at once; on DynamoDB by TTL at its deadline plus the retention);
   * `getJob` returns it with `released: true` until then, and `createJob` with its id returns the
   * tombstone (`created: false`), so the id is never reused by accident. Waiters wake with it.
   * Idempotent; a job that does not exist is left alone.
   */
  releaseJob(jobId: string): Promise<void>;
  /**
   * The jobs the store still holds, newest first (by `createdAt`), as `getJob` reads them. Optional:
   * a store that cannot list (no index) leaves it out, and listing then fails with a typed error.
   * The cost is per job listed, never per chunk.
   */
  listJobs?(options: ListJobsOptions): Promise<JobRecord[]>;
}

/** A slice of a blob: the bytes `[start, end)`, `0 <= start < end`. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** Options of {@link BlobStore.put}. */
export interface PutOptions {
  /**
   * The caller hands the bytes over: it made them for this put and neither reads, changes nor
   * transfers them afterwards. A store that keeps blobs in memory may then keep them without a
   * copy (a 1 MB chunk of a local map was copied once more for nothing). @default false
   */
  readonly owned?: boolean;
}

/** Options of {@link BlobStore.get}. */
export interface GetOptions {
  /**
   * The caller only reads the bytes and lets go of them, never changing or transferring them: a
   * store that keeps blobs in memory may then lend its own bytes instead of a copy (a local map's
   * results were copied once more only to be read). @default false
   */
  readonly lend?: boolean;
}

/** Large payloads, stored by key (in S3 on AWS). */
export interface BlobStore {
  put(key: string, bytes: Uint8Array, options?: PutOptions): Promise<void>;
  /**
   * The bytes stored at `key`, or with `range` exactly its bytes `[start, end)`, never more (one
   * ranged read: a chunk's slice of a large input is read without the rest). Throws a
   * `ProtocolError` when there is no blob at `key` or it ends before `range.end`, and an
   * `InvalidArgumentError` for a range that is not `0 <= start < end` in safe integers.
   */
  get(key: string, range?: ByteRange, options?: GetOptions): Promise<Uint8Array>;
  /**
   * Deletes the blobs whose keys start with `prefix`: every one, or at most about `maxKeys` (a call
   * bounded in time, resumed by calling again). `more` is true while some may remain.
   */
  deletePrefix(prefix: string, options?: { readonly maxKeys?: number }): Promise<{ more: boolean }>;
}

/**
 * Read access to the objects a `lines()` job splits (users' own files or buckets, not the blob
 * store). Neither method ever loads more than the bytes asked for.
 */
export interface ObjectReader {
  /**
   * The object's size in bytes. Throws an `InvalidArgumentError` for a source this reader does not
   * read (a file on AWS, an S3 object locally) and a `ProtocolError` when the object does not exist.
   */
  size(source: ObjectSource): Promise<number>;
  /** Exactly the bytes `[start, end)` (`0 <= start <= end <= size`); a `ProtocolError` if fewer exist. */
  read(source: ObjectSource, start: number, end: number): Promise<Uint8Array>;
}

/**
 * A range of a job's chunks, `[from, to)`, whose messages a coordinator invocation is asked to
 * send (splitting it among further invocations when it is large): the nodes of the fan-out tree.
 * Idempotent: a retried or duplicated request resumes from its range's recorded progress.
 */
export interface FanoutRequest {
  readonly v: 1;
  readonly type: 'fanout';
  readonly jobId: string;
  /** First chunk index of the range. */
  readonly from: number;
  /** One past the last chunk index of the range (`from < to <= total`). */
  readonly to: number;
  /** Fire one drain worker per this many chunks sent; absent: fire none. */
  readonly perWorker?: number;
}

/** The requests the engine hands to a coordinator invocation of its own, asynchronously. */
export type InvokedRequest =
  | FanoutRequest
  /** The caller has its results: let the job's items and blobs go, in the background. */
  | { readonly v: 1; readonly type: 'release'; readonly jobId: string };

/**
 * Asynchronous invocations: of the coordinator (a fan-out tree's further nodes, a continuation, a
 * background release) and of workers (drain the work queue at once instead of waiting for the
 * event source mapping to scale up). At least once: an invocation may run more than once, and
 * every request it carries is idempotent. A promise resolves once the invocation is accepted (on
 * AWS: queued by Lambda), never when it has run. An invocation that fails for good is handed to
 * the failure path (on AWS: the coordinator's on-failure destination, the dead-letter queue).
 */
export interface Invoker {
  /** Fires one asynchronous invocation of the coordinator with `request`. */
  coordinator(request: InvokedRequest): Promise<void>;
  /** Fires `n` asynchronous invocations of the worker with `event` (0 fires none). */
  workers(n: number, event: DrainEvent): Promise<void>;
}

/**
 * The progress of the fan-out tree's leaves: for the range of a job's chunks starting at `from`,
 * the first index not yet sent. One small item per leaf (DynamoDB: `FAN#<from>` under the job's
 * partition key), written once per group of chunks sent, so that a retried or duplicated leaf
 * resumes instead of sending its range again.
 */
export interface FanoutLedger {
  /** The recorded progress of the range starting at `from`; undefined before any. */
  progress(jobId: string, from: number): Promise<number | undefined>;
  /** Records that every chunk before `next` was sent; never moves the progress back. */
  advance(jobId: string, from: number, next: number): Promise<void>;
}

/** The adapters the engine runs on. */
export interface Backend {
  readonly queue: WorkQueue;
  /** The dead-letter queue of `queue`. */
  readonly deadLetters: WorkQueue;
  readonly store: JobStore;
  readonly blobs: BlobStore;
  /** Reads the objects of `lines()` jobs; a backend without one fails such jobs. */
  readonly objects?: ObjectReader;
  /**
   * Asynchronous invocations of the coordinator and the workers. Without one, a coordinator sends
   * every chunk of a job itself, in the invocation that created it.
   */
  readonly invoker?: Invoker;
  /** The fan-out tree's progress; without one, a retried leaf sends its whole range again. */
  readonly fanout?: FanoutLedger;
}
