/**
 * The local `Value` and `Array`: typed-array views over an arena region. Every element is read and
 * written with Atomics (a torn read is impossible); integers wrap like C on `set` and `add`;
 * `add` is `Atomics.add` for integers and a compare-exchange loop on the bit pattern for floats.
 * The optional lock (an `RLock` by default, as CPython) travels in the handle with the region.
 */
import type { PrimitiveModule, Primitives } from '../../api/context.js';
import type { SharedArray, SharedOptions, TypeCode, Value, ValueOf } from '../../api/sharedctypes.js';
import type { Lock, RLock } from '../../api/synchronize.js';
import { InvalidArgumentError, ProtocolError } from '../../errors.js';
import { noteShareable, SHARE, type SyncHandle } from '../../handles.js';
import { options, received } from '../../validate.js';
import { arena } from './arena.js';
import { handleData, intField } from './checks.js';
import { type LocalLock, LocalRLock, localLockArg, reviveLockHandle } from './locks.js';
import { type Cells, cellsFor, isTypeCode, MAX_LENGTH } from './typed-cells.js';

/** Handle data: the region, its type and length, and the lock's handle (or null for none). */
interface Layout {
  readonly at: number;
  readonly typecode: TypeCode;
  readonly length: number;
  readonly lock: LocalLock | LocalRLock | undefined;
}

function typecodeArg(v: unknown): TypeCode {
  if (!isTypeCode(v)) {
    throw new InvalidArgumentError(
      `Expected typecode to be one of b B h H i I l L q Q f d, got ${received(v)}`,
    );
  }
  return v;
}

/** Checks `options.lock`; the returned function makes the lock (after every argument is checked). */
function lockOption(opts: unknown): () => LocalLock | LocalRLock | undefined {
  const o = options<SharedOptions>(opts, 'options', ['lock']);
  if (o.lock === undefined || o.lock === true) return () => new LocalRLock();
  if (o.lock === false) return () => undefined;
  const given = localLockArg(o.lock, 'options.lock');
  return () => given;
}

/** What `Value` and `Array` share: the cells, the lock and the handle. */
abstract class Shared<C extends TypeCode> {
  readonly typecode: C;
  protected readonly cells: Cells;
  readonly #layout: Layout;

  constructor(layout: Layout) {
    noteShareable(this);
    this.typecode = layout.typecode as C;
    this.#layout = layout;
    this.cells = cellsFor(layout.typecode, arena().sab, layout.at, layout.length);
  }

  getLock(): Lock | RLock {
    const lock = this.#layout.lock;
    if (!lock)
      throw new InvalidArgumentError(`This ${this.#kind()} was made with lock: false and has no lock`);
    return lock;
  }

  async withLock<R>(fn: () => R | Promise<R>): Promise<R> {
    return this.getLock().withLock(fn);
  }

  #kind(): 'Value' | 'Array' {
    return this instanceof LocalValue ? 'Value' : 'Array';
  }

  [SHARE](): SyncHandle {
    const { at, typecode, length, lock } = this.#layout;
    return {
      $fanfold: 'handle',
      ctx: 'local',
      kind: this.#kind(),
      data: { at, typecode, length, lock: lock ? lock[SHARE]() : null },
    };
  }
}

/** A single shared number (see {@link Value}). */
export class LocalValue<C extends TypeCode = TypeCode> extends Shared<C> implements Value<C> {
  readonly kind = 'Value';

  async get(): Promise<ValueOf<C>> {
    return this.cells.get(0) as ValueOf<C>;
  }

  async set(value: ValueOf<C>): Promise<void> {
    this.cells.set(0, this.cells.check(value, 'value'));
  }

  async add(delta: ValueOf<C>): Promise<ValueOf<C>> {
    return this.cells.add(0, this.cells.check(delta, 'delta')) as ValueOf<C>;
  }
}

/** A fixed-length shared array (see {@link SharedArray}). */
export class LocalArray<C extends TypeCode = TypeCode> extends Shared<C> implements SharedArray<C> {
  readonly kind = 'Array';
  readonly length: number;

  constructor(layout: Layout) {
    super(layout);
    this.length = layout.length;
  }

  /** Python's index rules: -length … length-1. */
  #index(i: unknown): number {
    if (typeof i !== 'number' || !Number.isInteger(i) || i < -this.length || i >= this.length) {
      throw new InvalidArgumentError(
        `Expected index to be an integer from ${-this.length} to ${this.length - 1} (length ${this.length}), got ${received(i)}`,
      );
    }
    return i < 0 ? i + this.length : i;
  }

  async get(index: number): Promise<ValueOf<C>> {
    return this.cells.get(this.#index(index)) as ValueOf<C>;
  }

  async set(index: number, value: ValueOf<C>): Promise<void> {
    const i = this.#index(index);
    this.cells.set(i, this.cells.check(value, 'value'));
  }

  async add(index: number, delta: ValueOf<C>): Promise<ValueOf<C>> {
    const i = this.#index(index);
    return this.cells.add(i, this.cells.check(delta, 'delta')) as ValueOf<C>;
  }

  /** Python's slice bounds: negatives count from the end, out-of-range bounds are clamped. */
  #bound(v: unknown, name: string, dflt: number): number {
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      throw new InvalidArgumentError(`Expected ${name} to be an integer, got ${received(v)}`);
    }
    const n = v < 0 ? v + this.length : v;
    return Math.min(Math.max(n, 0), this.length);
  }

  async slice(start?: number, end?: number): Promise<ValueOf<C>[]> {
    const s = this.#bound(start, 'start', 0);
    const e = this.#bound(end, 'end', this.length);
    const out: ValueOf<C>[] = [];
    for (let i = s; i < e; i++) out.push(this.cells.get(i) as ValueOf<C>);
    return out;
  }

  async setSlice(start: number, values: readonly ValueOf<C>[]): Promise<void> {
    if (!Array.isArray(values))
      throw new InvalidArgumentError(`Expected values to be an array, got ${received(values)}`);
    const s = this.#bound(start, 'start', 0);
    if (s + values.length > this.length) {
      throw new InvalidArgumentError(
        `Cannot write ${values.length} values from index ${s} into an Array of length ${this.length}`,
      );
    }
    const checked = values.map((v, i) => this.cells.check(v, `values[${i}]`)); // all checked before any write
    for (const [i, v] of checked.entries()) this.cells.set(s + i, v);
  }
}

function makeValue(typecode: TypeCode, initial?: unknown, opts?: SharedOptions): LocalValue {
  const tc = typecodeArg(typecode);
  const lock = lockOption(opts);
  const probe = cellsFor(tc, new SharedArrayBuffer(8), 0, 1);
  const v = initial === undefined ? probe.zero : probe.check(initial, 'initial');
  const at = arena().alloc(probe.bytes);
  const value = new LocalValue({ at, typecode: tc, length: 1, lock: lock() });
  void value.set(v as never);
  return value;
}

function makeArray(typecode: TypeCode, sizeOrValues: unknown, opts?: SharedOptions): LocalArray {
  const tc = typecodeArg(typecode);
  const lock = lockOption(opts);
  const probe = cellsFor(tc, new SharedArrayBuffer(8), 0, 1);
  let values: unknown[] = [];
  let length: number;
  if (Array.isArray(sizeOrValues)) {
    values = sizeOrValues.map((v, i) => probe.check(v, `values[${i}]`));
    length = values.length;
  } else if (typeof sizeOrValues === 'number' && Number.isInteger(sizeOrValues) && sizeOrValues >= 0) {
    length = sizeOrValues;
  } else {
    throw new InvalidArgumentError(
      `Expected sizeOrValues to be an integer >= 0 or an array, got ${received(sizeOrValues)}`,
    );
  }
  if (length > MAX_LENGTH)
    throw new InvalidArgumentError(`Expected at most ${MAX_LENGTH} elements, got ${length}`);
  // A zero-length array still takes 8 bytes so that its handle names a real region.
  const at = arena().alloc(Math.max(8, length * probe.bytes));
  const arr = new LocalArray({ at, typecode: tc, length, lock: lock() });
  void arr.setSlice(0, values as never);
  return arr;
}

function reviver(kind: 'Value' | 'Array') {
  return (h: SyncHandle): LocalValue | LocalArray => {
    const data = handleData(h.data, kind);
    if (!isTypeCode(data.typecode))
      throw new ProtocolError(`Malformed ${kind} handle: typecode is ${received(data.typecode)}`);
    const length = intField(
      data,
      'length',
      kind,
      kind === 'Value' ? 1 : 0,
      kind === 'Value' ? 1 : MAX_LENGTH,
    );
    const bytes = Math.max(8, length * cellsFor(data.typecode, new SharedArrayBuffer(8), 0, 1).bytes);
    arena().check(data.at, bytes, kind);
    const lock = data.lock === null ? undefined : reviveLockHandle(data.lock, kind);
    const layout: Layout = { at: data.at as number, typecode: data.typecode, length, lock };
    return kind === 'Value' ? new LocalValue(layout) : new LocalArray(layout);
  };
}

/** `Value` and `Array` of the local context. */
export const sharedValues: PrimitiveModule<void> = {
  make: (): Partial<Primitives> => ({
    Value: makeValue as Primitives['Value'],
    Array: makeArray as Primitives['Array'],
  }),
  revive: { Value: reviver('Value'), Array: reviver('Array') },
};
