/**
 * The two sources of the live dashboard: a deployed stack's recent jobs (`fanfold dashboard`,
 * through `awsJobs`, as `fanfold jobs` lists them), and the pool jobs of a `fanfold run` job
 * module (`--dashboard`), read through the pools that report to the job's `ctx.onProgress`.
 */

import type { JobProgress } from '../api/job.js';
import type { JobInfo } from '../api/job-info.js';
import type { ObserveHook, PoolJobReader } from '../api/job-observer.js';
import type { JobOperations } from '../aws/operations.js';
import { jobCost } from '../views/cost.js';
import { LIST_PRICES, type Prices } from '../views/prices.js';
import type { DashboardSource } from './dashboard-feed.js';

const live = (j: JobInfo) => j.status === 'RUNNING' || j.status === 'FOLDING';

/** A local job makes no AWS request: no figure. */
const NO_COST = 'No cost figure: jobs of the local context make no AWS request.';

/** What a stack job's cost figure is (docs/observability.md, "Cost, before and after"). */
function stackCostNote({ date, region }: Prices): string {
  return (
    `the scale model's requests and units for each job's chunks, retries and backups, and its ` +
    `chunks' run time, at ${region} list prices of ${date} (FANFOLD_PRICES overrides them).`
  );
}

/** How often a stack's running jobs' chunk records are read for their attempt figures. */
export const STACK_ATTEMPTS_EVERY_MS = 10_000;

/**
 * A stack's newest `limit` jobs, as `fanfold jobs` lists them, each with its cost so far at
 * `prices` (as `fanfold status` gives it).
 */
export function stackSource(
  ops: JobOperations,
  stack: string,
  limit: number,
  prices: Prices = LIST_PRICES,
): DashboardSource {
  return {
    title: `stack ${stack}`,
    costNote: stackCostNote(prices),
    cost: (job) => jobCost(job, { prices }).usd.total,
    jobs: () => ops.list({ limit }),
    timeline: async (id) => (await ops.timeline(id)).data,
    attemptsEveryMs: STACK_ATTEMPTS_EVERY_MS,
  };
}

/** Jobs kept by a {@link RunJobs}, the newest. */
const MAX_RUN_JOBS = 100;

/**
 * The pool jobs of a `fanfold run` job module: each job reporting to the marked `ctx.onProgress`
 * ({@link hook}) is read through its pool's reader; an ended job's last state is kept.
 */
export class RunJobs implements DashboardSource {
  readonly title: string;
  readonly costNote = NO_COST;
  readonly #seen = new Map<string, { id: string; reader: PoolJobReader; last?: JobInfo }>();
  readonly #onProgress: (p: JobProgress) => void;

  /** `onProgress`: where progress goes besides (the CLI's progress bar). */
  constructor(title: string, onProgress: (p: JobProgress) => void) {
    this.title = title;
    this.#onProgress = onProgress;
  }

  /** The mark's hook: see `observing` in src/api/job-observer.ts. */
  readonly hook: ObserveHook = (reader) => (p) => {
    if (!this.#seen.has(p.jobId)) {
      this.#seen.set(p.jobId, { id: p.jobId, reader });
      const oldest = this.#seen.size > MAX_RUN_JOBS ? this.#seen.keys().next().value : undefined;
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
    this.#onProgress(p);
  };

  /** Reads each job not known to have ended; newest first. */
  async jobs(): Promise<JobInfo[]> {
    const read = await Promise.all(
      [...this.#seen.values()].map(async (s) => {
        if (s.last && !live(s.last)) return s.last;
        try {
          s.last = await s.reader.inspect(s.id);
        } catch {
          // The pool's store is gone (an aws pool closed): its last state stays on the page.
        }
        return s.last;
      }),
    );
    return read.filter((j): j is JobInfo => j !== undefined).sort((a, b) => b.createdAt - a.createdAt);
  }

  /** The job's timeline through its pool's reader. */
  timeline(jobId: string) {
    const s = this.#seen.get(jobId);
    if (!s) return Promise.reject(new Error(`job ${jobId} was not seen by this dashboard`));
    return s.reader.timeline(jobId);
  }
}
