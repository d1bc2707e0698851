/**
 * Compile-time checks of `lines()` as a pool call's items, run by `npm run typecheck`; vitest does
 * not run this file. Every `@ts-expect-error` line must stay an error.
 */
import { type JobIterator, type Lines, lines, type Pool, type TaskRegistry } from 'fanfold';
import { expectTypeOf } from 'vitest';
import type tasks from '../fixtures/lines-tasks.js';
import type base from '../fixtures/tasks.js';

type Tasks = typeof tasks extends TaskRegistry<infer T> ? T : never;
type Base = typeof base extends TaskRegistry<infer T> ? T : never;

declare const pool: Pool<Tasks>;
declare const basePool: Pool<Base>;
declare const src: Lines;

export async function linesTypes(): Promise<void> {
  expectTypeOf(lines('/tmp/x.log')).toEqualTypeOf<Lines>();
  expectTypeOf(lines({ bucket: 'b', key: 'k' }, { chunkBytes: 1024 })).toEqualTypeOf<Lines>();
  // A task that takes a string (or unknown) takes lines.
  expectTypeOf(pool.map('length', src)).toEqualTypeOf<Promise<number[]>>();
  expectTypeOf(pool.mapReduce('length', src, 'add')).toEqualTypeOf<Promise<number>>();
  expectTypeOf(pool.imap('echo', src)).toEqualTypeOf<JobIterator<string>>();
  expectTypeOf(basePool.map('identity', src)).toEqualTypeOf<Promise<unknown[]>>();

  // @ts-expect-error square takes a number, not a line
  basePool.map('square', src);
  // @ts-expect-error starmap items are argument lists, not lines
  basePool.starmap('add', src);
  // @ts-expect-error chunkBytes is a number
  lines('/tmp/x', { chunkBytes: '1' });
}
