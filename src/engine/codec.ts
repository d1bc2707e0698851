/**
 * Encoding of items and results as they cross threads, queues and tables. Lists of plain numbers
 * travel as Float64Array bytes (transferable, no per-item cost); everything else as `v8.serialize`
 * (structured-clone types: Map, Set, Date, BigInt, typed arrays, nested objects). See
 * bench/RESULTS.md for the measurement behind the choice.
 */
import { deserialize, serialize } from 'node:v8';
import { NotSerializableError, ProtocolError } from '../errors.js';
import { refuseClassInstance, refuseClassInstances } from '../plain-data.js';
import type { BlobStore, Data, Encoding } from '../ports.js';

/** Inline encoded bytes. */
export interface Encoded {
  readonly enc: Encoding;
  readonly bytes: Uint8Array;
}

/** True when every element is a number (so the list can travel as Float64Array bytes). */
export function allNumbers(items: readonly unknown[]): boolean {
  for (let i = 0; i < items.length; i++) if (typeof items[i] !== 'number') return false;
  return true;
}

/** Encodes a list of values. `what` and `offset` name the position of an item that cannot be serialised. */
export function encodeList(items: readonly unknown[], what = 'Item', offset = 0): Encoded {
  if (items.length > 0 && allNumbers(items)) {
    return { enc: 'f64', bytes: new Uint8Array(Float64Array.from(items as readonly number[]).buffer) };
  }
  return { enc: 'v8', bytes: serializeOrName(items, what, offset) };
}

/**
 * Encodes a chunk's items: numbers as Float64Array bytes, anything else with v8; `offset` names
 * positions in errors. `numeric` saves the scan when the caller already knows.
 */
export function encodeItems(items: readonly unknown[], offset: number, numeric = allNumbers(items)): Encoded {
  if (numeric && items.length > 0) return encodeNumbers(items, 0, items.length);
  // A task's arguments: an instance would lose its methods on the way (plain-data.ts).
  refuseClassInstances(items, 'Item', offset);
  return encodeList(items, 'Item', offset);
}

/** Float64Array bytes of the `count` numbers of `items` from `from`, without slicing the list first. */
export function encodeNumbers(items: readonly unknown[], from: number, count: number): Encoded {
  const f = new Float64Array(count);
  for (let j = 0; j < count; j++) f[j] = items[from + j] as number;
  return { enc: 'f64', bytes: new Uint8Array(f.buffer) };
}

/**
 * Float64Array bytes of the `count` items of `items` from `from` when every one is a number, else
 * undefined: the check rides on the copy, instead of a pass of its own over the whole input first.
 */
export function encodeIfNumbers(items: readonly unknown[], from: number, count: number): Encoded | undefined {
  // Most lists that are not numbers say so at once: no buffer is made for them.
  if (count === 0 || typeof items[from] !== 'number') return undefined;
  const f = new Float64Array(count);
  for (let j = 0; j < count; j++) {
    const x = items[from + j];
    if (typeof x !== 'number') return undefined;
    f[j] = x;
  }
  return { enc: 'f64', bytes: new Uint8Array(f.buffer) };
}

/**
 * Encodes one value (a reducer's initial value, a partial or a fold result) as a one-item list. A
 * class instance in it is refused with `NotSerializableError`, as in an item or a result: it would
 * reach `to` as a plain object without its methods.
 */
export function encodeValue(value: unknown, what = 'Value', to = 'the reducer'): Encoded {
  refuseClassInstance(value, what, undefined, to);
  return { enc: 'v8', bytes: serializeOrName([value], what, undefined) };
}

function serializeOrName(items: readonly unknown[], what: string, offset: number | undefined): Uint8Array {
  try {
    return serialize(items);
  } catch (cause) {
    // Find the first item that fails so the error names its position.
    for (let i = 0; i < items.length; i++) {
      try {
        serialize(items[i]);
      } catch (inner) {
        throw new NotSerializableError(what, offset === undefined ? undefined : offset + i, inner);
      }
    }
    throw new NotSerializableError(what, undefined, cause);
  }
}

/** Decodes a list encoded by {@link encodeList}. Numbers come back as a Float64Array (array-like). */
export function decodeList(e: Encoded): ArrayLike<unknown> {
  if (e.enc === 'f64') return f64View(e.bytes);
  const v = deserialize(e.bytes);
  if (!Array.isArray(v)) throw new ProtocolError('Malformed encoded list: not an array');
  return v;
}

/** A Float64Array over the bytes (copied when the bytes are not 8-byte aligned). */
export function f64View(bytes: Uint8Array): Float64Array {
  if (bytes.byteLength % 8 !== 0) throw new ProtocolError('Malformed f64 data: length not a multiple of 8');
  if (bytes.byteOffset % 8 === 0)
    return new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
  return new Float64Array(bytes.slice().buffer);
}

/** Decodes a one-item list made by {@link encodeValue}. */
export function decodeValue(e: Encoded): unknown {
  return decodeList(e)[0];
}

/**
 * Stores the bytes inline, or in the blob store under `key` when they exceed `limit`. `owned`: the
 * caller made the bytes for this and never touches them again (`PutOptions.owned`).
 */
export async function spill(
  e: Encoded,
  limit: number,
  blobs: BlobStore,
  key: string,
  owned = false,
): Promise<Data> {
  if (e.bytes.byteLength <= limit) return e;
  await blobs.put(key, e.bytes, owned ? { owned } : undefined);
  return { enc: e.enc, blob: key, size: e.bytes.byteLength };
}

/**
 * Inline bytes of data that may have been stored by reference (a slice: one ranged read). `lend`:
 * the caller only reads the bytes (`GetOptions.lend`), so a store in memory need not copy them.
 */
export async function unspill(d: Data, blobs: BlobStore, lend = false): Promise<Encoded> {
  if ('bytes' in d) return d;
  const options = lend ? { lend } : undefined;
  const bytes =
    d.offset === undefined
      ? await blobs.get(d.blob, undefined, options)
      : await blobs.get(d.blob, { start: d.offset, end: d.offset + d.size }, options);
  if (bytes.byteLength !== d.size) {
    throw new ProtocolError(`Blob ${d.blob} has ${bytes.byteLength} bytes, expected ${d.size}`);
  }
  return { enc: d.enc, bytes };
}
