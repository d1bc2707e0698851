/**
 * The local `Lock` and `RLock`: two Int32 words each in the shared arena, taken with compare-exchange
 * and waited on with `Atomics.waitAsync` (see `futex.ts`), so any thread of the process holding the
 * handle operates on the same lock.
 *
 * Owner identity is the thread (`threadId + 1` in a word; `RLock.state().owner` is `thread:<threadId>`).
 * As CPython counts an `RLock`'s owner per thread, every async flow of one thread counts as the same
 * owner: two flows of one thread may both "hold" an `RLock` recursively. Use a `Lock` (or separate
 * threads) to exclude flows of the same thread from each other.
 *
 * A thread that dies holding a lock leaves it held (as a process that dies holding a CPython lock).
 */
import type { PrimitiveModule } from '../../api/context.js';
import type { AcquireOptions, Lock, RLock, RLockState } from '../../api/synchronize.js';
import { type Deadline, expired, FOREVER } from '../../deadline.js';
import { InvalidArgumentError, NotOwnerError, OverReleaseError, ProtocolError } from '../../errors.js';
import { noteShareable, SHARE, type SyncHandle } from '../../handles.js';
import { received } from '../../validate.js';
import { acquireArgs, allocWords, handleData, wordsAt } from './checks.js';
import { ME, ownerName, waitWord } from './futex.js';

// Lock words: [STATE] 0 free, 1 held, 2 held and maybe waited on; [OWNER] the holder's ME or 0.
// RLock words: [OWNER] the holder's ME or 0 (the futex word); [COUNT] recursion count.
const STATE = 0;
const OWNER = 1;
const R_OWNER = 0;
const R_COUNT = 1;

/** @internal What a `Condition` needs of its lock: who holds it, and a full release it can undo. */
export interface CondLock {
  /** Whether this thread holds it. */
  isMine(): boolean;
  /** Releases fully (every recursion level); returns what `acquireRestore` needs. */
  releaseSave(): number;
  /** Acquires again (waiting as long as needed) and restores the recursion count. */
  acquireRestore(saved: number): Promise<void>;
}

async function withHeld<R>(
  l: { acquire(): Promise<boolean>; release(): Promise<void> },
  fn: () => R | Promise<R>,
): Promise<R> {
  await l.acquire();
  try {
    return await fn();
  } finally {
    await l.release();
  }
}

/** A non-recursive lock (see {@link Lock}): anyone may release it, releasing it unlocked throws. */
export class LocalLock implements Lock, CondLock {
  readonly kind = 'Lock';
  readonly #at: number;
  readonly #w: Int32Array;

  /** @internal Use `ctx.Lock()`; `at` names an existing lock's words (revive). */
  constructor(at?: number) {
    noteShareable(this);
    if (at === undefined) ({ at, words: this.#w } = allocWords(2));
    else this.#w = wordsAt(at, 2, 'Lock');
    this.#at = at;
  }

  /** Takes the lock if free; the futex mutex of Drepper's "Futexes are tricky" (state 2 = contended). */
  #tryTake(): boolean {
    if (Atomics.compareExchange(this.#w, STATE, 0, 1) !== 0) return false;
    Atomics.store(this.#w, OWNER, ME);
    return true;
  }

  async acquire(options?: AcquireOptions): Promise<boolean> {
    const deadline = acquireArgs(options);
    if (this.#tryTake()) return true;
    if (deadline === 'no-wait') return false;
    return this.#wait(deadline);
  }

  async #wait(deadline: Deadline): Promise<boolean> {
    // Marking the word 2 before sleeping makes the releaser notify; a waiter that gives up leaves
    // it at 2, which only costs the next release one needless notify.
    for (;;) {
      if (Atomics.exchange(this.#w, STATE, 2) === 0) {
        Atomics.store(this.#w, OWNER, ME);
        return true;
      }
      if (expired(deadline)) return false;
      await waitWord(this.#w, STATE, 2, deadline);
    }
  }

  async release(): Promise<void> {
    this.#release();
  }

  #release(): void {
    const owner = Atomics.load(this.#w, OWNER);
    // Clear the owner before freeing: once STATE is 0 a new holder may write its own.
    Atomics.compareExchange(this.#w, OWNER, owner, 0);
    const was = Atomics.exchange(this.#w, STATE, 0);
    if (was === 0) throw new OverReleaseError('Lock released while unlocked');
    if (was === 2) Atomics.notify(this.#w, STATE, 1);
  }

  async locked(): Promise<boolean> {
    return Atomics.load(this.#w, STATE) !== 0;
  }

  withLock<R>(fn: () => R | Promise<R>): Promise<R> {
    return withHeld(this, fn);
  }

  /** @internal */
  isMine(): boolean {
    return Atomics.load(this.#w, STATE) !== 0 && Atomics.load(this.#w, OWNER) === ME;
  }

  /** @internal */
  releaseSave(): number {
    this.#release();
    return 1;
  }

  /** @internal */
  async acquireRestore(): Promise<void> {
    if (!this.#tryTake()) await this.#wait(FOREVER);
  }

  [SHARE](): SyncHandle {
    return { $fanfold: 'handle', ctx: 'local', kind: 'Lock', data: { at: this.#at } };
  }
}

/** A recursive lock (see {@link RLock}) owned by a thread. */
export class LocalRLock implements RLock, CondLock {
  readonly kind = 'RLock';
  readonly #at: number;
  readonly #w: Int32Array;

  /** @internal Use `ctx.RLock()`; `at` names an existing lock's words (revive). */
  constructor(at?: number) {
    noteShareable(this);
    if (at === undefined) ({ at, words: this.#w } = allocWords(2));
    else this.#w = wordsAt(at, 2, 'RLock');
    this.#at = at;
  }

  /** Takes the lock (or one more level of it); COUNT is only written by the owner. */
  #tryTake(levels: number): boolean {
    const owner = Atomics.compareExchange(this.#w, R_OWNER, 0, ME);
    if (owner === 0) {
      Atomics.store(this.#w, R_COUNT, levels);
      return true;
    }
    if (owner !== ME) return false;
    Atomics.add(this.#w, R_COUNT, levels);
    return true;
  }

  async acquire(options?: AcquireOptions): Promise<boolean> {
    const deadline = acquireArgs(options);
    if (this.#tryTake(1)) return true;
    if (deadline === 'no-wait') return false;
    return this.#wait(deadline, 1);
  }

  async #wait(deadline: Deadline, levels: number): Promise<boolean> {
    // Every final release notifies one waiter; a woken waiter always retries before it checks the
    // deadline, so a wake is never thrown away while the lock is free.
    for (;;) {
      const owner = Atomics.load(this.#w, R_OWNER);
      if ((owner === 0 || owner === ME) && this.#tryTake(levels)) return true;
      if (expired(deadline)) return false;
      if (owner !== 0) await waitWord(this.#w, R_OWNER, owner, deadline);
    }
  }

  async release(): Promise<void> {
    this.#release(false);
  }

  /** Drops one level (or all with `all`); returns the levels dropped. */
  #release(all: boolean): number {
    const owner = Atomics.load(this.#w, R_OWNER);
    if (owner !== ME) {
      throw new NotOwnerError(
        owner === 0
          ? 'RLock released while unlocked'
          : `RLock released by thread:${ME - 1}, held by ${ownerName(owner)}`,
      );
    }
    const count = Atomics.load(this.#w, R_COUNT);
    if (!all && count > 1) {
      Atomics.store(this.#w, R_COUNT, count - 1);
      return 1;
    }
    Atomics.store(this.#w, R_COUNT, 0);
    Atomics.store(this.#w, R_OWNER, 0);
    Atomics.notify(this.#w, R_OWNER, 1);
    return count;
  }

  async state(): Promise<RLockState> {
    const owner = Atomics.load(this.#w, R_OWNER);
    return { owner: ownerName(owner), count: owner === 0 ? 0 : Atomics.load(this.#w, R_COUNT) };
  }

  withLock<R>(fn: () => R | Promise<R>): Promise<R> {
    return withHeld(this, fn);
  }

  /** @internal */
  isMine(): boolean {
    return Atomics.load(this.#w, R_OWNER) === ME;
  }

  /** @internal */
  releaseSave(): number {
    return this.#release(true);
  }

  /** @internal */
  async acquireRestore(saved: number): Promise<void> {
    if (!this.#tryTake(saved)) await this.#wait(FOREVER, saved);
  }

  [SHARE](): SyncHandle {
    return { $fanfold: 'handle', ctx: 'local', kind: 'RLock', data: { at: this.#at } };
  }
}

function reviveAt(handle: SyncHandle): number {
  const data = handleData(handle.data, handle.kind);
  if (typeof data.at !== 'number') {
    throw new ProtocolError(`Malformed ${handle.kind} handle: at is ${received(data.at)}`);
  }
  return data.at;
}

/** @internal A local `Lock` or `RLock` given to `Condition`, `Value` or `Array`, checked to be one. */
export function localLockArg(v: unknown, name: string): LocalLock | LocalRLock {
  if (v instanceof LocalLock || v instanceof LocalRLock) return v;
  throw new InvalidArgumentError(
    `Expected ${name} to be a Lock or RLock of the local context, got ${received(v)}`,
  );
}

/** @internal Revives the handle of a lock that another primitive's handle carries. */
export function reviveLockHandle(v: unknown, owner: string): LocalLock | LocalRLock {
  const h = handleData(v, `${owner} lock`) as Partial<SyncHandle>;
  if (h.$fanfold !== 'handle' || h.ctx !== 'local' || (h.kind !== 'Lock' && h.kind !== 'RLock')) {
    throw new ProtocolError(`Malformed ${owner} handle: lock is not a local Lock or RLock handle`);
  }
  return h.kind === 'Lock' ? reviveLock(h as SyncHandle) : reviveRLock(h as SyncHandle);
}

function reviveLock(h: SyncHandle): LocalLock {
  return new LocalLock(reviveAt(h));
}

function reviveRLock(h: SyncHandle): LocalRLock {
  return new LocalRLock(reviveAt(h));
}

/** `Lock` and `RLock` of the local context. */
export const locks: PrimitiveModule<void> = {
  make: () => ({ Lock: () => new LocalLock(), RLock: () => new LocalRLock() }),
  revive: { Lock: reviveLock, RLock: reviveRLock },
};
