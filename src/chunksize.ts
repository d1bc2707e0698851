/**
 * CPython's default chunk size: the one rule, for the planner (`engine/plan.ts`), which splits a
 * job, and for an estimate (`views/cost.ts`), which predicts the split before a job exists.
 */

/** CPython's `Pool._map_async` rule: ceil(n / (4 × workers)), and 0 for an empty input. */
export function defaultChunksize(n: number, workers: number): number {
  if (n === 0) return 0;
  const per = workers * 4;
  return Math.floor(n / per) + (n % per ? 1 : 0);
}
