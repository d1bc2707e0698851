/**
 * Planning: CPython's default chunk size, and the split of a sized input into chunk inputs. Lists
 * of numbers travel as Float64Array bytes; ranges as descriptors; anything else as v8 bytes.
 */
import { InvalidArgumentError } from '../errors.js';
import { anyShareables, toWire } from '../handles.js';
import type { BlobStore, ChunkInput } from '../ports.js';
import { received } from '../validate.js';
import { encodeIfNumbers, encodeItems, spill } from './codec.js';
import { Range } from './range.js';

/** A job's input once its size is known. */
export type SizedInput = Range | readonly unknown[];

export { defaultChunksize } from '../chunksize.js';

/**
 * The most items `map` reads from an iterable before refusing it: an endless generator would
 * otherwise fill memory for half a minute, the event loop blocked, and end in V8's own RangeError.
 * `imap` reads its input lazily and has no such bound; arrays and `range()` are sized already.
 */
export const MAX_ITERATED_ITEMS = 2 ** 24;

/** Items read between two turns of the event loop, so that reading a long iterable never blocks it. */
const READ_SLICE = 65_536;

function tooMany(): InvalidArgumentError {
  return new InvalidArgumentError(
    `Expected items to yield at most ${MAX_ITERATED_ITEMS} items (map reads its whole input first, ` +
      "as CPython's list(iterable)), got more: use imap or imapUnordered for an endless or longer input",
  );
}

/** Reads any input into a sized one (CPython's `map` does `list(iterable)` too). */
export async function toSized(input: unknown): Promise<SizedInput> {
  if (input instanceof Range || Array.isArray(input)) return input;
  if (input !== null && typeof input === 'object') {
    const out: unknown[] = [];
    if (Symbol.asyncIterator in input) {
      for await (const x of input as AsyncIterable<unknown>) {
        if (out.length === MAX_ITERATED_ITEMS) throw tooMany();
        out.push(x);
      }
      return out;
    }
    if (Symbol.iterator in input) {
      for (const x of input as Iterable<unknown>) {
        if (out.length === MAX_ITERATED_ITEMS) throw tooMany();
        out.push(x);
        if (out.length % READ_SLICE === 0) await new Promise((r) => setImmediate(r));
      }
      return out;
    }
  }
  throw new InvalidArgumentError(
    `Expected items to be an array, an iterable, an async iterable or a range(), got ${received(input)}`,
  );
}

/** Checks that every starmap item is an argument list, naming the first that is not. */
export function checkArgLists(items: SizedInput): void {
  if (items instanceof Range)
    throw new InvalidArgumentError('Expected starmap items to be argument lists, got a range()');
  for (let i = 0; i < items.length; i++) {
    if (!Array.isArray(items[i])) {
      throw new InvalidArgumentError(
        `Expected starmap item ${i} to be an array of arguments, got ${items[i] === null ? 'null' : typeof items[i]}`,
      );
    }
  }
}

/**
 * The items with every primitive replaced by its handle (`toWire`: nothing is copied, and almost
 * nothing done, until a primitive exists in this thread); `handles` says whether any was found.
 */
export function wireItems(items: SizedInput): { items: SizedInput; handles: true | undefined } {
  // A per-item walk costs ~10 ms over a million items: skipped while no primitive exists.
  if (items instanceof Range || !anyShareables()) return { items, handles: undefined };
  let out: unknown[] | undefined;
  for (let i = 0; i < items.length; i++) {
    const w = toWire(items[i]);
    if (w.found) {
      out ??= items.slice();
      out[i] = w.value;
    }
  }
  return { items: out ?? items, handles: out ? true : undefined };
}

/** Splits a sized input into chunk inputs, spilling payloads over `limit` bytes to the blob store. */
export class ChunkPlanner {
  readonly #items: SizedInput;
  readonly #chunksize: number;
  readonly count: number;

  constructor(items: SizedInput, chunksize: number) {
    this.#items = items;
    this.#chunksize = chunksize;
    this.count = chunksize === 0 ? 0 : Math.ceil(items.length / chunksize);
  }

  /** Item count of chunk `i`. */
  size(i: number): number {
    return Math.min(this.#chunksize, this.#items.length - i * this.#chunksize);
  }

  /** The input of chunk `i`. */
  async input(i: number, limit: number, blobs: BlobStore, blobKey: string): Promise<ChunkInput> {
    const offset = i * this.#chunksize;
    const count = this.size(i);
    const items = this.#items;
    if (items instanceof Range)
      return { kind: 'range', offset, count, start: items.at(offset), step: items.step };
    // Each chunk's own encoding: numbers as Float64Array bytes, checked as they are copied (a
    // first pass over a million items to tell was ~10 ms of cold code); any other chunk with v8.
    const enc =
      encodeIfNumbers(items, offset, count) ??
      encodeItems(items.slice(offset, offset + count), offset, false);
    // The encoding is made here for this chunk alone: the blob store may keep it as it is.
    return { kind: 'items', offset, count, data: await spill(enc, limit, blobs, blobKey, true) };
  }
}
