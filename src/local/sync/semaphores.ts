/**
 * The local `Semaphore` and `BoundedSemaphore`: a permit count in an arena word, taken with
 * compare-exchange and waited on with `Atomics.waitAsync`; a bounded one also keeps its bound in
 * the arena, so a revived handle cannot raise it.
 */
import type { PrimitiveModule, Primitives } from '../../api/context.js';
import type { AcquireOptions, BoundedSemaphore, Semaphore } from '../../api/synchronize.js';
import { expired } from '../../deadline.js';
import { OverReleaseError, ProtocolError } from '../../errors.js';
import { noteShareable, SHARE, type SyncHandle } from '../../handles.js';
import { optionalInteger } from '../../validate.js';
import { acquireArgs, allocWords, handleData, wordsAt } from './checks.js';
import { waitWord } from './futex.js';

// Words: [PERMITS] available permits; [BOUND] the maximum for a BoundedSemaphore, -1 otherwise.
const PERMITS = 0;
const BOUND = 1;
const MAX = 0x7fff_ffff;

/** A counting semaphore (see {@link Semaphore}); bounded when made by `BoundedSemaphore()`. */
export class LocalSemaphore implements Semaphore {
  readonly kind: 'Semaphore' | 'BoundedSemaphore';
  readonly #at: number;
  readonly #w: Int32Array;

  /** @internal Use `ctx.Semaphore()` / `ctx.BoundedSemaphore()`. */
  constructor(kind: 'Semaphore' | 'BoundedSemaphore', init: { value: number } | { at: number }) {
    noteShareable(this);
    this.kind = kind;
    if ('value' in init) {
      const { at, words } = allocWords(2);
      Atomics.store(words, PERMITS, init.value);
      Atomics.store(words, BOUND, kind === 'BoundedSemaphore' ? init.value : -1);
      this.#at = at;
      this.#w = words;
    } else {
      this.#at = init.at;
      this.#w = wordsAt(init.at, 2, kind);
      const bound = Atomics.load(this.#w, BOUND);
      if ((kind === 'BoundedSemaphore') !== bound >= 0) {
        throw new ProtocolError(`Malformed ${kind} handle: the region at ${init.at} is not a ${kind}`);
      }
    }
  }

  #tryTake(): boolean {
    for (;;) {
      const v = Atomics.load(this.#w, PERMITS);
      if (v <= 0) return false;
      if (Atomics.compareExchange(this.#w, PERMITS, v, v - 1) === v) return true;
    }
  }

  async acquire(options?: AcquireOptions): Promise<boolean> {
    const deadline = acquireArgs(options);
    // A woken waiter always retries before it looks at the deadline, so a permit released to it
    // is taken (or left for a waiter that is still counting) rather than thrown away.
    for (;;) {
      if (this.#tryTake()) return true;
      if (deadline === 'no-wait' || expired(deadline)) return false;
      await waitWord(this.#w, PERMITS, 0, deadline);
    }
  }

  async release(): Promise<void> {
    const bound = Atomics.load(this.#w, BOUND);
    const max = bound >= 0 ? bound : MAX;
    for (;;) {
      const v = Atomics.load(this.#w, PERMITS);
      if (v >= max) {
        throw new OverReleaseError(
          bound >= 0
            ? `BoundedSemaphore released past its initial value ${bound}`
            : `Semaphore released past ${MAX}`,
        );
      }
      if (Atomics.compareExchange(this.#w, PERMITS, v, v + 1) === v) break;
    }
    Atomics.notify(this.#w, PERMITS, 1);
  }

  async getValue(): Promise<number> {
    return Atomics.load(this.#w, PERMITS);
  }

  async withLock<R>(fn: () => R | Promise<R>): Promise<R> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      await this.release();
    }
  }

  [SHARE](): SyncHandle {
    return { $fanfold: 'handle', ctx: 'local', kind: this.kind, data: { at: this.#at } };
  }
}

function reviver(kind: 'Semaphore' | 'BoundedSemaphore') {
  return (h: SyncHandle): LocalSemaphore => {
    const at = handleData(h.data, kind).at;
    if (typeof at !== 'number') throw new ProtocolError(`Malformed ${kind} handle: at is not a number`);
    return new LocalSemaphore(kind, { at });
  };
}

/** `Semaphore` and `BoundedSemaphore` of the local context. */
export const semaphores: PrimitiveModule<void> = {
  make: (): Partial<Primitives> => ({
    Semaphore: (value?: number) =>
      new LocalSemaphore('Semaphore', { value: optionalInteger(value, 'value', 0, MAX) ?? 1 }),
    BoundedSemaphore: (value?: number) =>
      new LocalSemaphore('BoundedSemaphore', {
        value: optionalInteger(value, 'value', 0, MAX) ?? 1,
      }) as BoundedSemaphore,
  }),
  revive: { Semaphore: reviver('Semaphore'), BoundedSemaphore: reviver('BoundedSemaphore') },
};
