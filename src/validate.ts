/**
 * The one place where arguments and options are checked. Messages name the option, what is
 * allowed and what was received: `Expected options.processes to be an integer >= 1, got 0 (number)`.
 */
import { InvalidArgumentError, UnknownTaskError } from './errors.js';

/** Describes a received value for an error message: `0 (number)`, `"x" (string)`, `null`. */
export function received(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return `${JSON.stringify(v)} (string)`;
  if (typeof v === 'object') return Array.isArray(v) ? 'an array' : `an object`;
  if (typeof v === 'function') return 'a function';
  return `${String(v)} (${typeof v})`;
}

/** An integer within bounds, or undefined when `v` is undefined. */
export function optionalInteger(
  v: unknown,
  name: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new InvalidArgumentError(`Expected ${name} to be an integer ${range}, got ${received(v)}`);
  }
  return v;
}

/** A function, or undefined. */
export function optionalFunction<F>(v: unknown, name: string): F | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'function')
    throw new InvalidArgumentError(`Expected ${name} to be a function, got ${received(v)}`);
  return v as F;
}

/** An array, or undefined. */
export function optionalArray(v: unknown, name: string): readonly unknown[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v))
    throw new InvalidArgumentError(`Expected ${name} to be an array, got ${received(v)}`);
  return v;
}

/** An options object (or undefined → `{}`), rejecting unknown keys so no option is silently ignored. */
export function options<T extends object>(v: unknown, name: string, known: readonly string[]): Partial<T> {
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new InvalidArgumentError(`Expected ${name} to be an object, got ${received(v)}`);
  }
  for (const k of Object.keys(v)) {
    if (!known.includes(k)) {
      throw new InvalidArgumentError(`Unknown option ${name}.${k}; expected one of: ${known.join(', ')}`);
    }
  }
  return v as Partial<T>;
}

/**
 * A timeout in milliseconds: undefined (wait forever) or a number >= 0, `Infinity` only where
 * `infinite` allows it (e.g. `Connection.poll(Infinity)`).
 */
export function optionalTimeout(v: unknown, name = 'timeoutMs', infinite = false): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || Number.isNaN(v) || v < 0 || (!infinite && !Number.isFinite(v))) {
    throw new InvalidArgumentError(`Expected ${name} to be a number >= 0, got ${received(v)}`);
  }
  return v;
}

/** The `{ block, timeoutMs }` options of a primitive's `acquire`, `put` and `get`: block defaults to true. */
export function blockOptions(v: unknown): { block: boolean; timeoutMs: number | undefined } {
  const o = options<{ block: unknown; timeoutMs: unknown }>(v, 'options', ['block', 'timeoutMs']);
  if (o.block !== undefined && typeof o.block !== 'boolean') {
    throw new InvalidArgumentError(`Expected options.block to be a boolean, got ${received(o.block)}`);
  }
  return { block: o.block ?? true, timeoutMs: optionalTimeout(o.timeoutMs, 'options.timeoutMs') };
}

/** A task name defined by the tasks module. */
export function taskName(v: unknown, name: string, known: readonly string[]): string {
  if (typeof v !== 'string')
    throw new InvalidArgumentError(`Expected ${name} to be a task name (string), got ${received(v)}`);
  if (!known.includes(v)) throw new UnknownTaskError(v, known);
  return v;
}
