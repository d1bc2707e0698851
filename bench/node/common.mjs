// Helpers shared by the Node case scripts. Each script runs one measurement and prints one JSON line
// with its own monotonic timings (performance.now(), ms), like bench/py/*.py.
import { performance } from 'node:perf_hooks';

/** Threads per pool: CPython's Pool() default on this 2-core machine, set explicitly on both sides. */
export const WORKERS = 2;

export const now = () => performance.now();

export const ms = (t0, t1) => Math.round((t1 - t0) * 1000) / 1000;

export function emit(record) {
  process.stdout.write(`${JSON.stringify({ ...record, lang: 'node', pid: process.pid })}\n`);
}

export function fail(message) {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

/** Resolves once every worker of a fanfold pool has answered once (see rendezvous in bench/tasks.ts). */
export async function warmFanfold(pool) {
  const ids = await pool.map('rendezvous', Array(WORKERS).fill(WORKERS), { chunksize: 1 });
  if (new Set(ids).size !== WORKERS) fail(`expected ${WORKERS} workers to answer, got ${[...ids]}`);
}

/** The same for a piscina pool (the worker module re-exports the tasks by name). */
export async function warmPiscina(pool) {
  const calls = Array.from({ length: WORKERS }, () => pool.run(WORKERS, { name: 'rendezvous' }));
  const ids = await Promise.all(calls);
  if (new Set(ids).size !== WORKERS) fail(`expected ${WORKERS} workers to answer, got ${ids}`);
}

/** `0, 1, …, n-1` as a plain array: the "plain numeric array" input. */
export const plainArray = (n) => Array.from({ length: n }, (_, i) => i);
