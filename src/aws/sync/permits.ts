/**
 * The item behind `Semaphore` and `BoundedSemaphore`: `count` (permits free now, CPython's counter),
 * one attribute `h_<token>` per live acquisition holding its lease's end (epoch ms), `ver` bumped by
 * every write, and for bounded ones `room` (bound − count − acquisitions: how many releases by
 * non-acquirers the bound still allows; every other write leaves it unchanged).
 *
 * Requests: acquire 1 UpdateItem (count > 0), or 2 when it must first reclaim the permits of
 * holders whose lease ran out (read from the refused write's ALL_OLD, then one write conditioned on
 * `ver`); release 1 UpdateItem; renewal 1 UpdateItem per third of a lease per acquisition held.
 * Crash analysis: a holder that dies stops renewing; the next acquirer that finds no free permit
 * removes its attribute and returns its permit in the same conditional write.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { Expr, N } from '../dynamo-items.js';
import type { AwsSyncEnv } from './env.js';
import { conditionalUpdate, getItem, syncKey } from './items.js';
import type { Refusal } from './lease.js';

type Item = Record<string, AttributeValue>;

const HOLDER = 'h_';

/** A semaphore item as read. */
interface PermitState {
  readonly count: number;
  readonly ver: number;
  /** Holders' tokens whose lease ran out. */
  readonly expired: readonly string[];
}

/** The DynamoDB operations on one semaphore item. */
export class PermitItem {
  readonly key: Item;

  /** @param initial the permits of a new semaphore (its item is made by the first write) @param bounded whether releases are bounded by `initial` */
  constructor(
    readonly env: AwsSyncEnv,
    readonly id: string,
    readonly initial: number,
    readonly bounded: boolean,
  ) {
    this.key = syncKey(id);
  }

  #decode(item: Item | undefined, now: number): PermitState {
    const count = item?.count?.N === undefined ? this.initial : Number(item.count.N);
    const expired: string[] = [];
    for (const [name, v] of Object.entries(item ?? {}))
      if (name.startsWith(HOLDER) && Number(v.N) < now) expired.push(name.slice(HOLDER.length));
    return { count, ver: Number(item?.ver?.N ?? 0), expired };
  }

  /** The permits an acquirer could take now: free ones plus those of expired holders. */
  async value(): Promise<number> {
    const state = this.#decode(await getItem(this.env, this.key), Date.now());
    return state.count + state.expired.length;
  }

  /** Takes a permit for `token` (lease from now); reclaims expired holders' permits if none is free. Resolves whether it got one. */
  async take(token: string): Promise<boolean> {
    const now = Date.now();
    const x = new Expr();
    const init = x.v('init', N(this.initial));
    const free = `${x.n('count')} > ${x.v('zero', N(0))}`;
    const out = await conditionalUpdate(
      this.env,
      this.key,
      x,
      [
        `${x.n('count')} = if_not_exists(${x.n('count')}, ${init}) - ${x.v('one', N(1))}`,
        `${x.n(HOLDER + token)} = ${x.v('until', N(now + this.env.leaseMs))}`,
      ],
      `ADD ${x.n('ver')} :one`,
      this.initial > 0 ? `attribute_not_exists(${x.n('count')}) OR ${free}` : free,
    );
    if (out.ok) return true;
    const state = this.#decode(out.item, now);
    if (state.expired.length === 0 || state.count + state.expired.length <= 0) return false;
    return this.#reclaim(token, state, now);
  }

  /** Removes expired holders and takes one of their permits, if nobody wrote since `state` was read. */
  async #reclaim(token: string, state: PermitState, now: number): Promise<boolean> {
    const x = new Expr();
    const removed = state.expired.map((t) => x.n(HOLDER + t));
    const out = await conditionalUpdate(
      this.env,
      this.key,
      x,
      [
        `${x.n('count')} = ${x.v('count', N(state.count + state.expired.length - 1))}`,
        `${x.n(HOLDER + token)} = ${x.v('until', N(now + this.env.leaseMs))}`,
      ],
      `ADD ${x.n('ver')} ${x.v('one', N(1))} REMOVE ${removed.join(', ')}`,
      `${x.n('ver')} = ${x.v('ver', N(state.ver))}`,
    );
    return out.ok;
  }

  /** Pushes the lease of `token` (delta is ignored: a permit has no count). */
  async touch(token: string, _delta: number): Promise<Refusal | undefined> {
    const x = new Expr();
    const h = x.n(HOLDER + token);
    const out = await conditionalUpdate(
      this.env,
      this.key,
      x,
      [`${h} = ${x.v('until', N(Date.now() + this.env.leaseMs))}`],
      '',
      `attribute_exists(${h})`,
    );
    return out.ok ? undefined : 'taken';
  }

  /** Returns `token`'s permit; false if its lease ran out and the permit was reclaimed. */
  async giveBack(token: string): Promise<boolean> {
    const x = new Expr();
    const h = x.n(HOLDER + token);
    const out = await conditionalUpdate(
      this.env,
      this.key,
      x,
      [],
      `ADD ${x.n('count')} ${x.v('one', N(1))}, ${x.n('ver')} :one REMOVE ${h}`,
      `attribute_exists(${h})`,
    );
    return out.ok;
  }

  /**
   * Adds a permit for a release by a party that did not acquire. Bounded: only while `room` is left
   * (the bound counts free permits and every acquisition, live or expired); resolves false past it.
   */
  async add(): Promise<boolean> {
    const x = new Expr();
    const one = x.v('one', N(1));
    const count = `${x.n('count')} = if_not_exists(${x.n('count')}, ${x.v('init', N(this.initial))}) + ${one}`;
    if (!this.bounded)
      return (await conditionalUpdate(this.env, this.key, x, [count], `ADD ${x.n('ver')} ${one}`, undefined))
        .ok;
    const room = `${x.n('room')} = if_not_exists(${x.n('room')}, ${x.v('zero', N(0))}) - ${one}`;
    const out = await conditionalUpdate(
      this.env,
      this.key,
      x,
      [count, room],
      `ADD ${x.n('ver')} ${one}`,
      `${x.n('room')} > :zero`,
    );
    return out.ok;
  }
}
