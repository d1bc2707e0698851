/**
 * The application example's tasks: count the primes in a range of integers (CPU work, in a worker
 * thread of a worker Lambda), add two counts, and check one number (which throws on bad input, to
 * show how a task's error reaches the caller). Deployed with the stack of `infra.ts`; `main.ts`
 * calls them through `aws({ tasks, stack })`.
 */
import { defineTasks } from 'fanfold';

/** A half-open range of integers `[from, to)`. */
export type Span = readonly [from: number, to: number];

function isPrime(n: number): boolean {
  if (n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

/** How many primes lie in `[from, to)`. */
function countPrimes([from, to]: Span): number {
  let count = 0;
  for (let n = from; n < to; n++) if (isPrime(n)) count++;
  return count;
}

/** The reducer of `countPrimes`: associative and commutative. */
function add(a: number, b: number): number {
  return a + b;
}

/** Whether `n` is prime; a RangeError for anything but a non-negative safe integer. */
function checkPrime(n: number): boolean {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`Expected a non-negative integer, got ${n}`);
  return isPrime(n);
}

export default defineTasks({ countPrimes, add, checkPrime });
