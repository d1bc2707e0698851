/**
 * The local `Barrier`: CPython's `threading.Barrier` state machine in one arena word, changed only by
 * compare-exchange, so every transition is atomic without a lock.
 *
 * The word packs `phase` (bits 0-1: FILLING, DRAINING, RESETTING, BROKEN) and `count` (bits 2-31:
 * parties inside `wait`). Arrivals enter only while FILLING (they wait out DRAINING and RESETTING);
 * the last arrival switches to DRAINING; released parties leave one by one and the last to leave
 * returns the barrier to FILLING. Because the phase cannot return to FILLING before every party of
 * a generation has left, each waiter sees the phase that ended its own generation: DRAINING
 * (success), RESETTING or BROKEN (throw). A thread that dies between its release and its exit
 * leaves the barrier DRAINING (as a dead thread would leave CPython's).
 */
import type { PrimitiveModule } from '../../api/context.js';
import type { Barrier, BarrierOptions } from '../../api/synchronize.js';
import { type Deadline, deadlineOf, expired, FOREVER } from '../../deadline.js';
import { BrokenBarrierError, InvalidArgumentError, ProtocolError } from '../../errors.js';
import { noteShareable, SHARE, type SyncHandle } from '../../handles.js';
import { optionalInteger, optionalTimeout, options } from '../../validate.js';
import { allocWords, handleData, intField, wordsAt } from './checks.js';
import { waitWord } from './futex.js';

const FILLING = 0;
const DRAINING = 1;
const RESETTING = 2;
const BROKEN = 3;
const ONE = 4; // one party in the count bits
const MAX_PARTIES = 0x3fff_ffff;
const W = 0;

const phaseOf = (s: number): number => s & 3;
const countOf = (s: number): number => s >>> 2;

/** A barrier for `parties` parties (see {@link Barrier}). */
export class LocalBarrier implements Barrier {
  readonly kind = 'Barrier';
  readonly parties: number;
  readonly #timeoutMs: number | undefined;
  readonly #at: number;
  readonly #w: Int32Array;

  /** @internal Use `ctx.Barrier()`; `at` names an existing barrier's word (revive). */
  constructor(parties: number, timeoutMs: number | undefined, at?: number) {
    noteShareable(this);
    this.parties = parties;
    this.#timeoutMs = timeoutMs;
    if (at === undefined) ({ at, words: this.#w } = allocWords(1));
    else this.#w = wordsAt(at, 1, 'Barrier');
    this.#at = at;
  }

  /** Applies `f` to the word atomically; `f` returns the new word, or undefined to leave it. */
  #update(f: (s: number) => number | undefined): number | undefined {
    for (;;) {
      const s = Atomics.load(this.#w, W);
      const next = f(s);
      if (next === undefined) return undefined;
      if (Atomics.compareExchange(this.#w, W, s, next | 0) === s) return s;
    }
  }

  async wait(timeoutMs?: number): Promise<number> {
    const t = optionalTimeout(timeoutMs) ?? this.#timeoutMs;
    const deadline = deadlineOf(t);
    // Enter: wait out a draining or resetting generation (CPython waits here without a timeout).
    let entered: number | undefined;
    for (;;) {
      const s = Atomics.load(this.#w, W);
      const phase = phaseOf(s);
      if (phase === BROKEN) throw new BrokenBarrierError();
      if (phase === FILLING) {
        if (Atomics.compareExchange(this.#w, W, s, s + ONE) === s) {
          entered = countOf(s);
          break;
        }
        continue;
      }
      await waitWord(this.#w, W, s, FOREVER);
    }
    const index = entered;
    try {
      if (index + 1 === this.parties) {
        // The last arrival releases everyone: DRAINING, itself already on its way out.
        // If it was broken or reset after this party entered, the generation failed: throw.
        const was = this.#update((s) => (phaseOf(s) === FILLING ? (s & ~3) | DRAINING : undefined));
        if (was === undefined) throw new BrokenBarrierError();
        Atomics.notify(this.#w, W);
        return index;
      }
      await this.#awaitRelease(deadline);
      return index;
    } finally {
      this.#exit();
    }
  }

  /** Sleeps while the generation fills; throws if it ends by reset, abort or this party's timeout. */
  async #awaitRelease(deadline: Deadline): Promise<void> {
    for (;;) {
      const s = Atomics.load(this.#w, W);
      const phase = phaseOf(s);
      if (phase === DRAINING) return;
      if (phase !== FILLING) throw new BrokenBarrierError();
      if (expired(deadline) || (await waitWord(this.#w, W, s, deadline)) === 'timed-out') {
        // Break the barrier unless it was released (or broken) meanwhile.
        const was = this.#update((x) => (phaseOf(x) === FILLING ? (x & ~3) | BROKEN : undefined));
        if (was === undefined) continue;
        Atomics.notify(this.#w, W);
        throw new BrokenBarrierError('The barrier wait timed out; the barrier is now broken');
      }
    }
  }

  /** Leaves; the last party out of a draining or resetting generation opens the next one. */
  #exit(): void {
    const was = this.#update((s) => {
      const left = s - ONE;
      const phase = phaseOf(left);
      return countOf(left) === 0 && (phase === DRAINING || phase === RESETTING) ? FILLING : left;
    });
    if (was !== undefined && countOf(was) === 1) Atomics.notify(this.#w, W);
  }

  async abort(): Promise<void> {
    this.#update((s) => (s & ~3) | BROKEN);
    Atomics.notify(this.#w, W);
  }

  async reset(): Promise<void> {
    // With parties inside, RESETTING makes them throw and the last one out reopens the barrier;
    // with none, the barrier is FILLING (unbroken) at once. A DRAINING generation finishes first
    // as in CPython, whose reset waits out a drain.
    for (;;) {
      const s = Atomics.load(this.#w, W);
      if (phaseOf(s) === DRAINING) {
        await waitWord(this.#w, W, s, FOREVER);
        continue;
      }
      const next = countOf(s) > 0 ? (s & ~3) | RESETTING : FILLING;
      if (Atomics.compareExchange(this.#w, W, s, next) !== s) continue;
      Atomics.notify(this.#w, W);
      return;
    }
  }

  async nWaiting(): Promise<number> {
    const s = Atomics.load(this.#w, W);
    return phaseOf(s) === FILLING ? countOf(s) : 0;
  }

  async broken(): Promise<boolean> {
    return phaseOf(Atomics.load(this.#w, W)) === BROKEN;
  }

  [SHARE](): SyncHandle {
    const data: Record<string, number> = { at: this.#at, parties: this.parties };
    if (this.#timeoutMs !== undefined) data.timeoutMs = this.#timeoutMs;
    return { $fanfold: 'handle', ctx: 'local', kind: 'Barrier', data };
  }
}

/** `Barrier` of the local context. */
export const barrier: PrimitiveModule<void> = {
  make: () => ({
    Barrier: (parties: number, opts?: BarrierOptions) => {
      const p = optionalInteger(parties, 'parties', 1, MAX_PARTIES);
      if (p === undefined)
        throw new InvalidArgumentError('Expected parties to be an integer >= 1, got undefined');
      const o = options<BarrierOptions>(opts, 'options', ['timeoutMs']);
      return new LocalBarrier(p, optionalTimeout(o.timeoutMs, 'options.timeoutMs'));
    },
  }),
  revive: {
    Barrier: (h) => {
      const data = handleData(h.data, 'Barrier');
      const parties = intField(data, 'parties', 'Barrier', 1, MAX_PARTIES);
      if (data.timeoutMs !== undefined && (typeof data.timeoutMs !== 'number' || !(data.timeoutMs >= 0))) {
        throw new ProtocolError('Malformed Barrier handle: timeoutMs is not a number >= 0');
      }
      if (typeof data.at !== 'number')
        throw new ProtocolError('Malformed Barrier handle: at is not a number');
      return new LocalBarrier(parties, data.timeoutMs as number | undefined, data.at);
    },
  },
};
