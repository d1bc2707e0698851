/**
 * `Lock` and `RLock` on the AWS context: leases on one DynamoDB item each (see `lease.ts`), renewed
 * while held and lost when the holder dies. Who may release, the requests and the failure
 * analysis: docs/primitives.md, sections 3.1 and 4.
 */
import { randomUUID } from 'node:crypto';
import type { TransactWriteItem } from '@aws-sdk/client-dynamodb';
import type { PrimitiveModule } from '../../api/context.js';
import type { AcquireOptions, Lock, RLock, RLockState } from '../../api/synchronize.js';
import { deadlineOf } from '../../deadline.js';
import { LeaseLostError, NotOwnerError, OverReleaseError } from '../../errors.js';
import { noteShareable, SHARE, type SyncHandle } from '../../handles.js';
import { blockOptions } from '../../validate.js';
import { poll } from './backoff.js';
import type { AwsSyncEnv } from './env.js';
import { handleData, partyOf } from './items.js';
import { Hold, LeaseItem } from './lease.js';

/** Takes `item` for a fresh token, waiting as `options` say; resolves the hold, or undefined. */
async function take(item: LeaseItem, owner: string | undefined, options: unknown): Promise<Hold | undefined> {
  const { block, timeoutMs } = blockOptions(options);
  const token = randomUUID();
  const attempt = async (): Promise<Hold | undefined> => {
    const since = Date.now();
    const fence = await item.take(token, owner);
    return fence === undefined ? undefined : new Hold(item, token, fence, since);
  };
  const hold = block ? await poll(attempt, item.env.pollMs, deadlineOf(timeoutMs)) : await attempt();
  hold?.start();
  return hold;
}

/** Runs `fn` between `acquire` and `release`; `fn`'s error wins over a failing release. */
async function holding<R>(lock: Lock | RLock, fn: () => R | Promise<R>): Promise<R> {
  await lock.acquire();
  let result: R;
  try {
    result = await fn();
  } catch (e) {
    await lock.release().catch(() => undefined);
    throw e;
  }
  await lock.release();
  return result;
}

/**
 * A non-recursive lock on DynamoDB (CPython `multiprocessing.Lock`).
 *
 * @example
 * ```ts
 * const lock = new AwsLock(env);
 * await lock.withLock(async () => { … });
 * ```
 */
export class AwsLock implements Lock {
  readonly kind = 'Lock' as const;
  readonly id: string;
  readonly #item: LeaseItem;
  #hold: Hold | undefined;

  /** @param id an existing lock's id (from a handle); a new lock when omitted */
  constructor(env: AwsSyncEnv, id: string = randomUUID()) {
    noteShareable(this);
    this.id = id;
    this.#item = new LeaseItem(env, id);
  }

  /** @internal This instance's current (possibly lost) acquisition. */
  get lease(): Hold | undefined {
    return this.#hold;
  }

  /** Whether this instance holds a live lease on the lock. */
  heldByMe(): boolean {
    return this.#hold?.live() ?? false;
  }

  /** The fence of this instance's current acquisition. */
  get fence(): number | undefined {
    return this.#hold?.fence;
  }

  /** {@inheritDoc Acquirable.acquire} Acquiring a lock this instance holds blocks (or fails), as in CPython. */
  async acquire(options?: AcquireOptions): Promise<boolean> {
    const hold = await take(this.#item, undefined, options);
    if (!hold) return false;
    this.#hold?.stop(); // a previous acquisition whose lease ran out unnoticed
    this.#hold = hold;
    return true;
  }

  /**
   * Releases. By the acquirer: frees the lock unless its lease was taken over
   * ({@link LeaseLostError}) or another party already released it ({@link OverReleaseError}). By
   * any other instance: frees the current holder's lock, or {@link OverReleaseError} if unlocked.
   */
  async release(): Promise<void> {
    const hold = this.#hold;
    if (hold) {
      this.#hold = undefined;
      hold.stop();
      let why: Awaited<ReturnType<LeaseItem['free']>>;
      try {
        why = await this.#item.free(hold.token, hold.fence);
      } catch (e) {
        // The request failed (network, throttling): still held, so keep renewing.
        this.#hold = hold;
        hold.start();
        throw e;
      }
      if (why === 'taken') throw new LeaseLostError(`Lock ${this.id}`, hold.fence);
      if (why === 'freed')
        throw new OverReleaseError(`Lock ${this.id} was already released by another party`);
      return;
    }
    if (!(await this.#item.freeAny()))
      throw new OverReleaseError(`Cannot release the unlocked Lock ${this.id}`);
  }

  /** {@inheritDoc Acquirable.withLock} */
  withLock<R>(fn: () => R | Promise<R>): Promise<R> {
    return holding(this, fn);
  }

  /** {@inheritDoc Lock.locked} One consistent GetItem. */
  async locked(): Promise<boolean> {
    const { holder } = await this.#item.read();
    return holder !== undefined && holder.until >= Date.now();
  }

  [SHARE](): SyncHandle {
    return { $fanfold: 'handle', ctx: 'aws', kind: this.kind, data: { id: this.id } };
  }
}

/** Each party's RLock acquisitions, shared by every instance of the same lock in that party. */
const rlockHolds = new WeakMap<AwsSyncEnv, Map<string, Hold>>();

/**
 * A recursive lock on DynamoDB (CPython `multiprocessing.RLock`). The owner is the party (see
 * `partyOf`: the process, or one environment in a test); every instance of the lock in that party
 * shares the acquisition, as every handle to a CPython RLock in one thread does. A re-acquire by the
 * owner is 1 UpdateItem (count + 1, lease pushed); a release too. A party's re-acquires and
 * releases run one at a time (each writes the count it expects, so a retried one is not counted twice).
 */
export class AwsRLock implements RLock {
  readonly kind = 'RLock' as const;
  readonly id: string;
  readonly #item: LeaseItem;
  readonly #owner: string;
  readonly #holds: Map<string, Hold>;

  /** @param id an existing lock's id (from a handle); a new lock when omitted */
  constructor(env: AwsSyncEnv, id: string = randomUUID()) {
    noteShareable(this);
    this.id = id;
    this.#item = new LeaseItem(env, id);
    this.#owner = partyOf(env);
    const holds = rlockHolds.get(env) ?? new Map<string, Hold>();
    rlockHolds.set(env, holds);
    this.#holds = holds;
  }

  /** @internal This party's current (possibly lost) acquisition. */
  get lease(): Hold | undefined {
    return this.#holds.get(this.id);
  }

  /** Whether this party holds a live lease on the lock. */
  heldByMe(): boolean {
    return this.lease?.live() ?? false;
  }

  /** The fence of this party's current acquisition. */
  get fence(): number | undefined {
    return this.lease?.fence;
  }

  #drop(hold: Hold): void {
    hold.stop();
    if (this.#holds.get(this.id) === hold) this.#holds.delete(this.id);
  }

  /**
   * {@inheritDoc Acquirable.acquire} A re-acquire by the owner whose lease was taken over throws
   * {@link LeaseLostError} (its earlier acquisitions are void).
   */
  async acquire(options?: AcquireOptions): Promise<boolean> {
    blockOptions(options);
    const mine = this.lease;
    if (mine) {
      const again = await mine.exclusive(async () => {
        if (this.lease !== mine) return false; // released meanwhile: take it afresh
        const since = Date.now();
        const why = await this.#item.touch(mine.token, 1, mine.count);
        if (why) {
          this.#drop(mine);
          throw new LeaseLostError(`RLock ${this.id}`, mine.fence);
        }
        mine.count++;
        mine.renewed(since);
        return true;
      });
      if (again) return true;
    }
    const hold = await take(this.#item, this.#owner, options);
    if (!hold) return false;
    this.#holds.set(this.id, hold);
    return true;
  }

  /** Releases once; the last release frees it. {@link NotOwnerError} if this party does not hold it, {@link LeaseLostError} if its lease was taken over. */
  async release(): Promise<void> {
    const mine = this.lease;
    if (!mine) throw new NotOwnerError(`Cannot release RLock ${this.id}: this party does not hold it`);
    await mine.exclusive(async () => {
      if (this.lease !== mine)
        throw new NotOwnerError(`Cannot release RLock ${this.id}: this party does not hold it`);
      const last = mine.count === 1;
      // Either refusal means another party took the lock over: nobody else can free an RLock.
      const why = last
        ? await this.#item.free(mine.token, mine.fence)
        : await this.#item.touch(mine.token, -1, mine.count);
      if (why || last) this.#drop(mine);
      if (why) throw new LeaseLostError(`RLock ${this.id}`, mine.fence);
      mine.count--;
    });
  }

  /** {@inheritDoc Acquirable.withLock} */
  withLock<R>(fn: () => R | Promise<R>): Promise<R> {
    return holding(this, fn);
  }

  /** {@inheritDoc RLock.state} One consistent GetItem; an expired holder reads as free. */
  async state(): Promise<RLockState> {
    const { holder } = await this.#item.read();
    if (!holder || holder.until < Date.now()) return { owner: undefined, count: 0 };
    return { owner: holder.owner, count: holder.count };
  }

  [SHARE](): SyncHandle {
    return { $fanfold: 'handle', ctx: 'aws', kind: this.kind, data: { id: this.id } };
  }
}

/** A lock of this context that can guard fenced writes. */
export type AwsLeaseLock = AwsLock | AwsRLock;

/**
 * The TransactWriteItems entry that makes a write fenced: it holds only while `lock`'s current
 * acquisition still holds the lock, so a transaction with it is refused once the lease was taken
 * over. Throws {@link NotOwnerError} if this instance does not hold `lock`, and
 * {@link LeaseLostError} if it already knows its lease is gone.
 */
export function fenceCheck(lock: AwsLeaseLock): TransactWriteItem {
  const hold = lock.lease;
  if (!hold) throw new NotOwnerError(`${lock.kind} ${lock.id} is not held by this party`);
  if (hold.ended) throw new LeaseLostError(`${lock.kind} ${lock.id}`, hold.fence);
  return hold.item.fenceCheck(hold.token);
}

/** The AWS context's `Lock` and `RLock`. */
export const locks: PrimitiveModule<AwsSyncEnv> = {
  make: (env) => ({ Lock: () => new AwsLock(env), RLock: () => new AwsRLock(env) }),
  revive: {
    Lock: (handle, env) => new AwsLock(env, handleData(handle, 'Lock').id),
    RLock: (handle, env) => new AwsRLock(env, handleData(handle, 'RLock').id),
  },
};
