/**
 * The size DynamoDB bills an item at, from its attributes, by the rules AWS documents for item
 * size: each attribute's name (UTF-8 bytes) plus its value: a string its UTF-8 bytes, a binary its
 * bytes, a number about one byte per two significant digits plus one, a boolean or null one byte,
 * a map or list 3 bytes plus one per element plus its elements (map keys counted as names), a set
 * the sum of its elements. A write costs one unit per started KB (two in a transaction), a strongly
 * consistent read one unit per started 4 KB.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

function numberSize(n: string): number {
  const digits = n.replace(/^-/, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(Math.max(1, digits.length) / 2) + 1;
}

/** Bytes of a binary: a Uint8Array, or base64 text as the wire's JSON carries it. */
function binarySize(b: Uint8Array | string): number {
  return typeof b === 'string' ? Buffer.from(b, 'base64').byteLength : b.byteLength;
}

/**
 * Bytes of one attribute value, as the SDK holds it or as the wire's JSON carries it (binaries
 * as base64 text).
 */
export function valueSize(v: AttributeValue): number {
  if (v.S !== undefined) return Buffer.byteLength(v.S);
  if (v.N !== undefined) return numberSize(v.N);
  if (v.B !== undefined) return binarySize(v.B as Uint8Array | string);
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
  if (v.SS) return v.SS.reduce((n, s) => n + Buffer.byteLength(s), 0);
  if (v.NS) return v.NS.reduce((n, s) => n + numberSize(s), 0);
  if (v.BS) return v.BS.reduce((n, b) => n + binarySize(b as Uint8Array | string), 0);
  if (v.L) return 3 + v.L.reduce((n, e) => n + 1 + valueSize(e), 0);
  if (v.M)
    return 3 + Object.entries(v.M).reduce((n, [k, e]) => n + 1 + Buffer.byteLength(k) + valueSize(e), 0);
  return 0;
}

/** Bytes of an item. */
export function itemSize(item: Record<string, AttributeValue>): number {
  return Object.entries(item).reduce((n, [k, v]) => n + Buffer.byteLength(k) + valueSize(v), 0);
}

/** Write units of writing an item of `bytes` (transactional: twice). */
export function writeUnits(bytes: number, transactional = false): number {
  return Math.max(1, Math.ceil(bytes / 1024)) * (transactional ? 2 : 1);
}

/** Read units of a strongly consistent read of `bytes`. */
export function readUnits(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / 4096));
}
