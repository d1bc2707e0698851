/**
 * How a pool lets an observer of its progress read its jobs: `fanfold run --dashboard` marks the
 * `onProgress` it hands a job ({@link JobContext}) with {@link OBSERVE}; a pool given such a
 * callback hands the mark a {@link PoolJobReader} (its `inspect` and `timeline`) and reports to
 * the callback the mark returns. The job's code passes `ctx.onProgress` as it always did.
 *
 * The mark is a registered symbol, not a private one: the CLI and the bundled job module each
 * carry their own copy of fanfold, and the mark must be recognised across the two.
 */
import type { JobClient, Progress } from '../engine/client.js';
import { JobNotFoundError } from '../errors.js';
import { readTimeline, type Timeline } from '../views/timeline.js';
import { type JobInfo, toJobInfo } from './job-info.js';

/** The mark of an observing `onProgress`; its value is an {@link ObserveHook}. */
export const OBSERVE: unique symbol = Symbol.for('fanfold.observe') as never;

/**
 * The read-only view of a pool's jobs an observer gets. It reads the pool's store directly, so it
 * still answers once the pool was terminated where the store outlives it (the local context's
 * memory: the dashboard then shows a job's final state).
 */
export interface PoolJobReader {
  /** The job as `pool.inspect` returns it; rejects with `JobNotFoundError` for an unknown id. */
  inspect(jobId: string): Promise<JobInfo>;
  /** The job's timeline data as `pool.timeline(jobId).data`; rejects with `JobNotFoundError`. */
  timeline(jobId: string): Promise<Timeline>;
}

/** Given a pool's reader, returns the progress callback that pool's calls report to. */
export type ObserveHook = (reader: PoolJobReader) => (p: Progress) => void;

/** An `onProgress` carrying the mark. */
export type ObservingProgress = ((p: Progress) => void) & { readonly [OBSERVE]: ObserveHook };

/**
 * Marks `onProgress`: pools it is given report through `hook(reader)` instead, `reader` being the
 * pool's {@link PoolJobReader}. The result is a new function; `onProgress` is not changed.
 *
 * @example
 * ```ts
 * const seen = new Map<string, PoolJobReader>();
 * const onProgress = observing(bar.update, (reader) => (p) => {
 *   seen.set(p.jobId, reader);
 *   bar.update(p);
 * });
 * ```
 */
export function observing(onProgress: (p: Progress) => void, hook: ObserveHook): ObservingProgress {
  const marked = (p: Progress) => onProgress(p);
  return Object.assign(marked, { [OBSERVE]: hook }) as ObservingProgress;
}

/**
 * The callback a pool call reports to: `onProgress` itself, or, when it carries the mark, what the
 * mark returns for `reader()` (asked for only then). @internal
 */
export function observedProgress(
  onProgress: ((p: Progress) => void) | undefined,
  reader: () => PoolJobReader,
): ((p: Progress) => void) | undefined {
  const hook = (onProgress as Partial<ObservingProgress> | undefined)?.[OBSERVE];
  return typeof hook === 'function' ? hook(reader()) : onProgress;
}

/** A {@link PoolJobReader} over a job client's store. @internal */
export function poolJobReader(client: JobClient): PoolJobReader {
  return {
    inspect: async (jobId) => toJobInfo(await client.inspect(jobId)),
    timeline: async (jobId) => {
      const t = await readTimeline(client.store, jobId);
      if (!t) throw new JobNotFoundError(jobId);
      return t;
    },
  };
}
