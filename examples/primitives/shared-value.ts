/**
 * A shared Value incremented by a child (CPython: `num = Value('i', 0)`, the child does
 * `with num.get_lock(): num.value += 1`).
 *
 *   node --import tsx examples/primitives/shared-value.ts
 */
import { mp } from './context.js';

const counter = mp.Value('i', 0);
const p = mp.Process('increment', [counter, 10]);
await p.start();
await p.join();
if (p.exitCode !== 0) {
  console.error(p.error);
  process.exitCode = 1;
}
console.log(`counter = ${await counter.get()}`); // counter = 10
