/**
 * A job's timeline as data: every recorded chunk attempt as a bar on the row of the worker thread
 * that ran it, plus the histogram of chunk durations and the throughput over time. Built from what
 * the protocol already stores with each result ({@link ChunkAttempt}), so drawing a timeline costs
 * reads of the job's records and no write. Pure: `timeline-svg.ts` draws it.
 */
import type { ChunkAttempt, JobRecord, JobStore } from '../ports.js';

/** How a recorded attempt went: the first delivery, a redelivery (retry) or a straggler's backup. */
export type BarOutcome = 'ok' | 'retried' | 'backup';

/** One chunk attempt, on its row. */
export interface TimelineBar {
  /** The chunk index. */
  readonly index: number;
  /** Row in {@link Timeline.rows}. */
  readonly row: number;
  /** ms since the job was created. */
  readonly start: number;
  /** How long the attempt ran, in ms. */
  readonly ms: number;
  /** The attempt number. */
  readonly attempt: number;
  /** The attempt's outcome. */
  readonly outcome: BarOutcome;
  /** It ran at least `STRAGGLER_FACTOR` times the median chunk time. */
  readonly straggler: boolean;
}

/** A job's timeline: see the file's comment. */
export interface Timeline {
  /** The job concerned. */
  readonly jobId: string;
  /** The job's task. */
  readonly task: string;
  /** The job's state. */
  readonly status: JobRecord['status'];
  /** Epoch ms the job was created; bar times are relative to it. */
  readonly createdAt: number;
  /** ms from creation to the end of the last bar (or of the job, when it ended later). */
  readonly span: number;
  /** Chunks the job has (undefined for an open job). */
  readonly total: number | undefined;
  /** `worker` and `thread` of each row, sorted by worker then thread. */
  readonly rows: readonly {
    /** The worker (host) that ran the attempts of this row. */
    readonly worker: string;
    /** The thread of that worker. */
    readonly thread: number;
  }[];
  /** One per recorded attempt, in chunk order. */
  readonly bars: readonly TimelineBar[];
  /** Chunks with no recorded attempt (not run yet, failed, or recorded without one). */
  readonly missing: number;
  /** The median chunk duration in ms. */
  readonly medianMs: number;
  /** Chunk durations in `HISTOGRAM_BINS` equal bins from 0 to the longest. */
  readonly histogram: {
    /** The width of a bin, in ms. */
    readonly binMs: number;
    /** How many chunks fall in each bin. */
    readonly counts: readonly number[];
  };
  /** Chunks ended per step, in `THROUGHPUT_STEPS` equal steps over the span. */
  readonly throughput: {
    /** The width of a bin, in ms. */
    readonly binMs: number;
    /** How many chunks fall in each bin. */
    readonly counts: readonly number[];
  };
  /** The job's error message, when it failed. */
  readonly error?: string;
}

/** A chunk at least this many times the median duration is marked a straggler. */
export const STRAGGLER_FACTOR = 2;
/** Bins of {@link Timeline.histogram}. */
export const HISTOGRAM_BINS = 20;
/** Steps of {@link Timeline.throughput}. */
export const THROUGHPUT_STEPS = 40;

/** Builds the timeline of `job` from its recorded attempts (by chunk index). */
export function buildTimeline(job: JobRecord, attempts: ReadonlyMap<number, ChunkAttempt>): Timeline {
  const indices = [...attempts.keys()].sort((a, b) => a - b);
  const rowKey = (a: ChunkAttempt) => `${a.worker}\u0000${a.thread}`;
  const rowSet = new Map<string, { worker: string; thread: number }>();
  for (const i of indices) {
    const a = attempts.get(i)!;
    rowSet.set(rowKey(a), { worker: a.worker, thread: a.thread });
  }
  const rows = [...rowSet.values()].sort((a, b) =>
    a.worker === b.worker ? a.thread - b.thread : a.worker < b.worker ? -1 : 1,
  );
  const rowOf = new Map(rows.map((r, i) => [`${r.worker}\u0000${r.thread}`, i]));
  const durations = indices.map((i) => attempts.get(i)!.ms);
  const medianMs = median(durations);
  const bars = indices.map((index): TimelineBar => {
    const a = attempts.get(index)!;
    return {
      index,
      row: rowOf.get(rowKey(a))!,
      start: Math.max(0, a.startedAt - job.createdAt),
      ms: a.ms,
      attempt: a.attempt,
      outcome: a.backup ? 'backup' : a.attempt > 1 ? 'retried' : 'ok',
      straggler: medianMs > 0 && a.ms >= STRAGGLER_FACTOR * medianMs,
    };
  });
  const lastBar = bars.reduce((m, b) => Math.max(m, b.start + b.ms), 0);
  const ended = 'endedAt' in job && typeof job.endedAt === 'number' ? job.endedAt - job.createdAt : 0;
  const span = Math.max(lastBar, ended, 1);
  const known = job.total ?? (indices.length ? indices.at(-1)! + 1 : 0);
  return {
    jobId: job.id,
    task: job.task,
    status: job.status,
    createdAt: job.createdAt,
    span,
    total: job.total,
    rows,
    bars,
    missing: Math.max(0, known - bars.length),
    medianMs,
    histogram: bin(durations, Math.max(...durations, 1), HISTOGRAM_BINS),
    throughput: bin(
      bars.map((b) => b.start + b.ms),
      span,
      THROUGHPUT_STEPS,
    ),
    ...(job.error ? { error: job.error.message } : {}),
  };
}

/** Chunk indices read per `readAttempts` call (bounds one read's size). */
const READ_BATCH = 500;

/**
 * Reads a job and its recorded attempts from a store and builds its timeline; undefined when the
 * store has no such job. An open job's chunks are read up to the highest recorded count.
 */
export async function readTimeline(store: JobStore, jobId: string): Promise<Timeline | undefined> {
  const job = await store.getJob(jobId, { counts: true });
  if (!job) return undefined;
  const total = job.total ?? job.done;
  const attempts = new Map<number, ChunkAttempt>();
  for (let from = 0; from < total; from += READ_BATCH) {
    const indices = Array.from({ length: Math.min(READ_BATCH, total - from) }, (_, k) => from + k);
    for (const [i, a] of await store.readAttempts(jobId, indices)) attempts.set(i, a);
  }
  return buildTimeline(job, attempts);
}

function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Counts of `values` in `n` equal bins from 0 to `max` (the last bin holds `max`). */
function bin(values: readonly number[], max: number, n: number): { binMs: number; counts: number[] } {
  const binMs = max / n;
  const counts = new Array<number>(n).fill(0);
  for (const v of values) counts[Math.min(n - 1, Math.floor(v / binMs))]!++;
  return { binMs, counts };
}
