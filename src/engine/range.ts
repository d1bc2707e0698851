/**
 * `range(start, stop, step)` as in Python: a lazy arithmetic sequence. The engine splits it into
 * chunk descriptors (`{ start, step, count }`) without ever materialising its items.
 */
import { InvalidArgumentError } from '../errors.js';

/** A Python-style range of integers. Iterable, with a known length. */
export class Range implements Iterable<number> {
  /** The first number. */
  readonly start: number;
  /** The end (excluded), as in Python. */
  readonly stop: number;
  /** The distance between two numbers (negative counts down). */
  readonly step: number;
  /** Number of items, as Python's `len(range(...))`. */
  readonly length: number;

  constructor(start: number, stop: number, step: number) {
    for (const [name, v] of [
      ['start', start],
      ['stop', stop],
      ['step', step],
    ] as const) {
      if (!Number.isSafeInteger(v)) {
        throw new InvalidArgumentError(
          `Expected range ${name} to be a safe integer, got ${String(v)} (${typeof v})`,
        );
      }
    }
    if (step === 0) throw new InvalidArgumentError('Expected range step to be non-zero, got 0 (number)');
    this.start = start;
    this.stop = stop;
    this.step = step;
    this.length = Math.max(0, Math.ceil((stop - start) / step));
  }

  /** The item at `i` (0-based), without bounds checks. */
  at(i: number): number {
    return this.start + i * this.step;
  }

  /** The numbers, in order (a `Range` is iterable, as Python's). */
  *[Symbol.iterator](): Iterator<number> {
    for (let i = 0; i < this.length; i++) yield this.start + i * this.step;
  }
}

/**
 * Python's `range`: `range(stop)`, `range(start, stop)` or `range(start, stop, step)`.
 *
 * @example
 * ```ts
 * import { local, range } from 'fanfold';
 * import tasks from './tasks.js';
 *
 * await using pool = local({ tasks }).Pool();
 * await pool.map('square', range(1_000_000)); // never materialised: chunks travel as descriptors
 * const evens = [...range(0, 10, 2)]; // [0, 2, 4, 6, 8]
 * ```
 */
export function range(stop: number): Range;
export function range(start: number, stop: number, step?: number): Range;
export function range(a: number, b?: number, step = 1): Range {
  return b === undefined ? new Range(0, a, 1) : new Range(a, b, step);
}
