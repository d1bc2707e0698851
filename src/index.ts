/**
 * fanfold: Python's `multiprocessing` for TypeScript. The same program runs its pool on the cores
 * of one machine ({@link local}) or fans out over AWS Lambda ({@link aws}).
 *
 * @example
 * ```ts
 * import { local, range } from 'fanfold';
 * import tasks from './tasks.js';
 *
 * await using pool = local({ tasks }).Pool();
 * console.log(await pool.map('square', range(10)));
 * ```
 *
 * @module fanfold
 */

export type { AsyncCallbacks } from './api/async-result.js';
export { AsyncResult } from './api/async-result.js';
export type { Connection } from './api/connection.js';
export type { PoolOptions, Primitives, ProcessFactory } from './api/context.js';
export type { EstimateOptions } from './api/estimate.js';
export type { Job, JobContext, JobOutcome, JobProgress } from './api/job.js';
export { defineJob, isJob } from './api/job.js';
export type { JobFailure, JobInfo, JobStatus } from './api/job-info.js';
export type { DictProxy, ListProxy, Manager, SortOptions } from './api/managers.js';
export type {
  AttachOptions,
  IMapOptions,
  Items,
  JobIterator,
  MapOptions,
  MapReduceOptions,
  PoolState,
  TimelineView,
} from './api/pool.js';
export { Pool } from './api/pool.js';
export type { Process, ProcessOptions } from './api/process.js';
export type { ProcessInfo } from './api/process-info.js';
export { cpuCount, currentProcess } from './api/process-info.js';
export type { BlockOptions, JoinableQueue, Queue, SimpleQueue } from './api/queues.js';
export type { SharedArray, SharedOptions, TypeCode, Value, ValueOf } from './api/sharedctypes.js';
export type {
  Acquirable,
  AcquireOptions,
  Barrier,
  BarrierOptions,
  BoundedSemaphore,
  Condition,
  Event,
  Lock,
  RLock,
  RLockState,
  Semaphore,
} from './api/synchronize.js';
export type {
  ArgOf,
  ArgsOf,
  DefineTasksOptions,
  ReducerName,
  ResultOf,
  TaskFn,
  TaskMap,
  TaskRegistry,
  UnaryTaskName,
} from './api/tasks.js';
export { defineTasks, isTaskRegistry } from './api/tasks.js';
export type { AwsClients, AwsContext, AwsOptions, AwsResources } from './aws/context.js';
export { aws } from './aws/context.js';
export type {
  AwsJobsOptions,
  JobOperations,
  JobReport,
  ListOptions,
  OperationsAttachOptions,
} from './aws/operations.js';
export { awsJobs } from './aws/operations.js';
export type { Progress } from './engine/client.js';
export type { LinesOptions } from './engine/lines.js';
export { Lines, lines } from './engine/lines.js';
export { Range, range } from './engine/range.js';
export type { StragglerOptions } from './engine/stragglers.js';
export * from './errors.js';
export type { Shareable, SyncHandle } from './handles.js';
export type { LocalContext, LocalOptions } from './local/context.js';
export { local } from './local/context.js';
export type { ObjectSource } from './ports.js';
export type {
  CostOptions,
  CostReport,
  Estimate,
  JobCostInput,
  JobUsage,
} from './views/cost.js';
export { costReport, jobCost } from './views/cost.js';
export type { Prices } from './views/prices.js';
export { LIST_PRICES, resolvePrices } from './views/prices.js';
export type { BarOutcome, Timeline, TimelineBar } from './views/timeline.js';
