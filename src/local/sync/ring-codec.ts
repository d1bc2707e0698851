/**
 * How queue items and pipe messages become bytes. `v8.serialize` handles every structured-clone
 * value but costs an allocation and a (de)serializer object per message, which dominates a small
 * message's trip through the ring. So the common shapes (numbers, strings, booleans, null,
 * undefined, and plain arrays and objects of them) take a compact format written into one reused
 * buffer and read straight out of the ring; anything else (Map, Set, Date, BigInt, typed arrays,
 * sparse arrays, an object reached twice or a cycle) goes through `v8.serialize`, so every message
 * round-trips exactly as a structured clone would. A class instance, which would arrive without its
 * methods, is refused there (plain-data.ts); it never takes the compact path, so that path is not
 * searched.
 *
 * Format: one tag byte, `FAST` or `V8`; then the value (FAST: a type byte per value, int32 and
 * float64 little-endian, strings as a u32 byte length and UTF-8) or the v8 bytes.
 */
import v8 from 'node:v8';
import { NotSerializableError } from '../../errors.js';
import { refuseClassInstance } from '../../plain-data.js';

const FAST = 1;
const V8 = 2;
const UNDEF = 0;
const NULL = 1;
const TRUE = 2;
const FALSE = 3;
const INT = 4;
const F64 = 5;
const STR = 6;
const ARR = 7;
const OBJ = 8;
/** Deeper values go through v8 (which also handles cycles, that the fast path refuses). */
const MAX_DEPTH = 16;

let buf = Buffer.allocUnsafe(4096);
let pos = 0;
/** The containers met in the value being encoded: one met twice sends the value through v8 (identity). */
const seen: object[] = [];

function ensure(n: number): void {
  if (pos + n <= buf.length) return;
  const bigger = Buffer.allocUnsafe(Math.max(buf.length * 2, pos + n));
  buf.copy(bigger, 0, 0, pos);
  buf = bigger;
}

function writeString(s: string): void {
  ensure(5 + s.length * 3);
  buf[pos] = STR;
  const n = buf.write(s, pos + 5, 'utf8');
  buf.writeUInt32LE(n, pos + 1);
  pos += 5 + n;
}

/** Writes `v` in the fast format; false if `v` needs v8. */
function write(v: unknown, depth: number): boolean {
  switch (typeof v) {
    case 'number':
      ensure(9);
      if ((v | 0) === v && !Object.is(v, -0)) {
        buf[pos] = INT;
        buf.writeInt32LE(v, pos + 1);
        pos += 5;
      } else {
        buf[pos] = F64;
        buf.writeDoubleLE(v, pos + 1);
        pos += 9;
      }
      return true;
    case 'string':
      writeString(v);
      return true;
    case 'boolean':
      ensure(1);
      buf[pos++] = v ? TRUE : FALSE;
      return true;
    case 'undefined':
      ensure(1);
      buf[pos++] = UNDEF;
      return true;
    case 'object':
      if (v === null) {
        ensure(1);
        buf[pos++] = NULL;
        return true;
      }
      return writeContainer(v, depth);
    default:
      return false;
  }
}

function writeContainer(v: object, depth: number): boolean {
  if (depth >= MAX_DEPTH || seen.includes(v)) return false;
  const proto = Object.getPrototypeOf(v);
  if (Array.isArray(v) && proto === Array.prototype) {
    seen.push(v);
    ensure(5);
    buf[pos] = ARR;
    buf.writeUInt32LE(v.length, pos + 1);
    pos += 5;
    for (let i = 0; i < v.length; i++) {
      if (!(i in v) || !write(v[i], depth + 1)) return false;
    }
    return true;
  }
  if (proto !== Object.prototype && proto !== null) return false;
  seen.push(v);
  const keys = Object.keys(v);
  ensure(5);
  buf[pos] = OBJ;
  buf.writeUInt32LE(keys.length, pos + 1);
  pos += 5;
  for (const k of keys) {
    writeString(k);
    if (!write((v as Record<string, unknown>)[k], depth + 1)) return false;
  }
  return true;
}

/**
 * The bytes of `value`, as a view of a buffer reused by the next call (copy it before awaiting).
 * Throws {@link NotSerializableError} (naming `what`) for a value no structured clone can carry.
 */
export function encode(value: unknown, what: string): Uint8Array {
  pos = 0;
  ensure(1);
  buf[pos++] = FAST;
  seen.length = 0;
  const fast = write(value, 0);
  seen.length = 0;
  if (fast) return buf.subarray(0, pos);
  // Off the fast path only (a class instance never takes it): it would arrive without its methods.
  refuseClassInstance(value, what, undefined, 'the receiver');
  let bytes: Uint8Array;
  try {
    bytes = v8.serialize(value);
  } catch (e) {
    throw new NotSerializableError(what, undefined, e);
  }
  const out = Buffer.allocUnsafe(bytes.length + 1);
  out[0] = V8;
  out.set(bytes, 1);
  return out;
}

/** Reads a value of the fast format from `b` at `at`; returns it and the position after it. */
function read(b: Buffer, at: number): [unknown, number] {
  switch (b[at]) {
    case UNDEF:
      return [undefined, at + 1];
    case NULL:
      return [null, at + 1];
    case TRUE:
      return [true, at + 1];
    case FALSE:
      return [false, at + 1];
    case INT:
      return [b.readInt32LE(at + 1), at + 5];
    case F64:
      return [b.readDoubleLE(at + 1), at + 9];
    case STR: {
      const end = at + 5 + b.readUInt32LE(at + 1);
      return [b.toString('utf8', at + 5, end), end];
    }
    case ARR: {
      const n = b.readUInt32LE(at + 1);
      const out: unknown[] = new Array(n);
      let p = at + 5;
      for (let i = 0; i < n; i++) [out[i], p] = read(b, p);
      return [out, p];
    }
    case OBJ: {
      const n = b.readUInt32LE(at + 1);
      const out: Record<string, unknown> = {};
      let p = at + 5;
      for (let i = 0; i < n; i++) {
        const [k, q] = read(b, p);
        const [v, r] = read(b, q);
        // An own "__proto__" key (as a structured clone makes it), not a prototype change.
        if (k === '__proto__')
          Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
        else out[k as string] = v;
        p = r;
      }
      return [out, p];
    }
    default:
      throw new Error(`unknown value type ${String(b[at])} at byte ${at}`);
  }
}

/** The value encoded in `b[start, end)` (which may be a view of shared memory: read, never kept). */
export function decode(b: Buffer, start: number, end: number): unknown {
  if (b[start] === V8) return v8.deserialize(b.subarray(start + 1, end));
  if (b[start] !== FAST) throw new Error(`unknown message format ${String(b[start])}`);
  const [value, after] = read(b, start + 1);
  if (after !== end) throw new Error(`message of ${end - start} bytes ends at ${after - start}`);
  return value;
}
