/**
 * fanfold's one error tree. Every error has a stable `code`; tests and callers should branch on
 * the class or the code, never on the message text (see {@link FanfoldError}'s example).
 */

/** Stable error codes, one per error class. */
export const ErrorCodes = {
  /** Thrown as {@link InvalidArgumentError}. */
  INVALID_ARGUMENT: 'ERR_FANFOLD_INVALID_ARGUMENT',
  /** Thrown as {@link UnknownTaskError}. */
  UNKNOWN_TASK: 'ERR_FANFOLD_UNKNOWN_TASK',
  /** Thrown as {@link TaskError}. */
  TASK_FAILED: 'ERR_FANFOLD_TASK_FAILED',
  /** Thrown as {@link RetriesExhaustedError}. */
  RETRIES_EXHAUSTED: 'ERR_FANFOLD_RETRIES_EXHAUSTED',
  /** The invocations that send a range of a job's chunks failed for good: the job was failed. */
  FANOUT_FAILED: 'ERR_FANFOLD_FANOUT_FAILED',
  /** Thrown as {@link WorkerCrashedError}. */
  WORKER_CRASHED: 'ERR_FANFOLD_WORKER_CRASHED',
  /** Thrown as {@link PoolNotRunningError}. */
  POOL_NOT_RUNNING: 'ERR_FANFOLD_POOL_NOT_RUNNING',
  /** Thrown as {@link PoolStillRunningError}. */
  POOL_STILL_RUNNING: 'ERR_FANFOLD_POOL_STILL_RUNNING',
  /** Thrown as {@link NotSerializableError}. */
  NOT_SERIALIZABLE: 'ERR_FANFOLD_NOT_SERIALIZABLE',
  /** Thrown as {@link TimeoutError}. */
  TIMEOUT: 'ERR_FANFOLD_TIMEOUT',
  /** Thrown as {@link JobCancelledError}. */
  JOB_CANCELLED: 'ERR_FANFOLD_JOB_CANCELLED',
  /** Thrown as {@link JobExpiredError}. */
  JOB_EXPIRED: 'ERR_FANFOLD_JOB_EXPIRED',
  /** The job was released by its caller: its results are gone and its id cannot be used again. */
  JOB_RELEASED: 'ERR_FANFOLD_JOB_RELEASED',
  /** Thrown as {@link ProtocolError}. */
  PROTOCOL: 'ERR_FANFOLD_PROTOCOL',
  /** Thrown as {@link TasksModuleError}. */
  TASKS_MODULE: 'ERR_FANFOLD_TASKS_MODULE',
  /** Thrown as {@link NotReadyError}. */
  NOT_READY: 'ERR_FANFOLD_NOT_READY',
  /** Thrown as {@link PayloadTooLargeError}. */
  PAYLOAD_TOO_LARGE: 'ERR_FANFOLD_PAYLOAD_TOO_LARGE',
  /** An AWS batch call (`SendMessageBatch`, `BatchWriteItem`…) still failed for some entries after its retries. */
  AWS_BATCH_FAILED: 'ERR_FANFOLD_AWS_BATCH_FAILED',
  /** Thrown as {@link Empty}. */
  EMPTY: 'ERR_FANFOLD_EMPTY',
  /** Thrown as {@link Full}. */
  FULL: 'ERR_FANFOLD_FULL',
  /** Thrown as {@link BrokenBarrierError}. */
  BROKEN_BARRIER: 'ERR_FANFOLD_BROKEN_BARRIER',
  /** Thrown as {@link OverReleaseError}. */
  OVER_RELEASE: 'ERR_FANFOLD_OVER_RELEASE',
  /** Thrown as {@link NotOwnerError}. */
  NOT_OWNER: 'ERR_FANFOLD_NOT_OWNER',
  /** Thrown as {@link LeaseLostError}. */
  LEASE_LOST: 'ERR_FANFOLD_LEASE_LOST',
  /** Thrown as {@link ClosedError}. */
  CLOSED: 'ERR_FANFOLD_CLOSED',
  /** A `Process` stopped mid-run (its worker crashed or hit its timeout); a process is never run again. */
  PROCESS_INTERRUPTED: 'ERR_FANFOLD_PROCESS_INTERRUPTED',
  /** A submit named an existing job with another request (another input, task or options): refused. */
  JOB_CONFLICT: 'ERR_FANFOLD_JOB_CONFLICT',
  /** The coordinator function crashed (or timed out) on every attempt of a request. */
  COORDINATOR_FAILED: 'ERR_FANFOLD_COORDINATOR_FAILED',
  /** An AWS call failed (a missing region or credentials, a refused connection, access denied, throttling after retries). */
  AWS_FAILED: 'ERR_FANFOLD_AWS_FAILED',
  /** A package that the feature in use needs is not installed (the AWS SDK clients, optional peers). */
  MISSING_DEPENDENCY: 'ERR_FANFOLD_MISSING_DEPENDENCY',
  /** A chunk still ran when its worker neared its time limit: its message was handed back unfinished. */
  CHUNK_TIME_LIMIT: 'ERR_FANFOLD_CHUNK_TIME_LIMIT',
  /** No job with this id exists (never created, or released and gone). */
  JOB_NOT_FOUND: 'ERR_FANFOLD_JOB_NOT_FOUND',
  /** A job was attached to as a job of another task, reducer or kind than it is. */
  JOB_MISMATCH: 'ERR_FANFOLD_JOB_MISMATCH',
  /** The backend in use cannot do what was asked (listing jobs with a store that has no index). */
  UNSUPPORTED: 'ERR_FANFOLD_UNSUPPORTED',
  /** CloudFormation has no stack of the name given (`aws({ stack })`, `awsJobs`, the CLI's `--stack`). */
  STACK_NOT_FOUND: 'ERR_FANFOLD_STACK_NOT_FOUND',
  /** The deployed stack's tasks module is not the caller's: redeploy it (or pass `allowTasksMismatch`). */
  TASKS_MISMATCH: 'ERR_FANFOLD_TASKS_MISMATCH',
} as const;

/** One of {@link ErrorCodes}. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/**
 * Base class of every error fanfold throws. Branch on the class or on `code`, never on the message.
 *
 * @example
 * ```ts
 * import { FanfoldError, local, TaskError } from 'fanfold';
 * import tasks from './tasks.js';
 *
 * await using pool = local({ tasks }).Pool();
 * try {
 *   await pool.map('parse', ['{"ok": 1}', 'not json']);
 * } catch (e) {
 *   if (e instanceof TaskError) console.error(e.remoteName, e.itemIndex, e.remoteStack); // SyntaxError 1 …
 *   else if (e instanceof FanfoldError) console.error(e.code);
 *   else throw e;
 * }
 * ```
 */
export class FanfoldError extends Error {
  /** Stable, machine-readable code. */
  readonly code: ErrorCode;
  /**
   * @param code - The stable code of the subclass.
   * @param message - What went wrong, for people.
   * @param options - `cause`: the error this one wraps.
   */
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
  /**
   * @param message - Names the option, what is allowed and what was received.
   * @param details - The option at fault, and the error that caused the refusal.
   */
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
  /** The task name that was asked for. */
  readonly task: string;
  /**
   * @param task - The name asked for.
   * @param known - The names the tasks module defines.
   */
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
  /** The error class's name (`RangeError`). */
  name: string;
  /** The error's message. */
  message: string;
  /** The stack where it was thrown, source-mapped to the task's files. */
  stack?: string;
  /** The error's `code`, when it had one. */
  code?: string;
  /** Index of the chunk whose task threw. */
  chunkIndex?: number;
  /** Index, within the whole job's input, of the item whose task threw. */
  itemIndex?: number;
  /**
   * In a chunk's error note: the delivery of the chunk (1 for the first) whose end it describes,
   * so that a later delivery that ended without a note (its worker's container was killed) is told
   * apart from the one noted.
   */
  attempt?: number;
  /** For a `NotSerializableError` that refused a class instance: its class (see {@link remoteFailure}). */
  className?: string;
}

/** A task threw. Carries the remote error's name, message and stack. */
export class TaskError extends FanfoldError {
  /** The job whose task threw, when known. */
  readonly jobId: string | undefined;
  /** Index of the chunk whose task threw. */
  readonly chunkIndex: number | undefined;
  /** Index, within the whole job's input, of the item whose task threw. */
  readonly itemIndex: number | undefined;
  /** The name of the error class thrown inside the task (e.g. `RangeError`). */
  readonly remoteName: string;
  /** The stack of the error as it was thrown inside the worker. */
  readonly remoteStack: string | undefined;
  /** The `code` of the error thrown inside the task, when it had one. */
  readonly remoteCode: string | undefined;
  /**
   * @param remote - The error as it crossed from the worker.
   * @param jobId - The job it belongs to.
   */
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
  /** The job the chunk belongs to. */
  readonly jobId: string;
  /** The chunk that kept failing; `undefined` when it was the job's finalisation. */
  readonly chunkIndex: number | undefined;
  /** How many times the chunk was delivered. */
  readonly attempts: number;
  /** The last error recorded for the chunk, if any. */
  readonly lastError: SerializedError | undefined;
  /**
   * @param jobId - The job.
   * @param chunkIndex - The chunk, or `undefined` for the finalisation.
   * @param attempts - Deliveries made.
   * @param lastError - The last error recorded.
   */
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
  /** The job that was failed. */
  readonly jobId: string;
  /** Attempts made of the failing invocation. */
  readonly attempts: number;
  /** The last attempt's error, when it is known. */
  readonly lastError: SerializedError | undefined;
  /**
   * @param jobId - The job that was failed.
   * @param message - Which range of chunks was not sent, and why.
   * @param attempts - Attempts made of the failing invocation.
   * @param lastError - The last attempt's error, when it is known.
   */
  constructor(jobId: string, message: string, attempts: number, lastError?: SerializedError) {
    super(ErrorCodes.FANOUT_FAILED, message);
    this.jobId = jobId;
    this.attempts = attempts;
    this.lastError = lastError;
  }
}

/** A worker thread (or process) died while running a chunk. The chunk is redelivered. */
export class WorkerCrashedError extends FanfoldError {
  /** The thread's or process's exit code, when it exited. */
  readonly exitCode: number | undefined;
  /**
   * @param message - What died, and while doing what.
   * @param exitCode - Its exit code.
   * @param cause - The error it died of, if known.
   */
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
  /** The job whose chunk ran out of time. */
  readonly jobId: string;
  /** The chunk that was handed back unfinished. */
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
  /** The pool's state: `closed` or `terminated`. */
  readonly state: string;
  /**
   * @param state - The pool's state.
   * @param method - The method that was called.
   */
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
  /**
   * @param what - What could not be serialised (`map() item`).
   * @param position - Its position.
   * @param cause - The serialiser's error.
   * @param className - The class of a refused instance.
   */
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
  /** @param message - What was waited for, and how long. */
  constructor(message: string) {
    super(ErrorCodes.TIMEOUT, message);
  }
}

/** The job was cancelled (terminate, abort signal, or an early `break` from `imap`). */
export class JobCancelledError extends FanfoldError {
  /** The cancelled job. */
  readonly jobId: string;
  /**
   * @param jobId - The job.
   * @param reason - Why it was cancelled.
   */
  constructor(jobId: string, reason?: string) {
    super(ErrorCodes.JOB_CANCELLED, `Job ${jobId} was cancelled${reason ? `: ${reason}` : ''}`);
    this.jobId = jobId;
  }
}

/** No job with this id exists: it was never created here, or it was released and is gone. */
export class JobNotFoundError extends FanfoldError {
  /** The job concerned. */
  readonly jobId: string;
  constructor(jobId: string) {
    super(
      ErrorCodes.JOB_NOT_FOUND,
      `No job with id ${JSON.stringify(jobId)} (it may have ended and been released)`,
    );
    this.jobId = jobId;
  }
}

/**
 * A job was attached to as the job of a task (or reducer) it is not: `pool.attach(id, { task })`
 * promises results of that task's type, so a job of another task is refused rather than mistyped.
 */
export class JobMismatchError extends FanfoldError {
  /** The job concerned. */
  readonly jobId: string;
  constructor(jobId: string, expected: string, found: string) {
    super(ErrorCodes.JOB_MISMATCH, `Job ${jobId} is ${found}, not ${expected}`);
    this.jobId = jobId;
  }
}

/** The backend in use cannot do what was asked: `feature` names it, `why` says what is missing. */
export class UnsupportedError extends FanfoldError {
  constructor(feature: string, why: string) {
    super(ErrorCodes.UNSUPPORTED, `${feature} is not supported here: ${why}`);
  }
}

/** CloudFormation has no stack of this name in the region asked: deploy it, or name the resources. */
export class StackNotFoundError extends FanfoldError {
  /** The stack's name. */
  readonly stackName: string;
  constructor(stack: string, detail: string) {
    super(
      ErrorCodes.STACK_NOT_FOUND,
      `options.stack: CloudFormation has no stack "${stack}" here (${detail}); deploy it, or pass options.resources`,
    );
    this.stackName = stack;
  }
}

/**
 * The stack was deployed with another tasks module than the caller's (the fingerprints of the two
 * bundles differ): its Lambdas would run the deployed code, not the caller's. Redeploy the stack
 * with this tasks module, or pass `aws({ allowTasksMismatch: true })` to run the deployed tasks on
 * purpose.
 */
export class TasksMismatchError extends FanfoldError {
  /** The stack (or `resources`) whose deployment differs. */
  readonly stackName: string;
  /** The fingerprint the stack was deployed with. */
  readonly deployed: string;
  /** The fingerprint of the caller's tasks module. */
  readonly local: string;
  /** The caller's tasks module, as a file URL. */
  readonly module: string;
  constructor(stack: string, module: string, deployed: string, local: string) {
    super(
      ErrorCodes.TASKS_MISMATCH,
      `The tasks module ${module} (fingerprint ${local}) is not the one stack "${stack}" was deployed with ` +
        `(${deployed}): its Lambdas would run the deployed code. Redeploy the stack (cdk deploy, or ` +
        'fanfold deploy --tasks FILE), or pass allowTasksMismatch: true to aws() to run the deployed tasks anyway',
    );
    this.stackName = stack;
    this.deployed = deployed;
    this.local = local;
    this.module = module;
  }
}

/** The job passed its deadline before it ended. */
export class JobExpiredError extends FanfoldError {
  /** The expired job. */
  readonly jobId: string;
  /** @param jobId - The job. */
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
  /** The released job. */
  readonly jobId: string;
  /** @param jobId - The released job. */
  constructor(jobId: string) {
    super(
      ErrorCodes.JOB_RELEASED,
      `Job ${jobId} was released: its results are gone and its id cannot be used for another job`,
    );
    this.jobId = jobId;
  }
}

/**
 * A submit under an existing job's id carried another request (another input, task, kind or
 * options that change the results): refused, the existing job untouched. A retried submit of the
 * same request is not an error (it is idempotent); pick a new job id for new work.
 */
export class JobConflictError extends FanfoldError {
  /** The job concerned. */
  readonly jobId: string;
  constructor(jobId: string) {
    super(
      ErrorCodes.JOB_CONFLICT,
      `Job ${jobId} exists with another request (input, task or options); a job id names one request: pick a new id for new work`,
    );
    this.jobId = jobId;
  }
}

/**
 * The coordinator function failed (crashed, timed out, or threw because an AWS call kept failing)
 * on every attempt of a request. Every coordinator request is idempotent, so the caller tried it
 * `attempts` times; the last attempt's error (its Lambda `errorType` as the name) is the `cause`.
 */
export class CoordinatorFailedError extends FanfoldError {
  /** The job concerned. */
  readonly jobId: string;
  /** The request's type (`submit`, `append`, `seal`…). */
  readonly request: string;
  /** How many times the coordinator was invoked. */
  readonly attempts: number;
  constructor(jobId: string, request: string, attempts: number, cause: Error) {
    super(
      ErrorCodes.COORDINATOR_FAILED,
      `The coordinator failed the ${request} request of job ${jobId} on ${attempts} attempt${attempts === 1 ? '' : 's'}: ${cause.message}`,
      { cause },
    );
    this.jobId = jobId;
    this.request = request;
    this.attempts = attempts;
  }
}

/**
 * An AWS call failed where fanfold could not go on: a missing region or credentials, a refused
 * connection, access denied, throttling that outlasted the SDK's retries. The message says what
 * fanfold was doing; the SDK's error is the `cause`, and its name is `awsName`.
 */
export class AwsError extends FanfoldError {
  /** What fanfold was doing, e.g. `reading job J from DynamoDB`. */
  readonly operation: string;
  /** The SDK error's name (`AccessDeniedException`, `Error` for a connection refused…). */
  readonly awsName: string;
  constructor(operation: string, cause: unknown) {
    const name = cause instanceof Error ? cause.name : typeof cause;
    const text =
      cause instanceof Error ? cause.message || (cause as { code?: string }).code || name : String(cause);
    super(ErrorCodes.AWS_FAILED, `AWS failed while ${operation}: ${name}: ${text}`, { cause });
    this.operation = operation;
    this.awsName = name;
  }
}

/** A message on a queue, thread port or function boundary did not match the protocol. */
export class ProtocolError extends FanfoldError {
  /** @param message - Which message, and what was wrong with it. */
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
  /** The payload's size in bytes. */
  readonly bytes: number;
  /** The limit it went over, in bytes. */
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
  /** The primitive whose lease was lost. */
  readonly primitive: string;
  /** The fencing counter of the lost lease. */
  readonly fence: number;
  /**
   * @param primitive - The primitive.
   * @param fence - The lease's fence.
   */
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
    if (e instanceof NotSerializableError && e.className !== undefined) out.className = e.className;
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

/**
 * The error a caller sees for a task's failure: a class instance the task returned (refused where
 * the result was encoded, `className` set) as the {@link NotSerializableError} it was, with its
 * message, position and class, and the {@link TaskError} as its cause (the remote stack); any
 * other failure as a `TaskError`.
 */
export function remoteFailure(remote: SerializedError, jobId?: string): TaskError | NotSerializableError {
  const task = new TaskError(remote, jobId);
  if (remote.code !== ErrorCodes.NOT_SERIALIZABLE || typeof remote.className !== 'string') return task;
  const e = new NotSerializableError('Task result', remote.itemIndex, task, remote.className);
  e.message = remote.message;
  return e;
}
