/**
 * Stragglers: MapReduce's backup tasks, on the caller's side. Near the end of a job, a chunk that
 * has run much longer than its peers is sent again (a `backup` request to the coordinator); the
 * first attempt to record wins and the other is a duplicate, which the job store records at most
 * once. A slow or frozen worker then no longer holds up the whole job.
 *
 * The rule, checked each time the caller's wait sees the job (at least once a second):
 * - the job is in its **tail**: sealed, RUNNING, and at most `max(1, min(tail × total, workers))`
 *   chunks left, so that every chunk left is running, none merely queued (a backup of a queued
 *   chunk would only queue it twice);
 * - the store reports its chunks' mean run time (`JobRecord.meanChunkMs`): without peers to compare
 *   with, nothing is a straggler (so a one-chunk job, an `apply` or a `Process`, never is);
 * - the chunks left have been outstanding longer than `max(minMs, factor × mean)`, counted from
 *   the moment the job entered its tail (the latest time all of them are known to have been
 *   outstanding: the caller does not see when each one started).
 * Then each chunk left that has had no backup gets one, at most one per chunk. A backup request
 * that fails is tried again one threshold later; it never fails the job (the original attempt
 * still runs, and the job's deadline still bounds it).
 */
import { InvalidArgumentError } from '../errors.js';
import type { BlobStore, Data, JobRecord, JobStore } from '../ports.js';
import { integer, numberIn, options, received } from '../validate.js';
import { blobKeys } from './blob-keys.js';
import type { CoordinatorRequest, CoordinatorResponse } from './coordinator.js';
import { ChunkPlanner, type SizedInput } from './plan.js';

/** The straggler rule's settings (see the module comment). */
export interface StragglerOptions {
  /** A chunk straggles once outstanding this many times the job's mean chunk time. @default 3 */
  readonly factor?: number;
  /** …and at least this long, in ms. @default 2000 */
  readonly minMs?: number;
  /** The tail: at most this share of the job's chunks left (and at most one per worker). @default 0.1 */
  readonly tail?: number;
}

/** Resolved {@link StragglerOptions}. */
export interface StragglerPolicy {
  readonly factor: number;
  readonly minMs: number;
  readonly tail: number;
}

/** The rule's defaults. */
export const DEFAULT_STRAGGLERS: StragglerPolicy = Object.freeze({ factor: 3, minMs: 2_000, tail: 0.1 });

/** Most chunks one backup request carries. */
export const MAX_BACKUP_CHUNKS = 500;

/**
 * Validates the `stragglers` option: `false` turns backups off, `true` or an object (its fields
 * over the defaults) turns them on, `undefined` is `fallback`.
 */
export function stragglerPolicy(
  v: unknown,
  name: string,
  fallback: StragglerPolicy | undefined,
): StragglerPolicy | undefined {
  if (v === undefined) return fallback;
  if (v === false) return undefined;
  if (v === true) return DEFAULT_STRAGGLERS;
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new InvalidArgumentError(
      `Expected ${name} to be true, false or { factor, minMs, tail }, got ${received(v)}`,
    );
  const o = options<StragglerOptions>(v, name, ['factor', 'minMs', 'tail']);
  return {
    factor:
      o.factor === undefined ? DEFAULT_STRAGGLERS.factor : numberIn(o.factor, `${name}.factor`, 1, 1000),
    minMs: o.minMs === undefined ? DEFAULT_STRAGGLERS.minMs : integer(o.minMs, `${name}.minMs`, 0),
    tail: o.tail === undefined ? DEFAULT_STRAGGLERS.tail : numberIn(o.tail, `${name}.tail`, 0, 1),
  };
}

/** What a straggler watch needs of its client. */
export interface StragglerWatchOptions {
  readonly policy: StragglerPolicy;
  /** The job's chunks. */
  readonly total: number;
  /** Chunks that run at once (the pool's workers): a tail never holds more. */
  readonly workers: number;
  /** Up to `max` indices of chunks not yet recorded. */
  readonly pending: (max: number) => Promise<number[]>;
  /** Sends a backup attempt of these chunks (one request). */
  readonly backup: (indices: readonly number[]) => Promise<void>;
  /** Monotonic ms. @default performance.now */
  readonly now?: () => number;
}

/** One job's straggler check; see the module comment. */
export class StragglerWatch {
  readonly #o: StragglerWatchOptions;
  readonly #now: () => number;
  readonly #backedUp = new Set<number>();
  /** When the job entered its tail (monotonic ms), or when a failed backup is to be tried again. */
  #since: number | undefined;
  /** The tail's size: at most this many chunks left. */
  readonly #limit: number;

  constructor(options: StragglerWatchOptions) {
    this.#o = options;
    this.#now = options.now ?? (() => performance.now());
    const { total, workers, policy } = options;
    this.#limit = Math.max(1, Math.min(Math.floor(policy.tail * total), workers));
  }

  /** Chunks given a backup so far. */
  get backedUp(): ReadonlySet<number> {
    return this.#backedUp;
  }

  /** Checks the rule against the job as just seen; sends the backups it calls for. */
  async observe(job: JobRecord): Promise<void> {
    const { total, policy } = this.#o;
    if (job.status !== 'RUNNING' || job.total === undefined) return;
    const left = total - job.done;
    if (left <= 0 || left > this.#limit) {
      this.#since = undefined;
      return;
    }
    const now = this.#now();
    this.#since ??= now;
    const mean = job.meanChunkMs;
    if (mean === undefined || job.done === 0) return;
    if (now - this.#since < Math.max(policy.minMs, policy.factor * mean)) return;
    const due = (await this.#o.pending(this.#limit)).filter((i) => !this.#backedUp.has(i));
    if (due.length === 0) return;
    try {
      for (let k = 0; k < due.length; k += MAX_BACKUP_CHUNKS) {
        const some = due.slice(k, k + MAX_BACKUP_CHUNKS);
        await this.#o.backup(some);
        for (const i of some) this.#backedUp.add(i);
      }
    } catch {
      // Not the job's failure: the originals still run. Try again one threshold from now.
      this.#since = this.#now();
    }
  }
}

/** What a client knows of a job it submitted with its items in hand. */
export interface BackupSource {
  readonly jobId: string;
  readonly total: number;
  readonly items: SizedInput;
  /** The chunksize it submitted (undefined for a job it did not plan: `lines()`). */
  readonly chunksize: number | undefined;
  readonly handles?: true;
}

/** What {@link backupWatch} needs of the client. */
export interface BackupClient {
  readonly policy: StragglerPolicy;
  readonly workers: number;
  readonly store: JobStore;
  readonly blobs: BlobStore;
  readonly coordinator: (req: CoordinatorRequest) => Promise<CoordinatorResponse>;
  /** Results read while looking for the chunks left, kept for the caller's own read of them. */
  readonly read: Map<number, Data>;
}

/**
 * The straggler check of a job the client submitted: chunks left come from reading the results
 * not read yet (kept in `read`, so the caller never reads one twice); a backup plans its chunks'
 * inputs as the submit did. Not `JobStore.pendingChunks`: on DynamoDB it queries the incomplete
 * shards, and a query is charged for the whole records it reads — results the caller reads
 * anyway, so this way costs nothing extra.
 */
export function backupWatch(
  job: BackupSource & { readonly chunksize: number },
  c: BackupClient,
): StragglerWatch {
  let planner: ChunkPlanner | undefined;
  return new StragglerWatch({
    policy: c.policy,
    total: job.total,
    workers: c.workers,
    pending: async (max) => {
      const unread: number[] = [];
      for (let i = 0; i < job.total; i++) if (!c.read.has(i)) unread.push(i);
      const found = await c.store.readResults(job.jobId, unread);
      for (const [i, d] of found) c.read.set(i, d);
      return unread.filter((i) => !found.has(i)).slice(0, max);
    },
    backup: async (indices) => {
      planner ??= new ChunkPlanner(job.items, job.chunksize);
      const p = planner;
      const inputs = await Promise.all(
        indices.map((i) => p.input(i, c.store.maxInlineBytes, c.blobs, blobKeys.input(job.jobId, i))),
      );
      await c.coordinator({
        v: 1,
        type: 'backup',
        jobId: job.jobId,
        indices,
        inputs,
        ...(job.handles ? { handles: true as const } : {}),
      });
    },
  });
}
