/**
 * Runs one chunk's items through a task, inside a worker thread: a local pool's thread or a worker
 * Lambda's (`threads/serve-tasks.ts` calls it in both). Pure: it takes the tasks and an inline
 * chunk and returns an outcome; it never touches a port.
 */
import { serialize } from 'node:v8';
import { NotSerializableError, type SerializedError, serializeError, UnknownTaskError } from '../errors.js';
import { fromWire, type Reviver, refuseHandles } from '../handles.js';
import { refuseClassInstances } from '../plain-data.js';
import type { CallMode, ChunkInput } from '../ports.js';
import type { TaskFn, TaskMap } from '../task-map.js';
import { decodeList, decodeValue, type Encoded, encodeValue } from './codec.js';

/** A chunk whose input is inline (blobs already fetched). */
export interface InlineChunk {
  readonly jobId: string;
  readonly index: number;
  readonly task: string;
  readonly mode: CallMode;
  readonly reducer?: string;
  readonly input:
    | {
        readonly kind: 'items';
        readonly offset: number;
        readonly count: number;
        readonly data: Encoded;
        /** The items are the lines of this byte range (`lines()`); errors name the line in it. */
        readonly range?: { readonly source: string; readonly start: number; readonly end: number };
      }
    | Extract<ChunkInput, { kind: 'range' }>;
  /** Some items hold primitives' handles: revived before the task is called. */
  readonly handles?: true;
  /** The chunk is the run of a `Process` of this name. */
  readonly process?: string;
}

/** How a chunk ran on its thread: measured by the thread that ran it (`threads/serve-tasks.ts`). */
export interface ChunkRun {
  /** The thread's number in its pool (1, 2, …). */
  readonly thread: number;
  /** Epoch ms when the chunk started. */
  readonly startedAt: number;
  /** How long it ran, in ms. */
  readonly ms: number;
}

/** What running a chunk (or a fold) produced. */
export type ChunkOutcome =
  | { readonly ok: true; readonly result: Encoded; readonly run?: ChunkRun }
  | { readonly ok: false; readonly error: SerializedError };

type Thenable = { then: (ok: (v: unknown) => void, err: (e: unknown) => void) => void };
/** True for a promise or any other thenable a task may return. */
export function isThenable(v: unknown): v is Thenable {
  return (
    (typeof v === 'object' || typeof v === 'function') &&
    v !== null &&
    typeof (v as Thenable).then === 'function'
  );
}

/** The task of this name; `UnknownTaskError` naming the tasks there are. */
export function lookup(tasks: TaskMap, name: string): (...args: unknown[]) => unknown {
  const fn: TaskFn | undefined = Object.hasOwn(tasks, name) ? tasks[name] : undefined;
  if (!fn) throw new UnknownTaskError(name, Object.keys(tasks).sort());
  return fn as unknown as (...args: unknown[]) => unknown;
}

/** Collects results, as a Float64Array while they are all numbers (no per-item allocation). */
class ResultList {
  #nums: Float64Array;
  #list: unknown[] | undefined;
  constructor(count: number) {
    this.#nums = new Float64Array(count);
  }
  set(i: number, v: unknown): void {
    if (this.#list) this.#list[i] = v;
    else if (typeof v === 'number') this.#nums[i] = v;
    else {
      this.#list = Array.from(this.#nums);
      this.#list[i] = v;
    }
  }
  encode(offset: number): Encoded {
    if (!this.#list) return { enc: 'f64', bytes: new Uint8Array(this.#nums.buffer) };
    // Only here, off the all-numbers path: an instance would reach the caller without its methods.
    refuseClassInstances(this.#list, 'Task result', offset, 'the caller');
    try {
      return { enc: 'v8', bytes: serialize(this.#list) };
    } catch {
      for (let i = 0; i < this.#list.length; i++) {
        try {
          serialize(this.#list[i]);
        } catch (e) {
          throw new NotSerializableError('Task result', offset + i, e);
        }
      }
      throw new NotSerializableError('Task result', undefined);
    }
  }
}

const noReviver = refuseHandles('here: this thread has no reviver');

/**
 * Runs the chunk. A task that throws yields `ok: false` with the item's position and the remote
 * stack. When the chunk says it holds handles, each item's handles are turned back into live
 * primitives with `revive` first (a handle `revive` refuses fails the item like a task error).
 */
export async function runChunk(
  tasks: TaskMap,
  chunk: InlineChunk,
  revive: Reviver = noReviver,
): Promise<ChunkOutcome> {
  const { input } = chunk;
  let i = 0;
  try {
    const fn = lookup(tasks, chunk.task);
    const reducer = chunk.mode === 'reduce' ? lookup(tasks, chunk.reducer ?? '') : undefined;
    const items = input.kind === 'items' ? decodeList(input.data) : undefined;
    const star = chunk.mode === 'starmap';
    const out = reducer ? undefined : new ResultList(input.count);
    let acc: unknown;
    for (; i < input.count; i++) {
      let x = items ? items[i] : (input as { start: number }).start + i * (input as { step: number }).step;
      if (chunk.handles) x = fromWire(x, revive);
      let r = star ? fn(...(x as unknown[])) : fn(x);
      // Await only real promises: a per-item await would cost more than a tiny task itself.
      if (isThenable(r)) r = await r;
      if (out) out.set(i, r);
      else if (i === 0) acc = r;
      else {
        acc = reducer!(acc, r);
        if (isThenable(acc)) acc = await acc;
      }
    }
    i = -1;
    if (!out && input.count === 0) return { ok: true, result: EMPTY_PARTIAL };
    return { ok: true, result: out ? out.encode(input.offset) : encodeValue(acc, 'Reduced value') };
  } catch (e) {
    const error = serializeError(e);
    error.chunkIndex = chunk.index;
    if (e instanceof NotSerializableError && e.position !== undefined) error.itemIndex = e.position;
    else if (i >= 0) error.itemIndex = input.offset + i;
    const range = input.kind === 'items' ? input.range : undefined;
    if (range && error.itemIndex !== undefined)
      error.message += ` (at line ${error.itemIndex} of byte range [${range.start}, ${range.end}) of ${range.source})`;
    return { ok: false, error };
  }
}

/**
 * The partial of a reduce chunk with no items (a byte range that owns no line): skipped by the
 * fold. No `v8.serialize` output is empty, so it is never mistaken for a value.
 */
export const EMPTY_PARTIAL: Encoded = { enc: 'v8', bytes: new Uint8Array(0) };

function isEmptyPartial(e: Encoded): boolean {
  return e.enc === 'v8' && e.bytes.byteLength === 0;
}

/** Folds encoded partial results left to right with the reducer, starting from `initial` when given. */
export async function runFold(
  tasks: TaskMap,
  reducer: string,
  initial: Encoded | undefined,
  partials: readonly Encoded[],
): Promise<ChunkOutcome> {
  try {
    const fn = lookup(tasks, reducer);
    partials = partials.filter((p) => !isEmptyPartial(p));
    let k = 0;
    let acc: unknown;
    if (initial) acc = decodeValue(initial);
    else if (partials.length > 0) acc = decodeValue(partials[k++]!);
    else throw new TypeError('mapReduce() of an empty input with no initial value');
    for (; k < partials.length; k++) {
      acc = fn(acc, decodeValue(partials[k]!));
      if (isThenable(acc)) acc = await acc;
    }
    return { ok: true, result: encodeValue(acc, 'Reduced value', 'the caller') };
  } catch (e) {
    return { ok: false, error: serializeError(e) };
  }
}
