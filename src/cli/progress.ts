/**
 * The CLI's progress display. On a terminal: one line on stderr with a bar, the percentage, the
 * chunks done, the rate and an ETA, redrawn at most ten times a second, replaced at the end by a
 * summary line per pool job. Anywhere else (CI logs, pipes): silent while running, then the same
 * summary lines. A summary says how the job ended: `done`, or `FAILED` with the error's name and
 * message when the run ended with an error that names the job (or with no job seen at all).
 */
import type { JobProgress } from '../api/job.js';

/** Where the progress goes; `process.stderr` satisfies it. */
export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/** Options of {@link createProgress}. */
export interface ProgressOptions {
  /**
   * The stream to draw on.
   * @default process.stderr
   */
  readonly stream?: ProgressStream;
  /**
   * Draw a live bar; otherwise stay silent until {@link Progress.end}.
   * @default stream.isTTY === true
   */
  readonly live?: boolean;
  /**
   * Minimum time between two redraws, in milliseconds.
   * @default 100
   */
  readonly intervalMs?: number;
  /**
   * The clock, in milliseconds.
   * @default performance.now
   */
  readonly now?: () => number;
  /**
   * Colour the summary's outcome (green done, red FAILED); the CLI passes `useColor(stream, env)`.
   * @default false
   */
  readonly color?: boolean;
}

/** How the run ended, for {@link Progress.end}. */
export interface ProgressEnd {
  /** The error the run ended with: the job it names (`jobId`), or else every unfinished job, is summarised as FAILED. */
  readonly error?: unknown;
}

/** A progress display for the pool jobs of one CLI run. */
export interface Progress {
  /** Records a progress report; pass as `onProgress`. */
  readonly update: (p: JobProgress) => void;
  /** Writes a line above the bar. */
  readonly log: (line: string) => void;
  /** Clears the bar (on a terminal) and prints the per-job summary lines. Idempotent. */
  readonly end: (how?: ProgressEnd) => void;
}

interface JobState {
  readonly jobId: string;
  readonly started: number;
  done: number;
  total: number | undefined;
  /** When `done` last grew: the rate is measured up to here, so it does not decay after the end. */
  last: number;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const CLEAR_LINE = '\r\x1b[2K';

/**
 * Makes the progress display.
 *
 * @example
 * ```ts
 * const progress = createProgress();
 * try { await pool.map('work', items, { onProgress: progress.update }); }
 * finally { progress.end(); }
 * ```
 */
export function createProgress(options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  const live = options.live ?? stream.isTTY === true;
  const intervalMs = options.intervalMs ?? 100;
  const now = options.now ?? (() => performance.now());
  const jobs = new Map<string, JobState>();
  let current: JobState | undefined;
  let drawn = false; // a bar is on screen
  let lastDraw = Number.NEGATIVE_INFINITY;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let frame = 0;
  let ended = false;

  const draw = () => {
    timer = undefined;
    if (!current || ended) return;
    lastDraw = now();
    stream.write(`${CLEAR_LINE}${render(current, widthOf(stream), SPINNER[frame++ % SPINNER.length]!)}`);
    drawn = true;
  };

  const update = (p: JobProgress) => {
    if (ended) return;
    const t = now();
    let job = jobs.get(p.jobId);
    if (!job) {
      job = { jobId: p.jobId, started: t, done: 0, total: undefined, last: t };
      jobs.set(p.jobId, job);
    }
    if (p.done > job.done) job.last = t;
    job.done = p.done;
    job.total = p.total;
    current = job;
    if (!live || timer) return;
    // Throttle: draw now if the last frame is old enough, else once when it is (with the latest counts).
    const wait = lastDraw + intervalMs - t;
    if (wait <= 0) draw();
    else {
      timer = setTimeout(draw, wait);
      timer.unref?.();
    }
  };

  const log = (line: string) => {
    if (live && drawn) stream.write(CLEAR_LINE);
    stream.write(`${line}\n`);
    drawn = false;
    if (live && current && !ended && !timer) draw();
  };

  const end = (how: ProgressEnd = {}) => {
    if (ended) return;
    ended = true;
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (live && drawn) stream.write(CLEAR_LINE);
    const failedId = jobIdOf(how.error);
    const paint = (text: string, code: number) => (options.color ? `\x1b[${code}m${text}\x1b[39m` : text);
    for (const job of jobs.values()) {
      const failed =
        how.error !== undefined && (failedId === undefined ? !isComplete(job) : failedId === job.jobId);
      stream.write(`${summary(job, failed ? paint('FAILED', 31) : paint('done', 32), now())}\n`);
    }
    // The run failed before any job reported progress: still say so, with the error.
    if (how.error !== undefined && failedId !== undefined && !jobs.has(failedId))
      stream.write(`job ${shortId(failedId)}: ${paint('FAILED', 31)}\n`);
    if (how.error !== undefined) stream.write(`error: ${errorLine(how.error)}\n`);
  };

  return { update, log, end };
}

/** One line of the live display, fitted to `columns`. */
function render(job: JobState, columns: number, spin: string): string {
  const seconds = (job.last - job.started) / 1000;
  const rate = seconds > 0 ? job.done / seconds : 0;
  const id = `job ${shortId(job.jobId)}`;
  const rateText = `${formatRate(rate)} chunks/s`;
  if (job.total === undefined) {
    return fitLine(`${spin} ${id}  ${job.done} chunks  ${rateText}`, columns);
  }
  const total = Math.max(job.total, 1);
  const fraction = Math.min(job.done / total, 1);
  const eta = rate > 0 && job.done < job.total ? `ETA ${formatDuration((job.total - job.done) / rate)}` : '';
  const tail =
    `${String(Math.floor(fraction * 100)).padStart(3)}%  ${job.done}/${job.total}  ${rateText}  ${eta}`.trimEnd();
  // The bar takes what is left of the line, between 10 and 40 cells.
  const width = Math.max(10, Math.min(40, columns - id.length - tail.length - 6));
  const filled = Math.round(fraction * width);
  return fitLine(`${id} [${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${tail}`, columns);
}

function summary(job: JobState, outcome: string, at: number): string {
  // A finished job's time runs to its last chunk; an unfinished one's to the end of the run.
  const seconds = ((isComplete(job) ? job.last : at) - job.started) / 1000;
  const total = job.total === undefined ? `${job.done}` : `${job.done}/${job.total}`;
  return `job ${shortId(job.jobId)}: ${outcome}, ${total} chunks in ${formatDuration(seconds)}`;
}

function isComplete(job: JobState): boolean {
  return job.total !== undefined && job.done >= job.total;
}

function jobIdOf(e: unknown): string | undefined {
  const id = (e as { jobId?: unknown } | undefined)?.jobId;
  return typeof id === 'string' && id !== '(not submitted)' ? id : undefined;
}

/** The error in one line: its name, code and message (the CLI prints the stack after). */
function errorLine(e: unknown): string {
  const err = e as { name?: unknown; message?: unknown; code?: unknown } | undefined;
  const name = typeof err?.name === 'string' ? err.name : 'Error';
  const code = typeof err?.code === 'string' ? ` [${err.code}]` : '';
  const message = typeof err?.message === 'string' ? err.message : String(e);
  return `${name}${code}: ${message.split('\n')[0]}`;
}

function shortId(id: string): string {
  return id.length > 8 ? id.slice(0, 8) : id;
}

/** The terminal's width; a pseudo-terminal without a window size reports 0. */
function widthOf(stream: ProgressStream): number {
  return stream.columns !== undefined && stream.columns >= 20 ? stream.columns : 80;
}

function fitLine(line: string, columns: number): string {
  // One column short of the edge: writing into the last column makes some terminals wrap.
  return line.length < columns ? line : line.slice(0, Math.max(0, columns - 1));
}

function formatRate(rate: number): string {
  return rate >= 100 ? rate.toFixed(0) : rate.toFixed(1);
}

/** `0.4s`, `12s`, `3m05s`, `1h02m`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  const whole = Math.round(seconds);
  if (whole < 60) return `${whole}s`;
  const m = Math.floor(whole / 60);
  if (m < 60) return `${m}m${String(whole % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
