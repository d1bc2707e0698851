import { describe, expect, it } from 'vitest';
import { mp, useParties } from './fixtures/parties.js';

const party = useParties();

/** Runs `n` operations in each of two threads at once; returns operations per second (printed, not asserted). */
async function twoThreads(
  prims: Parameters<typeof party>[0],
  body: Parameters<ReturnType<typeof party>['run']>[0],
  n: number,
): Promise<number> {
  const parties = [party(prims), party(prims)];
  await Promise.all(parties.map((p) => p.call(0, 'get'))); // started and revived
  const t0 = performance.now();
  await Promise.all(parties.map((p) => p.run(body)));
  return Math.round((2 * n) / ((performance.now() - t0) / 1000));
}

describe('local sync throughput', () => {
  it('prints the increments/s of Value.add and of get+set under withLock between two threads', async () => {
    const n = 200_000;
    const v = mp.Value('i', 0);
    const adds = await twoThreads([v], { op: 'add', value: 0, n }, n);
    expect(await v.get()).toBe(2 * n);

    const m = 50_000;
    const w = mp.Value('i', 0);
    const locked = await twoThreads([w, w.getLock()], { op: 'lockedIncrement', lock: 1, value: 0, n: m }, m);
    expect(await w.get()).toBe(2 * m);

    const x = mp.Value('i', 0, { lock: mp.Lock() });
    const plain = await twoThreads([x, x.getLock()], { op: 'lockedIncrement', lock: 1, value: 0, n: m }, m);
    expect(await x.get()).toBe(2 * m);
    console.log(
      `local Value, 2 threads: add ${adds} increments/s; get+set under withLock: RLock ${locked}/s, Lock ${plain}/s`,
    );
  });
});
