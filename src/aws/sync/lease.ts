/**
 * The lease item behind `Lock`, `RLock` (and whatever builds on them): one DynamoDB item per lock
 * with the holder's token, lease end, owner, count and fence; every state change one conditional
 * UpdateItem, idempotent under the SDK's retries by what a refused retry finds. The writes, the
 * crash analysis and the lost answers: docs/primitives.md, sections 3.1 and 4.
 */
import { randomUUID } from 'node:crypto';
import type { TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { Expr, N, S } from '../dynamo-items.js';
import type { AwsSyncEnv } from './env.js';
import { conditionalUpdate, getItem, type Item, syncKey } from './items.js';

/** A lock item's holder as read. */
export interface Holder {
  readonly token: string;
  readonly until: number;
  readonly owner: string | undefined;
  readonly count: number;
}

/** What a lock item holds: the live or expired holder (if any) and the last fence handed out. */
export interface LockState {
  readonly holder: Holder | undefined;
  readonly fence: number;
}

/** How a refused holder write ended: the lock was taken over (fence moved on) or freed by another party. */
export type Refusal = 'taken' | 'freed';

function decode(item: Item | undefined): LockState {
  const fence = Number(item?.fence?.N ?? 0);
  const token = item?.token?.S;
  if (!item || token === undefined) return { holder: undefined, fence };
  return {
    holder: {
      token,
      until: Number(item.until?.N ?? 0),
      owner: item.owner?.S,
      count: Number(item.count?.N ?? 1),
    },
    fence,
  };
}

function removeHolder(x: Expr): string {
  return `REMOVE ${['token', 'until', 'owner', 'count'].map((a) => x.n(a)).join(', ')}`;
}

/** The DynamoDB operations on one lock item. */
export class LeaseItem {
  readonly key: Item;

  constructor(
    readonly env: AwsSyncEnv,
    readonly id: string,
  ) {
    this.key = syncKey(id);
  }

  /** One conditional UpdateItem: `SET <ttl>, <sets> <rest>`; a refusal returns the item found. */
  #update(x: Expr, sets: readonly string[], rest: string, condition: string, returnNew = false) {
    return conditionalUpdate(this.env, this.key, x, sets, rest, condition, returnNew ? 'ALL_NEW' : 'NONE');
  }

  /** A strongly consistent read of the item (no item reads as free with fence 0). */
  async read(): Promise<LockState> {
    return decode(await getItem(this.env, this.key));
  }

  /**
   * Takes the lock for `token` if it is free or its holder's lease ran out: sets the holder,
   * bumps the fence. Resolves the new fence, or undefined when a live holder has it.
   */
  async take(token: string, owner: string | undefined): Promise<number | undefined> {
    const x = new Expr();
    const now = Date.now();
    const sets = [
      `${x.n('token')} = ${x.v('token', S(token))}`,
      `${x.n('until')} = ${x.v('until', N(now + this.env.leaseMs))}`,
      `${x.n('count')} = ${x.v('one', N(1))}`,
    ];
    if (owner !== undefined) sets.push(`${x.n('owner')} = ${x.v('owner', S(owner))}`);
    const free = `attribute_not_exists(${x.n('token')}) OR ${x.n('until')} < ${x.v('now', N(now))}`;
    const out = await this.#update(
      x,
      sets,
      `ADD ${x.n('fence')} :one${owner === undefined ? ` REMOVE ${x.n('owner')}` : ''}`,
      free,
      true,
    );
    if (out.ok) return decode(out.item).fence;
    // A retry of an attempt that took it (its answer lost): ours, with the fence bumped once.
    const found = decode(out.item);
    return found.holder?.token === token ? found.fence : undefined;
  }

  /**
   * Pushes `until` a lease ahead, if `token` still holds; with `delta` (+1, -1) also moves `count`
   * from `expected` (the holder's count, exact under {@link Hold.exclusive}) to `expected + delta`.
   */
  async touch(token: string, delta: number, expected = 0): Promise<Refusal | undefined> {
    const x = new Expr();
    const until = `${x.n('until')} = ${x.v('until', N(Date.now() + this.env.leaseMs))}`;
    const mine = `${x.n('token')} = ${x.v('token', S(token))}`;
    if (delta === 0) {
      const out = await this.#update(x, [until], '', mine);
      return out.ok ? undefined : this.#refusal(out.item, token);
    }
    const count = `${x.n('count')} = ${x.v('count', N(expected + delta))}`;
    const out = await this.#update(
      x,
      [until, count],
      '',
      `${mine} AND ${x.n('count')} = ${x.v('was', N(expected))}`,
    );
    if (out.ok) return undefined;
    const found = decode(out.item).holder;
    // A retry of an attempt that moved the count (its answer lost).
    if (found?.token === token && found.count === expected + delta) return undefined;
    return this.#refusal(out.item, token);
  }

  /** Frees the lock if `token` holds it (expired or not: nobody took it over); records it in `lastFreed`. */
  async free(token: string, fence: number): Promise<Refusal | undefined> {
    const x = new Expr();
    const t = x.v('token', S(token));
    const out = await this.#update(
      x,
      [`${x.n('lastFreed')} = ${t}`],
      removeHolder(x),
      `${x.n('token')} = ${t}`,
    );
    if (out.ok || out.item?.lastFreed?.S === token) return undefined; // freed, maybe by an earlier attempt
    return this.#refusal(out.item, token, fence);
  }

  /** Frees the lock whoever holds it, if a live holder does (CPython lets any party release a Lock). Resolves false if it was not held. */
  async freeAny(): Promise<boolean> {
    const x = new Expr();
    const nonce = randomUUID();
    const live = `attribute_exists(${x.n('token')}) AND ${x.n('until')} >= ${x.v('now', N(Date.now()))}`;
    const out = await this.#update(
      x,
      [`${x.n('lastFreed')} = ${x.v('nonce', S(nonce))}`],
      removeHolder(x),
      live,
    );
    return out.ok || out.item?.lastFreed?.S === nonce;
  }

  #refusal(item: Item | undefined, token: string, fence?: number): Refusal {
    const state = decode(item);
    if (state.holder && state.holder.token !== token) return 'taken';
    return fence !== undefined && state.fence > fence ? 'taken' : 'freed';
  }

  /** A transaction entry that holds only while `token` holds this lock (a fenced write's guard). */
  fenceCheck(token: string): TransactWriteItem {
    const x = new Expr();
    return {
      ConditionCheck: {
        TableName: this.env.table,
        Key: this.key,
        ConditionExpression: `${x.n('token')} = ${x.v('token', S(token))}`,
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        ...x.attributes,
      },
    };
  }
}

/** What a {@link Hold} renews: an item that pushes a token's lease (delta 0) if the token still holds. */
export interface Renewable {
  readonly env: AwsSyncEnv;
  touch(token: string, delta: number): Promise<Refusal | undefined>;
}

/**
 * One acquisition of a lock by this party: its token and fence, its recursion count, and the
 * renewal timer that keeps the lease alive (every third of a lease, unref'd so a held lock never
 * keeps the process alive). A renewal refused means the lease is gone: the hold ends and stops
 * renewing; the holder learns it on its next release or fenced write.
 */
export class Hold<I extends Renewable = LeaseItem> {
  /** Recursion count (1 for a plain Lock). */
  count = 1;
  #until: number;
  #ended: Refusal | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #renewing = false;
  #queue: Promise<unknown> = Promise.resolve();

  /** @param since when the acquiring request was sent (the lease runs from then, conservatively) */
  constructor(
    readonly item: I,
    readonly token: string,
    readonly fence: number,
    since: number,
  ) {
    this.#until = since + item.env.leaseMs;
  }

  /** Why the lease ended, if a renewal found it gone. */
  get ended(): Refusal | undefined {
    return this.#ended;
  }

  /** Whether this party still holds a live lease (as far as it knows without a request). */
  live(): boolean {
    return this.#ended === undefined && Date.now() < this.#until;
  }

  /**
   * Runs `fn` after every earlier `exclusive` call on this hold has settled: a party's count changes
   * (RLock re-acquire, release) go one at a time, so each knows the count it moves from.
   */
  exclusive<R>(fn: () => Promise<R>): Promise<R> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Records a successful write that pushed `until` (sent at `since`). */
  renewed(since: number): void {
    this.#until = Math.max(this.#until, since + this.item.env.leaseMs);
  }

  /** Starts renewing every third of the lease. */
  start(): void {
    this.stop();
    const timer = setInterval(() => void this.#renew(), Math.max(1, this.item.env.leaseMs / 3));
    timer.unref();
    this.#timer = timer;
  }

  /** Stops renewing (release; also how a test makes a holder "die"). */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Marks the lease as gone and stops renewing. */
  end(why: Refusal): void {
    this.#ended = why;
    this.stop();
  }

  async #renew(): Promise<void> {
    if (this.#renewing || this.#timer === undefined) return;
    this.#renewing = true;
    const since = Date.now();
    try {
      const why = await this.item.touch(this.token, 0);
      if (why) this.end(why);
      else this.renewed(since);
    } catch {
      // A failed request (throttling, network) is retried at the next tick; if they keep failing
      // the lease runs out and live() turns false, as for a dead holder.
    } finally {
      this.#renewing = false;
    }
  }
}
