/**
 * A worker printing its process name (CPython: `Process(target=f, args=('bob',))`).
 *
 *   node --import tsx examples/primitives/process-name.ts
 */
import { mp } from './context.js';

const p = mp.Process('greet', ['bob'], { name: 'worker-1' });
await p.start();
await p.join();
if (p.exitCode !== 0) {
  console.error(p.error);
  process.exitCode = 1;
}
console.log(`${p.name} exited with ${p.exitCode}`);
