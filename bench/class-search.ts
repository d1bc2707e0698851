/**
 * What the class-instance search (src/plain-data.ts) costs next to the `v8.serialize` it precedes:
 * a chunk of 10,000 small object results (searched once each, as run-chunk.ts does off the
 * all-numbers path) and one `Map` message (as a queue put or pipe send off the ring codec's fast
 * path). Prints JSON: milliseconds per chunk, microseconds per message, mean of the counted runs.
 *
 *   node --import tsx bench/class-search.ts
 */
import { serialize } from 'node:v8';
import { findClassInstance } from '../src/plain-data.js';

const results = Array.from({ length: 10_000 }, (_, i) => ({ id: i, name: `n${i}`, tags: [i, i + 1] }));
const message = new Map([[1, { a: 1 }]]);

/** Mean milliseconds of `f` over `n` runs, after 5 unmeasured ones. */
function meanMs(f: () => void, n: number): number {
  for (let i = 0; i < 5; i++) f();
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) f();
  return Number(process.hrtime.bigint() - t) / 1e6 / n;
}

const chunk = {
  serializeMs: meanMs(() => serialize(results), 50),
  searchMs: meanMs(() => {
    for (const r of results) findClassInstance(r);
  }, 50),
};
const one = {
  serializeUs: meanMs(() => serialize(message), 200_000) * 1000,
  searchUs: meanMs(() => findClassInstance(message), 200_000) * 1000,
};
console.log(
  JSON.stringify({ chunk10k: chunk, mapMessage: one }, (_, v) => (typeof v === 'number' ? +v.toFixed(3) : v)),
);
