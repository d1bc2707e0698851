/**
 * A job: the main program that `fanfold run <module>` runs. The module's default export is made
 * by {@link defineJob}; the CLI bundles the module, hands the job a {@link JobContext} (its
 * arguments, the `--processes` option, a progress callback) and prints the {@link JobOutcome}.
 */
import { InvalidArgumentError } from '../errors.js';

/** Progress of one pool job, as reported by `onProgress` of `map`, `mapReduce` and friends. */
export interface JobProgress {
  /** The pool job the counts belong to. */
  readonly jobId: string;
  /** Chunks done so far. */
  readonly done: number;
  /** Chunks in all, or `undefined` while the input is still being read (an open job). */
  readonly total: number | undefined;
}

/**
 * What a job receives from the CLI.
 *
 * @example
 * ```ts
 * import { readFile } from 'node:fs/promises';
 * import { defineJob, local } from 'fanfold';
 * import tasks from './tasks.js';
 *
 * export default defineJob(async (ctx) => {
 *   const [file = 'book.txt'] = ctx.args;
 *   ctx.log(`counting the words of ${file}`);
 *   const lines = (await readFile(file, 'utf8')).split('\n');
 *   await using pool = local({ tasks }).Pool({ processes: ctx.processes });
 *   const counts = await pool.map('countWords', lines, { onProgress: ctx.onProgress });
 *   return { result: counts.length, items: lines.length, itemLabel: 'lines' };
 * });
 * ```
 */
export interface JobContext {
  /** The arguments after `--` on the command line. */
  readonly args: readonly string[];
  /** The `--processes` option, or `undefined` when it was not given (use the CPU count). */
  readonly processes: number | undefined;
  /** Pass as `onProgress` to pool calls: the CLI draws a progress bar from it. */
  readonly onProgress: (p: JobProgress) => void;
  /** Writes a line to stderr without garbling the progress bar. */
  log(line: string): void;
}

/**
 * What a job returns; the CLI prints it.
 *
 * @example
 * ```ts
 * import type { JobOutcome } from 'fanfold';
 *
 * const outcome: JobOutcome = { result: ['the', 'of'], items: 120, itemLabel: 'files', details: { bytes: '12.3 MB' } };
 * ```
 */
export interface JobOutcome {
  /** The job's answer, printed with `util.inspect` (or as JSON under `--json`). */
  result: unknown;
  /** How many items the job processed; the CLI then prints a rate in items per second. */
  items?: number;
  /**
   * What the items are, in the plural, for the rate line.
   * @default 'items'
   */
  itemLabel?: string;
  /** Further facts printed one per line after the result (times, sizes, counts). */
  details?: Record<string, string | number>;
}

// A registered symbol, not a private one: the CLI and the bundled job module each carry their
// own copy of this file, and the brand must be recognised across the two.
const JOB = Symbol.for('fanfold.job');

/**
 * A job, as made by {@link defineJob}: the default export of a job module.
 *
 * @example
 * ```ts
 * import { defineJob, type Job } from 'fanfold';
 *
 * const job: Job = defineJob(async () => ({ result: 42 }));
 * ```
 */
export interface Job {
  /** Marks a value made by {@link defineJob}. */
  readonly [JOB]: true;
  /** Runs the job. */
  readonly run: (ctx: JobContext) => Promise<JobOutcome>;
}

/**
 * Makes a job for `fanfold run`. Export the result as the module's default export.
 *
 * @throws {InvalidArgumentError} when `run` is not a function.
 * @example
 * ```ts
 * // squares.job.ts — run with: npx fanfold run squares.job.ts --processes 4 -- 1000
 * import { defineJob, local, range } from 'fanfold';
 * import tasks from './tasks.js';
 *
 * export default defineJob(async (ctx) => {
 *   const n = Number(ctx.args[0] ?? 100);
 *   await using pool = local({ tasks }).Pool({ processes: ctx.processes });
 *   const sum = await pool.mapReduce('square', range(n), 'add', { initial: 0, onProgress: ctx.onProgress });
 *   return { result: sum, items: n, itemLabel: 'numbers' };
 * });
 * ```
 */
export function defineJob(run: (ctx: JobContext) => Promise<JobOutcome>): Job {
  if (typeof run !== 'function') {
    throw new InvalidArgumentError(
      `Expected the job to be a function (ctx) => Promise<JobOutcome>, got ${typeOf(run)}`,
    );
  }
  return Object.freeze({ [JOB]: true as const, run });
}

/**
 * True when `v` was made by {@link defineJob} (in this copy of fanfold or in a bundled one).
 *
 * @example
 * ```ts
 * import { isJob } from 'fanfold';
 *
 * const file = new URL('./squares.job.js', import.meta.url).href;
 * const mod = (await import(file)) as { default?: unknown };
 * if (!isJob(mod.default)) throw new Error('not a job module');
 * ```
 */
export function isJob(v: unknown): v is Job {
  return (
    typeof v === 'object' &&
    v !== null &&
    (v as { [JOB]?: unknown })[JOB] === true &&
    typeof (v as { run?: unknown }).run === 'function'
  );
}

function typeOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}
