/**
 * Compile-time checks of the Pool's typing, run by `npm run typecheck` (tsc over test/); vitest
 * does not run this file. Every `@ts-expect-error` line must stay an error: if a change makes it
 * compile, tsc reports the unused directive.
 */
import type {
  AsyncResult,
  Estimate,
  JobInfo,
  JobIterator,
  LocalContext,
  Pool,
  Range,
  TaskRegistry,
} from 'fanfold';
import { expectTypeOf } from 'vitest';
import type tasks from '../fixtures/tasks.js';

type Tasks = typeof tasks extends TaskRegistry<infer T> ? T : never;

// Declared, never created: nothing here runs.
declare const pool: Pool<Tasks>;
declare const mp: LocalContext<Tasks>;
declare const xs: number[];
declare const r: Range;
declare const strings: AsyncIterable<string>;

export async function poolTypes(): Promise<void> {
  // map: the task's result type, as a promise of an array; any iterable or async iterable of its argument.
  expectTypeOf(pool.map('square', xs)).toEqualTypeOf<Promise<number[]>>();
  expectTypeOf(pool.map('square', r)).toEqualTypeOf<Promise<number[]>>();
  expectTypeOf(pool.map('str', new Set([1]))).toEqualTypeOf<Promise<string[]>>();
  expectTypeOf(pool.map('identity', strings)).toEqualTypeOf<Promise<unknown[]>>();
  // An async task's result is awaited.
  expectTypeOf(pool.map('asyncDouble', xs)).toEqualTypeOf<Promise<number[]>>();

  // @ts-expect-error a task the tasks module does not define
  pool.map('nope', xs);
  // @ts-expect-error square takes a number, not a string
  pool.map('square', ['a']);
  // @ts-expect-error add takes two arguments: map needs a one-argument task (use starmap)
  pool.map('add', xs);
  // @ts-expect-error square's results are numbers, not strings
  const wrong: string[] = await pool.map('square', xs);
  void wrong;
  // @ts-expect-error an option map does not have
  pool.map('square', xs, { chunk: 2 });

  // imap / imapUnordered yield the result type.
  expectTypeOf(pool.imap('str', xs)).toEqualTypeOf<JobIterator<string>>();
  expectTypeOf(pool.imapUnordered('str', xs).jobId).toEqualTypeOf<string>();
  for await (const s of pool.imapUnordered('str', r)) expectTypeOf(s).toEqualTypeOf<string>();
  // @ts-expect-error imap's items must be the task's argument type
  pool.imap('str', ['1']);

  // apply takes the argument tuple.
  expectTypeOf(pool.apply('add', [1, 2])).toEqualTypeOf<Promise<number>>();
  expectTypeOf(pool.apply('concat', ['a', 'b'])).toEqualTypeOf<Promise<string>>();
  // @ts-expect-error add takes two arguments
  pool.apply('add', [1]);
  // @ts-expect-error add takes numbers
  pool.apply('add', [1, '2']);
  // @ts-expect-error the arguments are a tuple, not spread
  pool.apply('square', 2);
  expectTypeOf(pool.applyAsync('add', [1, 2])).toEqualTypeOf<AsyncResult<number>>();
  pool.applyAsync('str', [1], { callback: (s) => expectTypeOf(s).toEqualTypeOf<string>() });

  // starmap takes argument tuples.
  expectTypeOf(pool.starmap('add', [[1, 2]])).toEqualTypeOf<Promise<number[]>>();
  // @ts-expect-error add takes numbers
  pool.starmap('add', [[1, '2']]);
  expectTypeOf(pool.mapAsync('square', xs)).toEqualTypeOf<AsyncResult<number[]>>();
  expectTypeOf(pool.mapAsync('square', xs).jobId).toEqualTypeOf<string>();

  // attach is typed by the task the caller names, and untyped without one.
  expectTypeOf(pool.attach('id', { task: 'square' })).toEqualTypeOf<Promise<number[]>>();
  expectTypeOf(pool.attach('id', { task: 'square', reducer: 'sum' })).toEqualTypeOf<Promise<number>>();
  expectTypeOf(pool.attach('id')).toEqualTypeOf<Promise<unknown>>();
  // @ts-expect-error a task the tasks module does not define
  pool.attach('id', { task: 'nope' });
  // @ts-expect-error concat folds strings, square gives numbers
  pool.attach('id', { task: 'square', reducer: 'concat' });
  expectTypeOf(pool.inspect('id')).toEqualTypeOf<Promise<JobInfo>>();
  expectTypeOf(pool.cancel('id')).toEqualTypeOf<Promise<JobInfo>>();
  // estimate takes the task's items (or a count) and gives the prediction.
  expectTypeOf(pool.estimate('square', xs, { taskMs: 1 })).toEqualTypeOf<Promise<Estimate>>();
  expectTypeOf(pool.estimate('square', 1000, { taskMs: 1 })).toEqualTypeOf<Promise<Estimate>>();
  // @ts-expect-error square takes numbers
  pool.estimate('square', ['1'], { taskMs: 1 });
  // @ts-expect-error taskMs is required
  pool.estimate('square', xs, {});
  pool.mapAsync('square', xs, { callback: (rs) => expectTypeOf(rs).toEqualTypeOf<number[]>() });

  // mapReduce returns the result type; the reducer must fold two results into one.
  expectTypeOf(pool.mapReduce('square', xs, 'sum')).toEqualTypeOf<Promise<number>>();
  expectTypeOf(pool.mapReduce('str', xs, 'concat', { initial: '' })).toEqualTypeOf<Promise<string>>();
  // @ts-expect-error concat folds strings, square gives numbers
  pool.mapReduce('square', xs, 'concat');
  // @ts-expect-error identity's result is unknown, not a number
  pool.mapReduce('square', xs, 'identity');
  // @ts-expect-error square takes one argument: it is no reducer even though its types fit
  pool.mapReduce('square', xs, 'square');
  // @ts-expect-error the initial value has the result type
  pool.mapReduce('square', xs, 'sum', { initial: 'zero' });

  // Pool options: the initializer is a task name.
  expectTypeOf(mp.Pool({ processes: 2, initializer: 'init', initargs: [1] })).toEqualTypeOf<Pool<Tasks>>();
  // @ts-expect-error an initializer the tasks module does not define
  mp.Pool({ initializer: 'nope' });
  // @ts-expect-error processes is a number
  mp.Pool({ processes: '2' });
  // @ts-expect-error an option Pool() does not have
  mp.Pool({ procs: 2 });
}
