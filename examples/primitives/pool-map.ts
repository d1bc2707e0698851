/**
 * Pool.map of squares (CPython: `with Pool(5) as p: print(p.map(f, [1, 2, 3]))`).
 *
 *   node --import tsx examples/primitives/pool-map.ts
 */
import { mp } from './context.js';

await using pool = mp.Pool({ processes: 5 });
console.log(await pool.map('square', [1, 2, 3])); // [ 1, 4, 9 ]
