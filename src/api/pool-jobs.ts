/**
 * What a pool offers around a job's id: the iterator that names its job, and the options of
 * `attach`, checked as every option is (the option named, what it allows, what it got).
 */
import type { AttachOptions as ClientAttach, Progress } from '../engine/client.js';
import { InvalidArgumentError } from '../errors.js';
import { options as checkOptions, optionalFunction, received, taskName } from '../validate.js';

/**
 * What `imap` and `imapUnordered` return: an async generator of the results that names its job at
 * once, before the first result (and before the job is submitted: it is submitted on the first
 * `next()`).
 *
 * @example
 * ```ts
 * import { local, range } from 'fanfold';
 * import tasks from './tasks.js';
 *
 * await using pool = local({ tasks }).Pool();
 * const it = pool.imapUnordered('square', range(100));
 * console.log('job', it.jobId);
 * for await (const sq of it) console.log(sq);
 * ```
 */
export interface JobIterator<R> extends AsyncGenerator<R, void, undefined> {
  /** The job's id: for `pool.inspect`, `pool.cancel`, `pool.attach` or `fanfold status`. */
  readonly jobId: string;
}

/** Options of {@link Pool.attach}. */
export interface AttachOptions {
  /** Called as chunks complete, with done/total chunks. */
  readonly onProgress?: (progress: Progress) => void;
  /**
   * Release the job once its results are read (its records and payloads go). Pass false to read
   * a job that its submitter, or another reader, will still read. @default true
   */
  readonly release?: boolean;
}

const ATTACH_KEYS = ['onProgress', 'task', 'reducer', 'release'];

/** What `Pool.attach`'s overloads accept, as the implementation reads it. @internal */
export type TypedAttach = AttachOptions & { readonly task?: string; readonly reducer?: string };

/** Checks `attach`'s options against the tasks module's names; the job client's options. @internal */
export function attachOptions(options: unknown, taskNames: readonly string[]): ClientAttach {
  const o = checkOptions<TypedAttach>(options, 'options', ATTACH_KEYS);
  const onProgress = optionalFunction<(p: Progress) => void>(o.onProgress, 'options.onProgress');
  const task = o.task === undefined ? undefined : taskName(o.task, 'options.task', taskNames);
  if (o.reducer !== undefined && task === undefined)
    throw new InvalidArgumentError('options.reducer was given without options.task');
  const reducer = o.reducer === undefined ? undefined : taskName(o.reducer, 'options.reducer', taskNames);
  if (o.release !== undefined && typeof o.release !== 'boolean')
    throw new InvalidArgumentError(`Expected options.release to be a boolean, got ${received(o.release)}`);
  return { onProgress, release: o.release, expect: task === undefined ? undefined : { task, reducer } };
}

/** A job id as the pool's by-id calls take it. @internal */
export function checkJobId(jobId: unknown): string {
  if (typeof jobId !== 'string' || jobId.length === 0 || jobId.length > 128)
    throw new InvalidArgumentError(
      `Expected jobId to be a job id (1 to 128 characters), got ${received(jobId)}`,
    );
  return jobId;
}
