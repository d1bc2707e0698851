/**
 * The figures of a job that its recorded chunk attempts give (a {@link Timeline}): how many worker
 * threads ran it and how many recorded a chunk lately, its recent rate, its retries, stragglers'
 * backups and slow chunks. The live dashboard shows them beside the job's counts.
 */
import type { Timeline } from './timeline.js';

/** The window of {@link AttemptFigures.workersActive} and {@link AttemptFigures.recentChunksPerSecond}. */
export const ACTIVE_WINDOW_MS = 5_000;

/** What a job's recorded attempts say of it; see {@link attemptFigures}. */
export interface AttemptFigures {
  /** Worker threads that ran at least one of its recorded chunks. */
  readonly workers: number;
  /**
   * Worker threads that recorded a chunk within the last {@link activeWindowMs}: those at work now,
   * as far as the records tell (a thread on its first, still running chunk is not counted).
   */
  readonly workersActive: number;
  /** Chunks recorded within the last {@link activeWindowMs}, per second. */
  readonly recentChunksPerSecond: number;
  /** The window of the two figures above, in ms. */
  readonly activeWindowMs: number;
  /** Chunks recorded on a redelivery (a retry after a worker died or timed out). */
  readonly retried: number;
  /** Chunks whose straggler's backup won. */
  readonly backups: number;
  /** Chunks that ran at least twice the median chunk time. */
  readonly stragglers: number;
  /** The median chunk time, in ms. */
  readonly medianMs: number;
}

/**
 * The figures of timeline `t` at time `now` (epoch ms).
 *
 * @example
 * ```ts
 * const { data } = await pool.timeline(jobId);
 * const { workersActive, stragglers } = attemptFigures(data, Date.now());
 * ```
 */
export function attemptFigures(t: Timeline, now: number, activeWindowMs = ACTIVE_WINDOW_MS): AttemptFigures {
  const since = now - activeWindowMs - t.createdAt; // the window's start, relative to the job
  const activeRows = new Set<number>();
  let recent = 0;
  let retried = 0;
  let backups = 0;
  let stragglers = 0;
  for (const b of t.bars) {
    if (b.start + b.ms >= since) {
      recent++;
      activeRows.add(b.row);
    }
    if (b.outcome === 'retried') retried++;
    if (b.outcome === 'backup') backups++;
    if (b.straggler) stragglers++;
  }
  return {
    workers: t.rows.length,
    workersActive: activeRows.size,
    recentChunksPerSecond: Math.round((recent * 10_000) / activeWindowMs) / 10,
    activeWindowMs,
    retried,
    backups,
    stragglers,
    medianMs: Math.round(t.medianMs * 10) / 10,
  };
}
