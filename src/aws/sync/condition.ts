/**
 * `Condition` on the AWS context: a lock of this context (an `AwsRLock` by default) and one DynamoDB
 * item listing the waiters, each with a heartbeat; a timed-out waiter leaves a tombstone so that
 * the SDK's retry of its deregistration is not taken for a notification. The protocol, its races
 * and its failure analysis: docs/primitives.md, sections 3.5 and 4.
 */

import { randomUUID } from 'node:crypto';
import type { PrimitiveModule } from '../../api/context.js';
import type { AcquireOptions, Condition, Lock, RLock } from '../../api/synchronize.js';
import { waitForPredicate } from '../../api/wait-for.js';
import { type Deadline, deadlineOf } from '../../deadline.js';
import { InvalidArgumentError, NotOwnerError, ProtocolError } from '../../errors.js';
import { isHandle, noteShareable, SHARE, type SyncHandle } from '../../handles.js';
import { optionalInteger, optionalTimeout, received } from '../../validate.js';
import { Expr, N } from '../dynamo-items.js';
import { poll } from './backoff.js';
import type { AwsSyncEnv } from './env.js';
import { handleData } from './items.js';
import { AwsLock, AwsRLock, locks } from './locks.js';
import { type Item, num, SyncItem } from './sync-item.js';

/** Waiters removed per UpdateItem (keeps the expressions well under DynamoDB's 4 KB). */
const PER_WRITE = 25;

interface Waiter {
  readonly id: string;
  readonly seq: number;
  readonly beat: number;
}

function waitersOf(item: Item): Waiter[] {
  const out: Waiter[] = [];
  for (const [name, v] of Object.entries(item)) {
    if (!name.startsWith('w_') || v.N === undefined) continue;
    const id = name.slice(2);
    out.push({ id, seq: Number(v.N), beat: num(item, `h_${id}`) });
  }
  return out.sort((a, b) => a.seq - b.seq);
}

/** The tombstones (`d_<id>`) of `item` written before `cut`: their waiters' retries are long over. */
function staleTombstones(item: Item, cut: number): string[] {
  return Object.entries(item)
    .filter(([name, v]) => name.startsWith('d_') && v.N !== undefined && Number(v.N) < cut)
    .map(([name]) => name);
}

/** A `Condition` whose waiters live in the jobs table. */
export class AwsCondition implements Condition {
  readonly kind = 'Condition' as const;
  readonly #env: AwsSyncEnv;
  readonly #item: SyncItem;
  readonly #lock: AwsLock | AwsRLock;

  /** @param lock a validated lock of this context */
  constructor(env: AwsSyncEnv, lock: AwsLock | AwsRLock, id: string = randomUUID()) {
    this.#env = env;
    this.#lock = lock;
    this.#item = new SyncItem(env, id);
    noteShareable(this);
  }

  [SHARE](): SyncHandle {
    return {
      $fanfold: 'handle',
      ctx: 'aws',
      kind: 'Condition',
      data: { id: this.#item.id, lock: this.#lock[SHARE]() },
    };
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

  #requireOwner(method: string): void {
    if (!this.#lock.heldByMe())
      throw new NotOwnerError(
        `Cannot ${method}() on Condition ${this.#item.id}: its ${this.#lock.kind} is not held by this party`,
      );
  }

  async wait(timeout?: number): Promise<boolean> {
    const deadline = deadlineOf(optionalTimeout(timeout));
    this.#requireOwner('wait');
    const id = randomUUID().replaceAll('-', '');
    await this.#register(id);
    // Release fully (an RLock as often as it was taken) and take it back as often afterwards:
    // CPython's _release_save / _acquire_restore.
    const depth = this.#lock instanceof AwsRLock ? (this.#lock.lease?.count ?? 1) : 1;
    try {
      for (let i = 0; i < depth; i++) await this.#lock.release();
    } catch (e) {
      await this.#deregister(id).catch(() => undefined);
      throw e;
    }
    try {
      return await this.#await(id, deadline);
    } finally {
      for (let i = 0; i < depth; i++) await this.#lock.acquire();
    }
  }

  /** Adds waiter `id` with the next arrival number: one UpdateItem. */
  async #register(id: string): Promise<void> {
    const x = new Expr();
    const next = `if_not_exists(${x.n('seq')}, ${x.v('zero', N(0))}) + ${x.v('one', N(1))}`;
    await this.#item.update(x, {
      set: [
        `${x.n('seq')} = ${next}`,
        `${x.n(`w_${id}`)} = ${next}`,
        `${x.n(`h_${id}`)} = ${x.v('now', N(Date.now()))}`,
      ],
    });
  }

  /**
   * Removes waiter `id` if still there, leaving tombstone `d_<id>` so that a retried attempt knows
   * it removed it itself; resolves false when a notifier removed it first. Then drops the tombstone.
   */
  async #deregister(id: string): Promise<boolean> {
    const x = new Expr();
    const out = await this.#item.update(
      x,
      {
        set: [`${x.n(`d_${id}`)} = ${x.v('now', N(Date.now()))}`],
        remove: [x.n(`w_${id}`), x.n(`h_${id}`)],
      },
      `attribute_exists(${x.n(`w_${id}`)})`,
    );
    const mine = out.ok || out.item[`d_${id}`] !== undefined;
    if (mine) {
      const y = new Expr();
      await this.#item.update(y, { remove: [y.n(`d_${id}`)] });
    }
    return mine;
  }

  /** Polls until waiter `id` is notified (true) or the deadline passed (false, unless notified meanwhile). */
  async #await(id: string, deadline: Deadline): Promise<boolean> {
    const beatEvery = this.#env.leaseMs / 3;
    let beaten = Date.now();
    const notified = await poll(
      async () => {
        const x = new Expr();
        if (Date.now() - beaten >= beatEvery) {
          // The heartbeat doubles as this round's check: refused means the entry is gone (notified).
          beaten = Date.now();
          const out = await this.#item.update(
            x,
            { set: [`${x.n(`h_${id}`)} = ${x.v('now', N(beaten))}`] },
            `attribute_exists(${x.n(`w_${id}`)})`,
          );
          return out.ok ? undefined : true;
        }
        const item = await this.#item.get(x, [x.n(`w_${id}`)]);
        return item[`w_${id}`] === undefined ? true : undefined;
      },
      this.#env.pollMs,
      deadline,
    );
    if (notified) return true;
    // Timed out. If the entry is already gone, a notifier chose this waiter: take the notification.
    return !(await this.#deregister(id));
  }

  async waitFor<R>(predicate: () => R | Promise<R>, timeout?: number): Promise<R> {
    return waitForPredicate<R>(predicate, timeout, (left) => this.wait(left));
  }

  async notify(n = 1): Promise<void> {
    const count = optionalInteger(n, 'n', 0) ?? 1;
    this.#requireOwner('notify');
    await this.#notify(count);
  }

  async notifyAll(): Promise<void> {
    this.#requireOwner('notifyAll');
    await this.#notify(Number.POSITIVE_INFINITY);
  }

  /** Removes the `n` oldest live waiters (and any dead ones on the way), re-reading after a refusal. */
  async #notify(n: number): Promise<void> {
    let left = n;
    while (left > 0) {
      const cut = Date.now() - this.#env.leaseMs;
      const item = await this.#item.get();
      const all = waitersOf(item);
      const live = all.filter((w) => w.beat >= cut);
      const dead = all.filter((w) => w.beat < cut);
      const wake = live.slice(0, Math.min(left, PER_WRITE));
      const drop = dead.slice(0, PER_WRITE - wake.length);
      if (wake.length + drop.length === 0) return;
      // A few per write: 25 waiters already take about 3 KB of the 4 KB an expression may have.
      const stale = staleTombstones(item, cut).slice(0, 4);
      const x = new Expr();
      const cutV = drop.length > 0 ? x.v('cut', N(cut)) : '';
      const checks = [
        ...wake.map((w) => `attribute_exists(${x.n(`w_${w.id}`)})`),
        // Still dead: one that beat since the read is alive and must be counted if woken.
        ...drop.map((w) => `${x.n(`h_${w.id}`)} < ${cutV}`),
      ];
      const out = await this.#item.update(
        x,
        {
          remove: [
            ...[...wake, ...drop].flatMap((w) => [x.n(`w_${w.id}`), x.n(`h_${w.id}`)]),
            ...stale.map((name) => x.n(name)),
          ],
        },
        checks.join(' AND '),
      );
      if (!out.ok) continue; // a waiter timed out (or beat) since the read: read again
      left -= wake.length;
      if (wake.length === live.length && drop.length === dead.length) return; // nobody else waits
    }
  }
}

/** Whether `v` is a lock this context can build a Condition on. */
function isAwsLock(v: unknown): v is AwsLock | AwsRLock {
  return v instanceof AwsLock || v instanceof AwsRLock;
}

/** The `Condition` factory and reviver of the AWS context. */
export const condition: PrimitiveModule<AwsSyncEnv> = {
  make: (env) => ({
    Condition: (lock?: Lock | RLock) => {
      if (lock !== undefined && !isAwsLock(lock))
        throw new InvalidArgumentError(
          `Expected lock to be a Lock or RLock of the aws context, got ${received(lock)}`,
        );
      return new AwsCondition(env, lock ?? new AwsRLock(env));
    },
  }),
  revive: {
    Condition: (handle, env) => {
      const data = handleData(handle, 'Condition');
      const lock = data.lock;
      if (!isHandle(lock) || lock.ctx !== 'aws' || (lock.kind !== 'Lock' && lock.kind !== 'RLock'))
        throw new ProtocolError(
          `Condition handle: data.lock must be an aws Lock or RLock handle, got ${received(lock)}`,
        );
      const revived = locks.revive[lock.kind]?.(lock, env);
      if (!isAwsLock(revived))
        throw new ProtocolError('Condition handle: data.lock did not revive as a lock');
      return new AwsCondition(env, revived, data.id);
    },
  },
};
