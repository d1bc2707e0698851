/**
 * @internal The element access of `Value` and `Array` for each type code: atomic get, set and add
 * on a typed-array view of the arena. Integer codes wrap like C (the typed array's conversion);
 * floats are read and written through their bit pattern so that a read is never torn, and added
 * with a compare-exchange loop (Atomics has no float add).
 */
import type { TypeCode } from '../../api/sharedctypes.js';
import { InvalidArgumentError } from '../../errors.js';
import { received } from '../../validate.js';

/** Element access for one type code over one region. */
export interface Cells {
  /** Bytes per element. */
  readonly bytes: number;
  /** The default initial value: 0, or 0n for 64-bit integer codes. */
  readonly zero: number | bigint;
  /** Checks that `v` is a value of this type (a bigint for 64-bit integers, an integer for others). */
  check(v: unknown, name: string): number | bigint;
  get(i: number): number | bigint;
  set(i: number, v: number | bigint): void;
  /** Adds atomically; returns the new (wrapped) value. */
  add(i: number, delta: number | bigint): number | bigint;
}

/** The most elements an `Array` may have (the arena is at most 2 GiB). */
export const MAX_LENGTH = 0x1000_0000;

type IntArray = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;
interface IntCtor {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): IntArray;
  new (length: number): IntArray;
}

const INTS: Record<string, IntCtor> = {
  b: Int8Array,
  B: Uint8Array,
  h: Int16Array,
  H: Uint16Array,
  i: Int32Array,
  I: Uint32Array,
};
const CODES: readonly string[] = ['b', 'B', 'h', 'H', 'i', 'I', 'l', 'L', 'q', 'Q', 'f', 'd'];

/** Whether `v` is a type code. */
export function isTypeCode(v: unknown): v is TypeCode {
  return typeof v === 'string' && CODES.includes(v);
}

function bad(name: string, what: string, v: unknown): never {
  throw new InvalidArgumentError(`Expected ${name} to be ${what}, got ${received(v)}`);
}

function intCells(code: string, sab: SharedArrayBuffer, at: number, length: number): Cells {
  const Ctor = INTS[code]!;
  const view = new Ctor(sab, at, length);
  const scratch = new Ctor(1);
  return {
    bytes: view.BYTES_PER_ELEMENT,
    zero: 0,
    check: (v, name) => (typeof v === 'number' && Number.isInteger(v) ? v : bad(name, 'an integer', v)),
    get: (i) => Atomics.load(view, i),
    set: (i, v) => void Atomics.store(view, i, v as number),
    add: (i, d) => {
      scratch[0] = d as number; // the delta wrapped exactly, as Atomics.add wraps it
      const wrapped = scratch[0]!;
      scratch[0] = Atomics.add(view, i, d as number) + wrapped;
      return scratch[0]!;
    },
  };
}

function bigCells(signed: boolean, sab: SharedArrayBuffer, at: number, length: number): Cells {
  const view = signed ? new BigInt64Array(sab, at, length) : new BigUint64Array(sab, at, length);
  const wrap = (v: bigint): bigint => (signed ? BigInt.asIntN(64, v) : BigInt.asUintN(64, v));
  return {
    bytes: 8,
    zero: 0n,
    check: (v, name) => (typeof v === 'bigint' ? v : bad(name, 'a bigint', v)),
    get: (i) => Atomics.load(view, i),
    set: (i, v) => void Atomics.store(view, i, wrap(v as bigint)),
    add: (i, d) => wrap(Atomics.add(view, i, wrap(d as bigint)) + (d as bigint)),
  };
}

function floatCells(double: boolean, sab: SharedArrayBuffer, at: number, length: number): Cells {
  // The bits live in an integer view; a scratch buffer converts between bits and floats.
  const check = (v: unknown, name: string): number => (typeof v === 'number' ? v : bad(name, 'a number', v));
  if (double) {
    const bits = new BigInt64Array(sab, at, length);
    const f = new Float64Array(1);
    const b = new BigInt64Array(f.buffer);
    const toFloat = (x: bigint): number => {
      b[0] = x;
      return f[0]!;
    };
    const toBits = (x: number): bigint => {
      f[0] = x;
      return b[0]!;
    };
    return {
      bytes: 8,
      zero: 0,
      check,
      get: (i) => toFloat(Atomics.load(bits, i)),
      set: (i, v) => void Atomics.store(bits, i, toBits(v as number)),
      add: (i, d) => {
        for (;;) {
          const old = Atomics.load(bits, i);
          const next = toFloat(old) + (d as number);
          if (Atomics.compareExchange(bits, i, old, toBits(next)) === old) return next;
        }
      },
    };
  }
  const bits = new Int32Array(sab, at, length);
  const f = new Float32Array(1);
  const b = new Int32Array(f.buffer);
  const toFloat = (x: number): number => {
    b[0] = x;
    return f[0]!;
  };
  const toBits = (x: number): number => {
    f[0] = x;
    return b[0]!;
  };
  return {
    bytes: 4,
    zero: 0,
    check,
    get: (i) => toFloat(Atomics.load(bits, i)),
    set: (i, v) => void Atomics.store(bits, i, toBits(v as number)),
    add: (i, d) => {
      for (;;) {
        const old = Atomics.load(bits, i);
        const next = Math.fround(toFloat(old) + (d as number));
        if (Atomics.compareExchange(bits, i, old, toBits(next)) === old) return next;
      }
    },
  };
}

/** Element access for `length` elements of type `code` at byte offset `at` of `sab` (8-aligned). */
export function cellsFor(code: TypeCode, sab: SharedArrayBuffer, at: number, length: number): Cells {
  switch (code) {
    case 'q':
    case 'l':
      return bigCells(true, sab, at, length);
    case 'Q':
    case 'L':
      return bigCells(false, sab, at, length);
    case 'f':
      return floatCells(false, sab, at, length);
    case 'd':
      return floatCells(true, sab, at, length);
    default:
      return intCells(code, sab, at, length);
  }
}
