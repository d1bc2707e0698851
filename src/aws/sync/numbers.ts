/**
 * The numbers of `Value` and `Array` on DynamoDB, per type code. An item stores DynamoDB numbers
 * (decimal strings): integer codes store the UNBOUNDED sum that `ADD`/`+` produce and wrap like C
 * when read, so that `add` stays one UpdateItem; 64-bit codes come back as bigints; `f` rounds to
 * float32 when read and written. Floats are added in DynamoDB's decimal arithmetic (38 significant
 * digits), so a sum may differ from double arithmetic in its last digit (0.1 + 0.2 reads 0.3).
 */
import type { TypeCode } from '../../api/sharedctypes.js';
import { InvalidArgumentError, ProtocolError } from '../../errors.js';
import { received } from '../../validate.js';

/** One type code's conversions. */
export interface NumberCodec {
  /** The default initial value: 0, or 0n for 64-bit codes. */
  readonly zero: number | bigint;
  /** Checks a value or delta of this type and returns its DynamoDB number (wrapped / rounded). */
  encode(v: unknown, name: string): string;
  /** The value a stored number reads as (wrapped / rounded). */
  decode(n: string): number | bigint;
}

const INT_BITS: Record<string, [bits: number, signed: boolean]> = {
  b: [8, true],
  B: [8, false],
  h: [16, true],
  H: [16, false],
  i: [32, true],
  I: [32, false],
  l: [64, true],
  L: [64, false],
  q: [64, true],
  Q: [64, false],
};

/** Whether `v` is a type code. */
export function isTypeCode(v: unknown): v is TypeCode {
  return typeof v === 'string' && (v in INT_BITS || v === 'f' || v === 'd');
}

/** DynamoDB's number range: magnitudes from 1e-130 to below 1e126 (and zero). */
const DYNAMO_MIN = 1e-130;
const DYNAMO_MAX = 1e126;

/** A DynamoDB number string as an exact bigint (DynamoDB may answer `1E+21` for an integer). */
function toBigInt(n: string): bigint {
  const m = /^(-?)(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(n);
  if (!m) throw new ProtocolError(`Malformed number ${JSON.stringify(n)} in a Value or Array item`);
  const [, sign, int = '', frac = '', exp = '0'] = m;
  const e = Number(exp) - frac.length;
  let digits = BigInt(int + frac);
  if (e >= 0) digits *= 10n ** BigInt(e);
  else digits /= 10n ** BigInt(-e); // an integer code never stores a fraction; truncate if one did
  return sign === '-' ? -digits : digits;
}

function intCodec(bits: number, signed: boolean): NumberCodec {
  const wrap = (v: bigint): bigint => (signed ? BigInt.asIntN(bits, v) : BigInt.asUintN(bits, v));
  const big = bits === 64;
  return {
    zero: big ? 0n : 0,
    encode(v, name) {
      if (big && typeof v !== 'bigint')
        throw new InvalidArgumentError(`Expected ${name} to be a bigint, got ${received(v)}`);
      if (!big && (typeof v !== 'number' || !Number.isInteger(v)))
        throw new InvalidArgumentError(`Expected ${name} to be an integer, got ${received(v)}`);
      return wrap(BigInt(v as number | bigint)).toString();
    },
    decode(n) {
      const v = wrap(toBigInt(n));
      return big ? v : Number(v);
    },
  };
}

function floatCodec(single: boolean): NumberCodec {
  const round = single ? Math.fround : (x: number) => x;
  return {
    zero: 0,
    encode(v, name) {
      if (typeof v !== 'number')
        throw new InvalidArgumentError(`Expected ${name} to be a number, got ${received(v)}`);
      const x = round(v);
      const mag = Math.abs(x);
      if (!Number.isFinite(x) || (mag !== 0 && (mag < DYNAMO_MIN || mag >= DYNAMO_MAX)))
        throw new InvalidArgumentError(
          `Expected ${name} to be 0 or a finite number of magnitude from 1e-130 to below 1e126 (DynamoDB's range), got ${received(v)}`,
        );
      return String(x);
    },
    decode: (n) => round(Number(n)),
  };
}

/** The codec of type code `code` (checked by the caller). */
export function codecOf(code: TypeCode): NumberCodec {
  const int = INT_BITS[code];
  if (int) return intCodec(int[0], int[1]);
  return floatCodec(code === 'f');
}

/** Adds two stored numbers of `code` exactly (integers) or as doubles (floats): the compare-and-set path of a fenced `add`. */
export function addStored(code: TypeCode, a: string, b: string): string {
  if (code === 'f' || code === 'd') return String(Number(a) + Number(b));
  return (toBigInt(a) + toBigInt(b)).toString();
}
