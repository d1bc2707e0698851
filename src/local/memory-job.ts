/**
 * One job's state in the in-memory job store (`memory-store.ts`), and the copies of it the store
 * hands out: nothing a caller keeps aliases what the store holds.
 */
import type { SerializedError } from '../errors.js';
import type { ChunkAttempt, Data, JobRecord } from '../ports.js';

/** `T` with its fields writable: the store's own record, which it changes in place. */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** A job as the memory store keeps it. */
export interface JobState {
  readonly record: Mutable<JobRecord>;
  /** Last fence handed out; survives the lease being cleared when the job leaves FOLDING. */
  fence: number;
  readonly results: Map<number, Data>;
  readonly attempts: Map<number, ChunkAttempt>;
  /** Run times of the chunks recorded with an attempt, summed, and how many; their deliveries beyond the first. */
  timing: { ms: number; timed: number; retries: number };
  readonly errors: Map<number, SerializedError>;
  /** The owner and lease end of each claimed run, by chunk index. */
  readonly runs: Map<number, { readonly owner: string; readonly until: number }>;
  readonly waiters: Set<{ readonly since: number; readonly wake: (job: JobRecord | undefined) => void }>;
}

/** A copy of the data, so neither the caller nor a reader aliases the stored bytes. */
export function copyData(data: Data): Data {
  return 'bytes' in data ? { enc: data.enc, bytes: new Uint8Array(data.bytes) } : { ...data };
}

/** A copy of the record that callers may keep: later changes do not show through it. */
export function snapshot(state: JobState): JobRecord {
  const job: Mutable<JobRecord> = { ...state.record };
  if (job.initial) job.initial = copyData(job.initial);
  if (job.result) job.result = copyData(job.result);
  if (job.error) job.error = { ...job.error };
  return job;
}
