/**
 * `pool.estimate(task, items, { taskMs })`: what a `map` would cost on the AWS stack and how long
 * it would take, before it runs, from the scale model (`src/views/cost.ts`), with the pool's
 * worker count and CPython's chunk size rule, as `map` would plan the job. Nothing is submitted.
 */
import { defaultChunksize } from '../chunksize.js';
import { Range } from '../engine/range.js';
import { InvalidArgumentError } from '../errors.js';
import { options as checkOptions, nonNegative, optionalInteger, received, taskName } from '../validate.js';
import { type CostOptions, costOptions, type Estimate, estimateCost } from '../views/cost.js';

export type { Estimate } from '../views/cost.js';

/** Options of `pool.estimate`. */
export interface EstimateOptions extends Omit<CostOptions, 'workers'> {
  /** How long one task (one item) runs on a worker's thread, in ms. */
  readonly taskMs: number;
  /** Items per chunk, as `map` takes it. @default CPython's rule: ceil(items / (4 × processes)) */
  readonly chunksize?: number;
}

/**
 * Checks a `pool.estimate` call; returns the prediction of its job for a number of workers (the
 * pool's `processes`, known on AWS once the stack's outputs are read).
 */
export function estimateMap(
  task: unknown,
  items: unknown,
  options: unknown,
  taskNames: readonly string[],
): (workers: number) => Estimate {
  taskName(task, 'task', taskNames);
  const count = itemCount(items);
  const o = checkOptions<EstimateOptions>(options, 'options', [
    'taskMs',
    'chunksize',
    'memoryMb',
    'threads',
    'prices',
  ]);
  const taskMs = nonNegative(o.taskMs, 'options.taskMs');
  const given = optionalInteger(o.chunksize, 'options.chunksize', 1);
  const { chunksize: _c, taskMs: _t, ...rest } = o;
  const cost = costOptions(rest);
  return (workers) =>
    estimateCost({
      ...cost,
      workers,
      items: count,
      chunksize: given ?? defaultChunksize(count, workers),
      taskMs,
    });
}

/** Items of an array or a range, or a count of them; an iterable would have to be read to count. */
function itemCount(items: unknown): number {
  if (Array.isArray(items) || items instanceof Range) return items.length;
  if (typeof items === 'number' && Number.isSafeInteger(items) && items >= 0) return items;
  throw new InvalidArgumentError(
    `Expected items to be an array, a range() or a count of items (an integer >= 0), got ${received(items)}`,
  );
}
