/**
 * The local `Condition`: a local `Lock` or `RLock` plus two arena words.
 *
 * [STATE] packs two counts changed only together by compare-exchange: `waiters` (flows in `wait`
 * not yet notified, bits 0-15) and `signals` (notifications given but not yet taken, bits 16-31).
 * [SEQ] counts notifies; waiters sleep on it.
 *
 * `notify(n)` (lock held) moves k = min(n, waiters) units from waiters to signals, bumps SEQ and
 * wakes k sleepers. A waiter returns true only by taking a signal, so at most n waiters wake per
 * notify(n). A waiter is *eligible* for signals once SEQ moved since it entered (a notify given
 * before it waited is not for it). On timeout an eligible waiter takes a signal if there is one
 * (it was notified before it gave up: true, as CPython) and otherwise takes back a waiters unit;
 * an ineligible one always takes a waiters unit. So a waiter that times out never takes a
 * notification another waiter needs. Invariant (checked case by case in the tests):
 * signals <= eligible waiters, so no signal is left without a waiter to take it.
 */
import type { PrimitiveModule } from '../../api/context.js';
import type { AcquireOptions, Condition, Lock, RLock } from '../../api/synchronize.js';
import { waitForPredicate } from '../../api/wait-for.js';
import { deadlineOf, expired } from '../../deadline.js';
import { InvalidArgumentError, NotOwnerError, ProtocolError } from '../../errors.js';
import { noteShareable, SHARE, type SyncHandle } from '../../handles.js';
import { optionalInteger, optionalTimeout } from '../../validate.js';
import { allocWords, handleData, wordsAt } from './checks.js';
import { waitWord } from './futex.js';
import { type LocalLock, LocalRLock, localLockArg, reviveLockHandle } from './locks.js';

const STATE = 0;
const SEQ = 1;
const UNIT = 0x1_0000; // one signal in STATE
const MAX_WAITERS = 0x7fff;

const waitersOf = (s: number): number => s & 0xffff;
const signalsOf = (s: number): number => s >>> 16;

/** A condition variable over a local lock (see {@link Condition}). */
export class LocalCondition implements Condition {
  readonly kind = 'Condition';
  readonly #at: number;
  readonly #w: Int32Array;
  readonly #lock: LocalLock | LocalRLock;

  /** @internal Use `ctx.Condition()`; `at` names an existing condition's words (revive). */
  constructor(lock: LocalLock | LocalRLock, at?: number) {
    noteShareable(this);
    if (at === undefined) ({ at, words: this.#w } = allocWords(2));
    else this.#w = wordsAt(at, 2, 'Condition');
    this.#at = at;
    this.#lock = lock;
  }

  acquire(options?: AcquireOptions): Promise<boolean> {
    return this.#lock.acquire(options);
  }

  release(): Promise<void> {
    return this.#lock.release();
  }

  withLock<R>(fn: () => R | Promise<R>): Promise<R> {
    return this.#lock.withLock(fn);
  }

  #mustOwn(what: string): void {
    if (!this.#lock.isMine()) throw new NotOwnerError(`Condition.${what}() called without holding its lock`);
  }

  /** Applies `f` to STATE atomically; `f` returns the new state, or undefined to leave it. */
  #update(f: (s: number) => number | undefined): number | undefined {
    for (;;) {
      const s = Atomics.load(this.#w, STATE);
      const next = f(s);
      if (next === undefined) return undefined;
      if (Atomics.compareExchange(this.#w, STATE, s, next | 0) === s) return s;
    }
  }

  async wait(timeoutMs?: number): Promise<boolean> {
    const deadline = deadlineOf(optionalTimeout(timeoutMs));
    this.#mustOwn('wait');
    const entered = this.#update((s) => (waitersOf(s) + signalsOf(s) >= MAX_WAITERS ? undefined : s + 1));
    if (entered === undefined) throw new InvalidArgumentError(`Condition has ${MAX_WAITERS} waiters already`);
    const entrySeq = Atomics.load(this.#w, SEQ);
    const saved = this.#lock.releaseSave();
    try {
      for (;;) {
        const seq = Atomics.load(this.#w, SEQ);
        const eligible = seq !== entrySeq;
        if (eligible && this.#update((s) => (signalsOf(s) > 0 ? s - UNIT : undefined)) !== undefined)
          return true;
        if (expired(deadline) || (await waitWord(this.#w, SEQ, seq, deadline)) === 'timed-out') {
          return this.#leave(entrySeq);
        }
      }
    } finally {
      await this.#lock.acquireRestore(saved);
    }
  }

  /** A timed-out waiter leaves: resolves whether it was notified after all (see the file's comment). */
  #leave(entrySeq: number): boolean {
    let took: 'signal' | 'waiter' | undefined;
    this.#update((s) => {
      const eligible = Atomics.load(this.#w, SEQ) !== entrySeq;
      if (eligible && signalsOf(s) > 0) {
        took = 'signal';
        return s - UNIT;
      }
      took = 'waiter';
      return waitersOf(s) > 0 ? s - 1 : undefined; // 0 only if the words were corrupted
    });
    return took === 'signal';
  }

  async waitFor<R>(predicate: () => R | Promise<R>, timeoutMs?: number): Promise<R> {
    return waitForPredicate<R>(predicate, timeoutMs, (left) => this.wait(left));
  }

  async notify(n = 1): Promise<void> {
    optionalInteger(n, 'n', 0);
    this.#mustOwn('notify');
    let k = 0;
    this.#update((s) => {
      k = Math.min(n, waitersOf(s));
      return k === 0 ? undefined : s - k + k * UNIT;
    });
    if (k === 0) return;
    Atomics.add(this.#w, SEQ, 1);
    Atomics.notify(this.#w, SEQ, k);
  }

  notifyAll(): Promise<void> {
    return this.notify(MAX_WAITERS);
  }

  [SHARE](): SyncHandle {
    return {
      $fanfold: 'handle',
      ctx: 'local',
      kind: 'Condition',
      data: { at: this.#at, lock: this.#lock[SHARE]() },
    };
  }
}

/** `Condition` of the local context. */
export const condition: PrimitiveModule<void> = {
  make: () => ({
    Condition: (lock?: Lock | RLock) =>
      new LocalCondition(lock === undefined ? new LocalRLock() : localLockArg(lock, 'lock')),
  }),
  revive: {
    Condition: (h) => {
      const data = handleData(h.data, 'Condition');
      if (typeof data.at !== 'number')
        throw new ProtocolError('Malformed Condition handle: at is not a number');
      return new LocalCondition(reviveLockHandle(data.lock, 'Condition'), data.at);
    },
  },
};
