/**
 * fanfold's one error tree. Every error has a stable `code`; tests and callers should branch on
 * the class or the code, never on the message text.
 *
 * @example
 * ```ts
 * try { await pool.map('parse', lines); }
 * catch (e) { if (e instanceof TaskError) console.error(e.remoteStack, e.chunkIndex); }
 * ```
 */

/** Stable error codes, one per error class. */
export const ErrorCodes = {
  INVALID_ARGUMENT: 'ERR_FANFOLD_INVALID_ARGUMENT',
  UNKNOWN_TASK: 'ERR_FANFOLD_UNKNOWN_TASK',
  TASK_FAILED: 'ERR_FANFOLD_TASK_FAILED',
  RETRIES_EXHAUSTED: 'ERR_FANFOLD_RETRIES_EXHAUSTED',
  /** The invocations that send a range of a job's chunks failed for good: the job was failed. */
  FANOUT_FAILED: 'ERR_FANFOLD_FANOUT_FAILED',
  WORKER_CRASHED: 'ERR_FANFOLD_WORKER_CRASHED',
  POOL_NOT_RUNNING: 'ERR_FANFOLD_POOL_NOT_RUNNING',
  POOL_STILL_RUNNING: 'ERR_FANFOLD_POOL_STILL_RUNNING',
  NOT_SERIALIZABLE: 'ERR_FANFOLD_NOT_SERIALIZABLE',
  TIMEOUT: 'ERR_FANFOLD_TIMEOUT',
  JOB_CANCELLED: 'ERR_FANFOLD_JOB_CANCELLED',
  JOB_EXPIRED: 'ERR_FANFOLD_JOB_EXPIRED',
  /** The job was released by its caller: its results are gone and its id cannot be used again. */
  JOB_RELEASED: 'ERR_FANFOLD_JOB_RELEASED',
  PROTOCOL: 'ERR_FANFOLD_PROTOCOL',
  TASKS_MODULE: 'ERR_FANFOLD_TASKS_MODULE',
  NOT_READY: 'ERR_FANFOLD_NOT_READY',
  PAYLOAD_TOO_LARGE: 'ERR_FANFOLD_PAYLOAD_TOO_LARGE',
  AWS_BATCH_FAILED: 'ERR_FANFOLD_AWS_BATCH_FAILED',
  EMPTY: 'ERR_FANFOLD_EMPTY',
  FULL: 'ERR_FANFOLD_FULL',
  BROKEN_BARRIER: 'ERR_FANFOLD_BROKEN_BARRIER',
  OVER_RELEASE: 'ERR_FANFOLD_OVER_RELEASE',
  NOT_OWNER: 'ERR_FANFOLD_NOT_OWNER',
  LEASE_LOST: 'ERR_FANFOLD_LEASE_LOST',
  CLOSED: 'ERR_FANFOLD_CLOSED',
  /** A `Process` stopped mid-run (its worker crashed or hit its timeout); a process is never run again. */
  PROCESS_INTERRUPTED: 'ERR_FANFOLD_PROCESS_INTERRUPTED',
  /** A package that the feature in use needs is not installed (the AWS SDK clients, optional peers). */
  MISSING_DEPENDENCY: 'ERR_FANFOLD_MISSING_DEPENDENCY',
  /** A chunk still ran when its worker neared its time limit: its message was handed back unfinished. */
  CHUNK_TIME_LIMIT: 'ERR_FANFOLD_CHUNK_TIME_LIMIT',
} as const;

/** One of {@link ErrorCodes}. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Base class of every error fanfold throws. */
export class FanfoldError extends Error {
  /** Stable, machine-readable code. */
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A bad argument or option; raised before any thread starts or any AWS call is made. */
export class InvalidArgumentError extends FanfoldError {
  /** The option refused, where one option is at fault (e.g. `options.initializer`). */
  readonly option: string | undefined;
  constructor(message: string, details: { readonly option?: string; readonly cause?: unknown } = {}) {
    super(
      ErrorCodes.INVALID_ARGUMENT,
      message,
      details.cause === undefined ? undefined : { cause: details.cause },
    );
    this.option = details.option;
  }
}

/** A message named a task that the tasks module does not define. */
export class UnknownTaskError extends FanfoldError {
  readonly task: string;
  constructor(task: string, known: readonly string[]) {
    super(
      ErrorCodes.UNKNOWN_TASK,
      `Unknown task "${task}"; the tasks module defines: ${known.join(', ') || '(none)'}`,
    );
    this.task = task;
  }
}

/** The shape in which an error thrown by a task crosses a thread, queue or table. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  /** Index of the chunk whose task threw. */
  chunkIndex?: number;
  /** Index, within the whole job's input, of the item whose task threw. */
  itemIndex?: number;
}

/** A task threw. Carries the remote error's name, message and stack. */
export class TaskError extends FanfoldError {
  readonly jobId: string | undefined;
  readonly chunkIndex: number | undefined;
  readonly itemIndex: number | undefined;
  /** The name of the error class thrown inside the task (e.g. `RangeError`). */
  readonly remoteName: string;
  /** The stack of the error as it was thrown inside the worker. */
  readonly remoteStack: string | undefined;
  readonly remoteCode: string | undefined;
  constructor(remote: SerializedError, jobId?: string) {
    super(ErrorCodes.TASK_FAILED, `${remote.name}: ${remote.message}`);
    this.jobId = jobId;
    this.chunkIndex = remote.chunkIndex;
    this.itemIndex = remote.itemIndex;
    this.remoteName = remote.name;
    this.remoteStack = remote.stack;
    this.remoteCode = remote.code;
    if (remote.stack) this.stack = `${this.name}: ${this.message}\n    --- remote stack ---\n${remote.stack}`;
  }
}

/** A chunk was delivered `maxReceiveCount` times without being recorded: it went to the dead-letter queue. */
export class RetriesExhaustedError extends FanfoldError {
  readonly jobId: string;
  readonly chunkIndex: number | undefined;
  readonly attempts: number;
  readonly lastError: SerializedError | undefined;
  constructor(jobId: string, chunkIndex: number | undefined, attempts: number, lastError?: SerializedError) {
    super(
      ErrorCodes.RETRIES_EXHAUSTED,
      `Chunk ${chunkIndex ?? '(finalise)'} of job ${jobId} failed ${attempts} deliveries` +
        (lastError ? `; last error: ${lastError.name}: ${lastError.message}` : ''),
    );
    this.jobId = jobId;
    this.chunkIndex = chunkIndex;
    this.attempts = attempts;
    this.lastError = lastError;
  }
}

/**
 * The asynchronous invocations that send a range of a job's chunks (the fan-out tree's nodes)
 * failed on every attempt, or waited too long to run: some chunks were never sent, so the job was
 * failed rather than left waiting for them.
 */
export class FanoutFailedError extends FanfoldError {
  readonly jobId: string;
  /** Attempts made of the failing invocation. */
  readonly attempts: number;
  /** The last attempt's error, when it is known. */
  readonly lastError: SerializedError | undefined;
  constructor(jobId: string, message: string, attempts: number, lastError?: SerializedError) {
    super(ErrorCodes.FANOUT_FAILED, message);
    this.jobId = jobId;
    this.attempts = attempts;
    this.lastError = lastError;
  }
}

/** A worker thread (or process) died while running a chunk. The chunk is redelivered. */
export class WorkerCrashedError extends FanfoldError {
  readonly exitCode: number | undefined;
  constructor(message: string, exitCode?: number, cause?: unknown) {
    super(ErrorCodes.WORKER_CRASHED, message, { cause });
    this.exitCode = exitCode;
  }
}

/**
 * A chunk still ran when its worker neared its time limit (the worker Lambda's timeout, less a
 * margin), so the worker handed its message back to the queue unfinished. It is noted as the
 * chunk's last error: a chunk that runs past the limit on every delivery reaches the dead-letter
 * queue, and its job fails with a {@link RetriesExhaustedError} whose cause is this error.
 */
export class ChunkTimeLimitError extends FanfoldError {
  readonly jobId: string;
  readonly chunkIndex: number;
  /** The worker's time limit (its function timeout), when known. */
  readonly limitMs: number | undefined;
  constructor(jobId: string, chunkIndex: number, limitMs?: number) {
    const limit = limitMs === undefined ? '' : ` of ${Math.round(limitMs / 1000)} s`;
    super(
      ErrorCodes.CHUNK_TIME_LIMIT,
      `Chunk ${chunkIndex} of job ${jobId} ran past the worker's time limit${limit} and was handed ` +
        'back unfinished: use a smaller chunksize or a longer worker timeout (props.worker.timeout, up to 15 minutes)',
    );
    this.jobId = jobId;
    this.chunkIndex = chunkIndex;
    this.limitMs = limitMs;
  }
}

/** A call was made on a pool after `close()` or `terminate()`. */
export class PoolNotRunningError extends FanfoldError {
  readonly state: string;
  constructor(state: string, method: string) {
    super(ErrorCodes.POOL_NOT_RUNNING, `Pool is ${state}: ${method}() is not allowed`);
    this.state = state;
  }
}

/** `join()` was called on a pool that was neither closed nor terminated (CPython raises ValueError). */
export class PoolStillRunningError extends FanfoldError {
  constructor() {
    super(ErrorCodes.POOL_STILL_RUNNING, 'Pool is still running: call close() or terminate() before join()');
  }
}

/** A value that cannot be serialised (a function, a symbol, a class instance with private state…). */
export class NotSerializableError extends FanfoldError {
  /** Position of the offending item in the input (or argument position for `apply`). */
  readonly position: number | undefined;
  /** The class of an instance that was refused (it would arrive without its methods). */
  readonly className: string | undefined;
  constructor(what: string, position: number | undefined, cause?: unknown, className?: string) {
    super(
      ErrorCodes.NOT_SERIALIZABLE,
      `${what}${position === undefined ? '' : ` at position ${position}`} cannot be serialised` +
        (cause instanceof Error ? `: ${cause.message}` : ''),
      { cause },
    );
    this.position = position;
    this.className = className;
  }
}

/** A wait with a timeout ran out (CPython: `multiprocessing.TimeoutError`). */
export class TimeoutError extends FanfoldError {
  constructor(message: string) {
    super(ErrorCodes.TIMEOUT, message);
  }
}

/** The job was cancelled (terminate, abort signal, or an early `break` from `imap`). */
export class JobCancelledError extends FanfoldError {
  readonly jobId: string;
  constructor(jobId: string, reason?: string) {
    super(ErrorCodes.JOB_CANCELLED, `Job ${jobId} was cancelled${reason ? `: ${reason}` : ''}`);
    this.jobId = jobId;
  }
}

/** The job passed its deadline before it ended. */
export class JobExpiredError extends FanfoldError {
  readonly jobId: string;
  constructor(jobId: string) {
    super(ErrorCodes.JOB_EXPIRED, `Job ${jobId} passed its deadline before it ended`);
    this.jobId = jobId;
  }
}

/**
 * The job was released by its caller after it ended: `attach` cannot read it any more, and a new
 * job cannot take its id (ids are never reused, so a late message of the old job cannot be taken
 * for the new one's).
 */
export class JobReleasedError extends FanfoldError {
  readonly jobId: string;
  constructor(jobId: string) {
    super(
      ErrorCodes.JOB_RELEASED,
      `Job ${jobId} was released: its results are gone and its id cannot be used for another job`,
    );
    this.jobId = jobId;
  }
}

/** A message on a queue, thread port or function boundary did not match the protocol. */
export class ProtocolError extends FanfoldError {
  constructor(message: string) {
    super(ErrorCodes.PROTOCOL, message);
  }
}

/** The tasks module could not be bundled or loaded. */
export class TasksModuleError extends FanfoldError {
  constructor(message: string, cause?: unknown) {
    super(ErrorCodes.TASKS_MODULE, message, { cause });
  }
}

/**
 * A package that the feature in use needs is not installed. The AWS SDK clients are optional peer
 * dependencies: a program that only uses `local()` never loads them, so npm need not install them;
 * `aws()` and the `Fanfold` construct's bundling do need them.
 */
export class MissingDependencyError extends FanfoldError {
  /** The packages to install, all of them (one install command fixes the error). */
  readonly packages: readonly string[];
  /** The package that could not be found, when the loader named it. */
  readonly missing: string | undefined;
  constructor(feature: string, packages: readonly string[], missing?: string, options?: { cause?: unknown }) {
    super(
      ErrorCodes.MISSING_DEPENDENCY,
      `${feature} needs ${packages.join(', ')} (optional peer dependencies of fanfold), and ` +
        `${missing ?? 'one of them'} is not installed: npm install ${packages.join(' ')}`,
      options,
    );
    this.packages = packages;
    this.missing = missing;
  }
}

/** `AsyncResult.successful()` was called before the result was ready (CPython raises ValueError). */
export class NotReadyError extends FanfoldError {
  constructor() {
    super(ErrorCodes.NOT_READY, 'The result is not ready yet');
  }
}

/** A message, item or blob over a backend's size limit (SQS 1 MiB, DynamoDB 400 KB…) was passed inline. */
export class PayloadTooLargeError extends FanfoldError {
  readonly bytes: number;
  readonly limit: number;
  constructor(what: string, bytes: number, limit: number) {
    super(ErrorCodes.PAYLOAD_TOO_LARGE, `${what} is ${bytes} bytes, over the limit of ${limit} bytes`);
    this.bytes = bytes;
    this.limit = limit;
  }
}

/** `Queue.get` found the queue empty (non-blocking, or the timeout ran out). CPython: `queue.Empty`. */
export class Empty extends FanfoldError {
  constructor(message = 'The queue is empty') {
    super(ErrorCodes.EMPTY, message);
  }
}

/** `Queue.put` found the queue full (non-blocking, or the timeout ran out). CPython: `queue.Full`. */
export class Full extends FanfoldError {
  constructor(message = 'The queue is full') {
    super(ErrorCodes.FULL, message);
  }
}

/** A `Barrier` was aborted, reset while waited on, or a wait timed out. CPython: `threading.BrokenBarrierError`. */
export class BrokenBarrierError extends FanfoldError {
  constructor(message = 'The barrier is broken') {
    super(ErrorCodes.BROKEN_BARRIER, message);
  }
}

/**
 * Released more often than acquired: an unlocked `Lock`, a `BoundedSemaphore` past its initial value,
 * `JoinableQueue.taskDone()` with no unfinished task. CPython raises `ValueError`.
 */
export class OverReleaseError extends FanfoldError {
  constructor(message: string) {
    super(ErrorCodes.OVER_RELEASE, message);
  }
}

/** An `RLock` (or a `Condition` operation) was used by a party that does not hold the lock. CPython: `AssertionError`/`RuntimeError`. */
export class NotOwnerError extends FanfoldError {
  constructor(message: string) {
    super(ErrorCodes.NOT_OWNER, message);
  }
}

/**
 * A holder whose lease ran out and was taken over by another party tried to release the lock or to
 * write under it (cloud context). The write was refused: a stale holder never frees or overwrites
 * under the new holder's lock.
 */
export class LeaseLostError extends FanfoldError {
  readonly primitive: string;
  readonly fence: number;
  constructor(primitive: string, fence: number) {
    super(
      ErrorCodes.LEASE_LOST,
      `The lease on ${primitive} (fence ${fence}) expired and was taken over; the operation was refused`,
    );
    this.primitive = primitive;
    this.fence = fence;
  }
}

/** An operation on a closed `Queue` or `Connection`, or `recv()` on a pipe whose other end closed with nothing left (CPython: `ValueError`/`EOFError`/`OSError`). */
export class ClosedError extends FanfoldError {
  constructor(message: string) {
    super(ErrorCodes.CLOSED, message);
  }
}

/** Turns anything thrown into the {@link SerializedError} shape. */
export function serializeError(e: unknown): SerializedError {
  if (e instanceof Error) {
    const out: SerializedError = { name: e.name, message: e.message };
    if (e.stack !== undefined) out.stack = e.stack;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') out.code = code;
    return out;
  }
  return { name: 'NonError', message: safeString(e) };
}

function safeString(v: unknown): string {
  try {
    return typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v));
  } catch {
    return String(v);
  }
}
