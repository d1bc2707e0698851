/**
 * Operating a stack's jobs from any process that reaches the stack, without its tasks module:
 * `awsJobs({ stack })` lists the jobs (the table's listing index, `job-list.ts`), inspects one,
 * attaches to it and cancels it. The `fanfold jobs`, `status`, `attach` and `cancel` commands are
 * built on it. Listing needs the construct's `grantOperate`; the rest only what `grantSubmit`
 * gives, which is why listing lives here and not on `Pool`: a submitter cannot list other jobs.
 */
import { type JobInfo, toJobInfo } from '../api/job-info.js';
import { JobClient, type Progress } from '../engine/client.js';
import { InvalidArgumentError, JobNotFoundError } from '../errors.js';
import { options as checkOptions, optionalFunction, optionalInteger, received } from '../validate.js';
import { type CostOptions, type CostReport, costOptions, jobCost } from '../views/cost.js';
import { readTimelineView, type TimelineView } from '../views/timeline-svg.js';
import type { Connection } from './connect.js';
import { loadSdk } from './sdk.js';
import { type AwsOptions, resolveOptions, type Settings } from './settings.js';

/** Options of {@link awsJobs}: those of `aws()` but the tasks module. */
export type AwsJobsOptions = Omit<AwsOptions<never>, 'tasks'>;

/** Options of {@link JobOperations.list}. */
export interface ListOptions {
  /** At most this many jobs, newest first. @default 20 */
  readonly limit?: number;
  /** Only jobs created before this time (epoch ms): pass the last listed job's `createdAt` for the next page. @default now */
  readonly before?: number;
}

/** Options of {@link JobOperations.attach}. */
export interface OperationsAttachOptions {
  /** Called as chunks complete, with done/total chunks. */
  readonly onProgress?: (progress: Progress) => void;
  /** Release the job once its results are read (its records and payloads go). @default false */
  readonly release?: boolean;
}

/** What {@link JobOperations.report} gives. */
export interface JobReport {
  /** The job as it stands. */
  readonly job: JobInfo;
  /** What it has cost so far. */
  readonly cost: CostReport;
}

/** A stack's jobs, operated from outside the program that submitted them. */
export interface JobOperations {
  /** The newest jobs the stack holds (running, ended and not yet expired), newest first. */
  list(options?: ListOptions): Promise<JobInfo[]>;
  /** One job as it stands; rejects with `JobNotFoundError` for an unknown id. */
  inspect(jobId: string): Promise<JobInfo>;
  /**
   * Waits for the job to end and resolves with its results (an array for map/starmap, the folded
   * value for mapReduce), or rejects with its error. Leaves the job in place unless `release`.
   */
  attach(jobId: string, options?: OperationsAttachOptions): Promise<unknown>;
  /** Cancels the job; resolves with it as it stands after. */
  cancel(jobId: string, reason?: string): Promise<JobInfo>;
  /**
   * The job's timeline, drawn from its records as `pool.timeline` draws a local job's (reads
   * only); rejects with `JobNotFoundError` for an unknown id.
   */
  timeline(jobId: string): Promise<TimelineView>;
  /**
   * The job as `inspect` gives it and its cost so far (`jobCost`): the stack's worker count, the
   * construct's default memory and threads and the list prices unless `options` says otherwise.
   */
  report(jobId: string, options?: CostOptions): Promise<JobReport>;
  /** Destroys the SDK clients made here. */
  close(): void;
}

/**
 * Operates a deployed stack's jobs: list, inspect, attach to and cancel them from any process with
 * the stack's resources (`grantOperate`). Nothing is called before the first operation.
 *
 * @example
 * ```ts
 * import { awsJobs } from 'fanfold';
 * const jobs = awsJobs({ stack: 'Fanfold' });
 * for (const j of await jobs.list({ limit: 5 })) console.log(j.id, j.status, `${j.done}/${j.total}`);
 * jobs.close();
 * ```
 */
export function awsJobs(options: AwsJobsOptions = {}): JobOperations {
  const o = checkOptions<AwsJobsOptions>(options, 'options', [
    'stack',
    'resources',
    'clients',
    'region',
    'pollMs',
  ]);
  const settings = resolveOptions(o);
  const own: { destroy(): void }[] = [];
  let ready: Promise<{ conn: Connection; client: JobClient }> | undefined;
  const open = () => {
    ready ??= connectTo(settings, own);
    return ready;
  };
  return {
    async list(listOptions: ListOptions = {}) {
      const l = checkOptions<ListOptions>(listOptions, 'options', ['limit', 'before']);
      const limit = optionalInteger(l.limit, 'options.limit', 1, 1000) ?? 20;
      const before = optionalInteger(l.before, 'options.before', 1);
      const { client } = await open();
      const jobs = await client.list({ limit, ...(before === undefined ? {} : { before }) });
      return jobs.map(toJobInfo);
    },
    async inspect(jobId) {
      const id = jobIdOf(jobId);
      return toJobInfo(await (await open()).client.inspect(id));
    },
    async attach(jobId, attachOptions = {}) {
      const id = jobIdOf(jobId);
      const a = checkOptions<OperationsAttachOptions>(attachOptions, 'options', ['onProgress', 'release']);
      const onProgress = optionalFunction<(p: Progress) => void>(a.onProgress, 'options.onProgress');
      if (a.release !== undefined && typeof a.release !== 'boolean')
        throw new InvalidArgumentError(
          `Expected options.release to be a boolean, got ${received(a.release)}`,
        );
      return (await open()).client.attach(id, { onProgress, release: a.release ?? false });
    },
    async cancel(jobId, reason = 'cancelled by request') {
      const id = jobIdOf(jobId);
      if (typeof reason !== 'string')
        throw new InvalidArgumentError(`Expected reason to be a string, got ${received(reason)}`);
      return toJobInfo(await (await open()).client.cancelById(id, reason));
    },
    async timeline(jobId) {
      const id = jobIdOf(jobId);
      const view = await readTimelineView((await open()).conn.store, id);
      if (!view) throw new JobNotFoundError(id);
      return view;
    },
    async report(jobId, costOptionsGiven) {
      const id = jobIdOf(jobId);
      const o = costOptions(costOptionsGiven);
      const { client, conn } = await open();
      const job = toJobInfo(await client.inspect(id));
      return { job, cost: jobCost(job, { workers: conn.processes, ...o }) };
    },
    close() {
      for (const c of own.splice(0)) c.destroy();
    },
  };
}

async function connectTo(
  s: Settings,
  own: { destroy(): void }[],
): Promise<{ conn: Connection; client: JobClient }> {
  const { connect, findResources } = await loadSdk(() => import('./connect.js'));
  const resources = await findResources(s);
  const conn = connect(s, resources, MAX_INLINE_BYTES, BLOB_PREFIX, (c) => own.push(c));
  const client = new JobClient({
    coordinator: conn.invoke,
    store: conn.store,
    blobs: conn.blobs,
    processes: conn.processes,
    // Never used: this client submits nothing.
    jobTimeoutMs: 86_400_000,
    poll: s.pollMs,
    window: 8,
  });
  return { conn, client };
}

/** The blob prefix and inline limit of the stack's functions, as the `aws()` context uses them. */
const BLOB_PREFIX = 'fanfold/';
const MAX_INLINE_BYTES = 350 * 1024;

function jobIdOf(v: unknown): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 128)
    throw new InvalidArgumentError(`Expected jobId to be a job id (1 to 128 characters), got ${received(v)}`);
  return v;
}
