/**
 * Compile-time checks of `Process` and the primitives a context offers, run by `npm run typecheck`
 * (tsc over test/); vitest does not run this file. Every `@ts-expect-error` line must stay an error.
 */
import type { AwsContext, Event, LocalContext, Lock, Process, TaskError, TaskRegistry, Value } from 'fanfold';
import { expectTypeOf } from 'vitest';
import type tasks from '../fixtures/process-tasks.js';

type Tasks = typeof tasks extends TaskRegistry<infer T> ? T : never;

// Declared, never created: nothing here runs.
declare const mp: LocalContext<Tasks>;
declare const cloud: AwsContext<Tasks>;

export async function processTypes(): Promise<void> {
  // The target is a task name; args are its parameters, checked.
  const p = mp.Process('add', [1, 2]);
  expectTypeOf(p).toEqualTypeOf<Process<Tasks, 'add'>>();
  expectTypeOf(p.target).toEqualTypeOf<'add'>();
  expectTypeOf(p.args).toEqualTypeOf<[a: number, b: number]>();
  expectTypeOf(mp.Process('processName', [], { name: 'x' }).name).toEqualTypeOf<string>();
  expectTypeOf(p.pid).toEqualTypeOf<string | undefined>();
  expectTypeOf(p.exitCode).toEqualTypeOf<number | null>();
  expectTypeOf(p.error).toEqualTypeOf<TaskError | undefined>();
  expectTypeOf(p.start()).toEqualTypeOf<Promise<void>>();
  expectTypeOf(p.join(100)).toEqualTypeOf<Promise<void>>();
  expectTypeOf(p.isAlive()).toEqualTypeOf<boolean>();
  expectTypeOf(p.terminate()).toEqualTypeOf<Promise<void>>();

  // Primitives are arguments like any other, typed by the task.
  const lock: Lock = mp.Lock();
  const value: Value<'i'> = mp.Value('i', 0);
  mp.Process('addUnderLock', [lock, value, 10]);
  const event: Event = cloud.Event();
  cloud.Process('waitEvent', [event]);

  // @ts-expect-error a task the tasks module does not define
  mp.Process('nope', []);
  // @ts-expect-error add takes numbers
  mp.Process('add', ['a', 'b']);
  // @ts-expect-error add takes two arguments
  mp.Process('add', [1]);
  // @ts-expect-error addUnderLock takes a Lock first, not an Event
  mp.Process('addUnderLock', [event, value, 10]);
  // @ts-expect-error an option Process does not have
  mp.Process('add', [1, 2], { nmae: 'x' });
  // @ts-expect-error the name is a string
  cloud.Process('add', [1, 2], { name: 3 });
  // @ts-expect-error exitCode is read-only
  p.exitCode = 0;
}
