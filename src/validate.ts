/**
 * The one place where arguments and options are checked. Messages name the option, what is
 * allowed and what was received: `Expected options.processes to be an integer >= 1, got 0 (number)`.
 */
import { InvalidArgumentError, PayloadTooLargeError, UnknownTaskError } from './errors.js';
import type { ByteRange, ChunkResult, Data, JobKind, JobSpec, ReceiveOptions } from './ports.js';

/** Strings longer than this are cut in messages: an error names a value, it does not carry it. */
const SHOWN_CHARS = 60;

/** Describes a received value for an error message: `0 (number)`, `"x" (string)`, `null`. */
export function received(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'string')
    return `${JSON.stringify(v.length > SHOWN_CHARS ? `${v.slice(0, SHOWN_CHARS)}…` : v)} (string)`;
  if (typeof v === 'object') return Array.isArray(v) ? 'an array' : `an object`;
  if (typeof v === 'function') return 'a function';
  return `${String(v)} (${typeof v})`;
}

/** Throws `Expected ${name} to be ${what}, got …`: the one wording of every check here. */
function refuse(name: string, what: string, v: unknown): never {
  throw new InvalidArgumentError(`Expected ${name} to be ${what}, got ${received(v)}`);
}

/** An integer within bounds (`max` inclusive). */
export function integer(v: unknown, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    refuse(name, `an integer ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`}`, v);
  return v;
}

/** An integer within bounds, or undefined when `v` is undefined. */
export function optionalInteger(
  v: unknown,
  name: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  return v === undefined ? undefined : integer(v, name, min, max);
}

/** A finite number. */
export function finiteNumber(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) refuse(name, 'a finite number', v);
  return v;
}

/** A finite number from `min` to `max` (both inclusive). */
export function numberIn(v: unknown, name: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)
    refuse(name, `a number from ${min} to ${max}`, v);
  return v;
}

/** A finite number >= 0 (a duration in ms, a delay). */
export function nonNegative(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) refuse(name, 'a number >= 0', v);
  return v;
}

/** A string of at least `minLength` characters. */
export function nonEmptyString(v: unknown, name: string, minLength = 1): string {
  if (typeof v !== 'string' || v.length < minLength)
    refuse(name, minLength === 1 ? 'a non-empty string' : `a string of at least ${minLength} characters`, v);
  return v;
}

/** One of the `allowed` strings. */
export function oneOf<T extends string>(v: unknown, name: string, allowed: readonly T[]): T {
  if (!allowed.includes(v as T)) refuse(name, `one of ${allowed.join(', ')}`, v);
  return v as T;
}

/** Polling or backoff bounds `{ min, max }` with `0 < min <= max` (ms). */
export function pollBounds(v: unknown, name: string): { readonly min: number; readonly max: number } {
  const b = v as { min?: unknown; max?: unknown } | null;
  if (
    typeof b !== 'object' ||
    b === null ||
    typeof b.min !== 'number' ||
    typeof b.max !== 'number' ||
    !(Number.isFinite(b.min) && b.min > 0 && b.max >= b.min)
  )
    refuse(name, '{ min, max } with 0 < min <= max', v);
  return { min: b.min as number, max: b.max as number };
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
 * A timeout in milliseconds: undefined (wait forever) or a number, `Infinity` only where `infinite`
 * allows it (e.g. `Connection.poll(Infinity)`). A negative timeout counts as 0 (one attempt, no
 * wait), as every timeout of CPython's multiprocessing treats it; NaN and anything but a number are
 * refused (CPython raises a TypeError for a string).
 */
export function optionalTimeout(v: unknown, name = 'timeoutMs', infinite = false): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || Number.isNaN(v) || (v > 0 && !infinite && !Number.isFinite(v))) {
    throw new InvalidArgumentError(
      `Expected ${name} to be ${infinite ? 'a number' : 'a finite number'} (a negative one counts as 0), got ${received(v)}`,
    );
  }
  return Math.max(0, v);
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

const JOB_KINDS: readonly JobKind[] = ['map', 'starmap', 'mapReduce'];

/** The fields of a `JobStore.createJob` spec that every store checks before it writes. */
export function jobSpec(spec: JobSpec): JobSpec {
  nonEmptyString(spec.id, 'spec.id');
  oneOf(spec.kind, 'spec.kind', JOB_KINDS);
  if (spec.total !== undefined) integer(spec.total, 'spec.total', 0);
  finiteNumber(spec.deadline, 'spec.deadline');
  return spec;
}

/** Inline bytes that a store keeps in one item: at most `maxBytes` (a reference passes as it is). */
export function inlineData(data: Data, what: string, maxBytes: number): void {
  if ('bytes' in data && data.bytes.byteLength > maxBytes)
    throw new PayloadTooLargeError(what, data.bytes.byteLength, maxBytes);
}

/** The entries of a `JobStore.completeChunks` call that every store checks before it writes. */
export function chunkResults(entries: readonly ChunkResult[], maxInlineBytes: number): void {
  for (const e of entries) {
    integer(e.index, 'index', 0);
    inlineData(e.result, `Result of chunk ${e.index}`, maxInlineBytes);
  }
}

/** The options of a `WorkQueue.receive` that every queue checks: 1 to 10 messages (as SQS), waits >= 0. */
export function receiveOptions(o: ReceiveOptions): ReceiveOptions {
  integer(o.max, 'options.max', 1, 10);
  nonNegative(o.waitMs, 'options.waitMs');
  if (o.visibilityMs !== undefined) nonNegative(o.visibilityMs, 'options.visibilityMs');
  return o;
}

/** A `BlobStore.get` range that every blob store checks: `0 <= start < end`, safe integers. */
export function byteRange(r: ByteRange, name = 'range'): ByteRange {
  if (typeof r !== 'object' || r === null) refuse(name, 'an object { start, end }', r);
  integer(r.start, `${name}.start`, 0);
  integer(r.end, `${name}.end`, r.start + 1);
  return r;
}
