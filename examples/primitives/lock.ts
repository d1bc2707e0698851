/**
 * Two processes printing under a Lock (CPython: `Process(target=f, args=(lock, num))`, `f` prints
 * while holding the lock).
 *
 *   node --import tsx examples/primitives/lock.ts
 */
import { mp } from './context.js';

const lock = mp.Lock();
const processes = [0, 1].map((i) => mp.Process('printUnderLock', [lock, i]));
for (const p of processes) await p.start();
for (const p of processes) await p.join();
for (const p of processes) {
  if (p.exitCode !== 0) {
    console.error(p.error);
    process.exitCode = 1;
  }
}
console.log(`exit codes: ${processes.map((p) => p.exitCode).join(', ')}`);
