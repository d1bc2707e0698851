/**
 * What the live dashboard shows, as one JSON-ready {@link DashboardSnapshot}: the jobs of a
 * {@link DashboardSource} (a stack's listing through `awsJobs`, or the pools of a `fanfold run`
 * job) as `JobInfo`, with their rates (`jobRates`, as `fanfold jobs` shows them) and the figures
 * of their recorded attempts (`attemptFigures`). A feed reads its source at most once per
 * interval, however many pages poll it, and an ended job's attempts only once.
 */
import { type JobInfo, type JobRates, jobRates } from '../api/job-info.js';
import { type AttemptFigures, attemptFigures } from '../views/attempt-figures.js';
import type { Timeline } from '../views/timeline.js';
import { errorFields } from './output.js';

/** Where a dashboard's jobs come from. */
export interface DashboardSource {
  /** What the page's heading names: `stack Fanfold`, `fanfold run job.ts`. */
  readonly title: string;
  /** What the cost figures are (or why there are none), said on the page and in the JSON. */
  readonly costNote: string;
  /** A job's cost so far in USD, when its jobs have one (a stack's); none for local jobs. */
  cost?(job: JobInfo): number;
  /** The jobs to show, newest first. */
  jobs(): Promise<JobInfo[]>;
  /** A job's timeline data, for its attempt figures. */
  timeline(jobId: string): Promise<Timeline>;
  /**
   * How often a running job's attempt figures are read anew, in ms (they are read whole, so a
   * stack's dashboard reads them less often than its job list). @default every snapshot
   */
  readonly attemptsEveryMs?: number;
}

/** One job on the dashboard. */
export interface DashboardJob extends JobInfo, JobRates {
  /**
   * What its recorded chunk attempts say (workers, recent rate, retries, stragglers); absent when
   * they were not read: a job of more than {@link MAX_DETAIL_CHUNKS} chunks, or a failed read.
   */
  readonly attempts?: AttemptFigures;
  /**
   * Its cost so far in USD (a stack's job: `jobCost`, see {@link DashboardSnapshot.costNote}), or
   * `null` for a local job, which makes no AWS request.
   */
  readonly cost: number | null;
}

/** What `GET /api/jobs` answers. */
export interface DashboardSnapshot {
  /** The source's title. */
  readonly title: string;
  /** When the source was read, epoch ms. */
  readonly at: number;
  /** The jobs, newest first. */
  readonly jobs: readonly DashboardJob[];
  /** Counts over {@link jobs}. */
  readonly totals: {
    /** Jobs RUNNING or FOLDING. */
    readonly running: number;
    /** Jobs DONE. */
    readonly done: number;
    /** Jobs FAILED or CANCELLED. */
    readonly failed: number;
    /** Worker threads that recorded a chunk lately, over the running jobs. */
    readonly workersActive: number;
  };
  /** What the cost column shows, or why it is empty. */
  readonly costNote: string;
  /** The job module of `fanfold run --dashboard` has ended: nothing will change any more. */
  readonly ended: boolean;
  /** The last read of the source failed (the jobs shown are those of the read before). */
  readonly error?: ReturnType<typeof errorFields>;
}

/** Jobs with more chunks than this show no attempt figures (reading them would cost too much). */
export const MAX_DETAIL_CHUNKS = 5_000;

const live = (j: JobInfo) => j.status === 'RUNNING' || j.status === 'FOLDING';

/** Reads a source into snapshots; see the file's comment. */
export class DashboardFeed {
  readonly #source: DashboardSource;
  readonly #intervalMs: number;
  /** Attempt figures of ended jobs, read once. */
  readonly #final = new Map<string, AttemptFigures | undefined>();
  /** Attempt figures of running jobs, and when they were read. */
  readonly #running = new Map<string, { at: number; figures: AttemptFigures | undefined }>();
  #last: DashboardSnapshot | undefined;
  #reading: Promise<DashboardSnapshot> | undefined;
  #ended = false;

  /** `intervalMs`: the youngest a snapshot may be reused. */
  constructor(source: DashboardSource, intervalMs: number) {
    this.#source = source;
    this.#intervalMs = intervalMs;
  }

  /** Marks the source as ended (`fanfold run`'s job returned); the next snapshot is read anew. */
  end(): void {
    this.#ended = true;
    this.#last = undefined;
  }

  /** The current snapshot: the last one if it is younger than the interval, else a new read. */
  snapshot(now = Date.now()): Promise<DashboardSnapshot> {
    const last = this.#last;
    if (last && now - last.at < this.#intervalMs) return Promise.resolve(last);
    this.#reading ??= this.#read().finally(() => {
      this.#reading = undefined;
    });
    return this.#reading;
  }

  async #read(): Promise<DashboardSnapshot> {
    const ended = this.#ended;
    let infos: JobInfo[];
    let error: DashboardSnapshot['error'];
    try {
      infos = await this.#source.jobs();
    } catch (e) {
      error = errorFields(e);
      infos = this.#last?.jobs.map(stripDerived) ?? [];
    }
    const at = Date.now();
    const shown = new Set(infos.map((j) => j.id));
    for (const id of this.#final.keys()) if (!shown.has(id)) this.#final.delete(id);
    for (const id of this.#running.keys()) if (!shown.has(id)) this.#running.delete(id);
    const jobs = await Promise.all(infos.map((info) => this.#job(info, at)));
    const snapshot: DashboardSnapshot = {
      title: this.#source.title,
      at,
      jobs,
      totals: {
        running: jobs.filter(live).length,
        done: jobs.filter((j) => j.status === 'DONE').length,
        failed: jobs.filter((j) => j.status === 'FAILED' || j.status === 'CANCELLED').length,
        workersActive: jobs.filter(live).reduce((n, j) => n + (j.attempts?.workersActive ?? 0), 0),
      },
      costNote: this.#source.costNote,
      ended,
      ...(error ? { error } : {}),
    };
    this.#last = snapshot;
    return snapshot;
  }

  async #job(info: JobInfo, at: number): Promise<DashboardJob> {
    const attempts = await this.#attempts(info, at);
    const cost = this.#source.cost ? this.#source.cost(info) : null;
    return { ...info, ...jobRates(info, at), ...(attempts ? { attempts } : {}), cost };
  }

  async #attempts(info: JobInfo, at: number): Promise<AttemptFigures | undefined> {
    if (this.#final.has(info.id)) return this.#final.get(info.id);
    if ((info.total ?? info.done) > MAX_DETAIL_CHUNKS) return undefined;
    const recent = this.#running.get(info.id);
    if (live(info) && recent && at - recent.at < (this.#source.attemptsEveryMs ?? 0)) return recent.figures;
    let figures: AttemptFigures | undefined;
    try {
      figures = attemptFigures(await this.#source.timeline(info.id), at);
    } catch {
      figures = undefined; // the counts still show; the page says the figures are not there
    }
    // An ended job's records no longer change; nothing of it is active.
    if (!live(info))
      this.#final.set(info.id, figures && { ...figures, workersActive: 0, recentChunksPerSecond: 0 });
    if (live(info)) this.#running.set(info.id, { at, figures });
    else this.#running.delete(info.id);
    return live(info) ? figures : this.#final.get(info.id);
  }
}

/** A shown job back to its `JobInfo`, to show it again when a read fails. */
function stripDerived(j: DashboardJob): JobInfo {
  const { elapsedMs: _e, chunksPerSecond: _c, attempts: _a, cost: _cost, ...info } = j;
  return info;
}
