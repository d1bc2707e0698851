/**
 * Feeding an open job (`imap` over a lazy or endless input; docs/protocol.md, invariant 3): items
 * are pulled from the input one chunk at a time while fewer than `window` chunks are in flight,
 * appended through the coordinator, and the job is sealed with its total once the input ends. An
 * error thrown by the input ends the input; it is kept, to be raised after the results of the
 * items before it, as CPython does.
 */
import { InvalidArgumentError } from '../errors.js';
import type { CallMode, Data } from '../ports.js';
import { received } from '../validate.js';
import { encodeItems } from './codec.js';
import type { CoordinatorRequest, CoordinatorResponse } from './coordinator.js';
import { checkArgLists, wireItems } from './plan.js';
import { Range } from './range.js';

/** Options of {@link OpenJobFeeder}. */
export interface OpenJobFeederOptions {
  readonly coordinator: (req: CoordinatorRequest) => Promise<CoordinatorResponse>;
  readonly jobId: string;
  readonly task: string;
  readonly mode: Extract<CallMode, 'map' | 'starmap'>;
  /** An iterable, an async iterable or a `range()`. */
  readonly input: unknown;
  /** Items per chunk. */
  readonly chunksize: number;
  /** Chunks in flight (dispatched, not yet consumed) at most. */
  readonly window: number;
}

type AnyIterator = Iterator<unknown> | AsyncIterator<unknown>;

/** Feeds one open job from its input; see the module comment. */
export class OpenJobFeeder {
  /** Chunks dispatched and not yet consumed; the consumer removes what it has read. */
  readonly pending = new Set<number>();
  /** What the input threw, if it did: raised once the results before it are out. */
  inputError: { readonly error: unknown } | undefined;
  readonly #o: OpenJobFeederOptions;
  readonly #source: AnyIterator;
  #dispatched = 0;
  #offset = 0;
  #exhausted = false;
  #sealed = false;

  /** Throws {@link InvalidArgumentError} when the input cannot be iterated. */
  constructor(options: OpenJobFeederOptions) {
    this.#o = options;
    this.#source = iterate(options.input);
  }

  /** True once the input has ended and every chunk was consumed. */
  get drained(): boolean {
    return this.#exhausted && this.pending.size === 0;
  }

  /** Appends chunks until `window` are in flight or the input ends; seals the job once it has. */
  async fill(): Promise<void> {
    const { coordinator, jobId, task, mode, chunksize, window } = this.#o;
    const chunks: { count: number; data: Data }[] = [];
    let handles = false;
    const firstIndex = this.#dispatched;
    const firstOffset = this.#offset;
    while (!this.#exhausted && this.pending.size < window) {
      let items: unknown[];
      try {
        items = await take(this.#source, chunksize);
      } catch (error) {
        this.inputError = { error };
        items = [];
      }
      if (items.length === 0) {
        this.#exhausted = true;
        break;
      }
      if (mode === 'starmap') checkArgLists(items);
      const wired = wireItems(items);
      if (wired.handles) handles = true;
      chunks.push({ count: items.length, data: encodeItems(wired.items as unknown[], this.#offset) });
      this.pending.add(this.#dispatched++);
      this.#offset += items.length;
    }
    if (chunks.length > 0) {
      await coordinator({
        v: 1,
        type: 'append',
        jobId,
        task,
        mode,
        firstIndex,
        offset: firstOffset,
        chunks,
        ...(handles ? { handles: true as const } : {}),
      });
    }
    if (this.#exhausted && !this.#sealed) {
      await coordinator({ v: 1, type: 'seal', jobId, total: this.#dispatched });
      this.#sealed = true;
    }
  }

  /** Closes the input as a for-of loop would (a generator's finally, a file, a cursor…). */
  async close(): Promise<void> {
    try {
      await this.#source.return?.();
    } catch {
      // The input's own cleanup failed; the job is already cancelled.
    }
  }
}

function iterate(input: unknown): AnyIterator {
  if (input instanceof Range) return input[Symbol.iterator]();
  if (input !== null && typeof input === 'object') {
    if (Symbol.asyncIterator in input) return (input as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    if (Symbol.iterator in input) return (input as Iterable<unknown>)[Symbol.iterator]();
  }
  throw new InvalidArgumentError(
    `Expected items to be an array, an iterable, an async iterable or a range(), got ${received(input)}`,
  );
}

async function take(it: AnyIterator, n: number): Promise<unknown[]> {
  const out: unknown[] = [];
  while (out.length < n) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}
