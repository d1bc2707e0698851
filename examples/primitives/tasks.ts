/**
 * The tasks of the primitives examples (examples/primitives): one tiny task per example, each the
 * `target` of CPython's example in the `multiprocessing` documentation. Primitives (a Pipe end, a
 * Value, a Lock) arrive as arguments, revived on the same state as the caller's.
 */
import { type Connection, currentProcess, defineTasks, type Lock, type Value } from 'fanfold';

/** Example 1: a worker that prints its process name. */
function greet(name: string): void {
  console.log(`hello ${name}, from process ${currentProcess().name}`);
}

/** Example 2: a child that sends one message through its end of a Pipe, then closes it. */
async function sendHello(conn: Connection): Promise<void> {
  await conn.send([42, null, 'hello']);
  await conn.close();
}

/** Example 3: the function Pool.map applies. */
function square(x: number): number {
  return x * x;
}

/** Example 4: a child that increments a shared Value `times` times, each under the Value's lock. */
async function increment(counter: Value<'i'>, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    await counter.withLock(async () => counter.set((await counter.get()) + 1));
  }
}

/** Example 5: prints under a Lock, so lines of different processes never interleave. */
async function printUnderLock(lock: Lock, i: number): Promise<void> {
  await lock.withLock(() => {
    console.log(`hello world ${i}`);
  });
}

export default defineTasks({ greet, sendHello, square, increment, printUnderLock });
