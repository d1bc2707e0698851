/**
 * The item behind `Semaphore` and `BoundedSemaphore`: free permits in `count`, one `h_<token>` per
 * live acquisition (a lease), `ver` for the writes that read first; acquire and release idempotent
 * under the SDK's retries. The writes and the crash analysis: docs/primitives.md, sections 3.2
 * and 4.
 */

import { randomUUID } from 'node:crypto';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { Expr, N, S } from '../dynamo-items.js';
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
  /** Every holder's token, the one whose lease ends first first. */
  readonly holders: readonly string[];
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
    const holders: [string, number][] = [];
    for (const [name, v] of Object.entries(item ?? {})) {
      if (!name.startsWith(HOLDER)) continue;
      holders.push([name.slice(HOLDER.length), Number(v.N)]);
      if (Number(v.N) < now) expired.push(name.slice(HOLDER.length));
    }
    holders.sort((a, b) => a[1] - b[1]);
    return { count, ver: Number(item?.ver?.N ?? 0), expired, holders: holders.map(([t]) => t) };
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
      `attribute_not_exists(${x.n(HOLDER + token)}) AND (${this.initial > 0 ? `attribute_not_exists(${x.n('count')}) OR ${free}` : free})`,
    );
    // Refused but holding: a retry of an attempt that took the permit (its answer lost).
    if (out.ok || out.item?.[HOLDER + token] !== undefined) return true;
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
    return out.ok || out.item?.[HOLDER + token] !== undefined;
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

  /**
   * Returns `token`'s permit. Refused: `'freed'` if a release by another party returned it
   * (`adopted`), `'taken'` if it is gone otherwise (reclaimed after its lease, or, when the caller's
   * lease is still live, removed by an earlier attempt of this release whose `lastFreed` another
   * release overwrote since).
   */
  async giveBack(token: string): Promise<Refusal | undefined> {
    const x = new Expr();
    const h = x.n(HOLDER + token);
    const t = x.v('token', S(token));
    const out = await conditionalUpdate(
      this.env,
      this.key,
      x,
      [`${x.n('lastFreed')} = ${t}`],
      `ADD ${x.n('count')} ${x.v('one', N(1))}, ${x.n('ver')} :one REMOVE ${h}`,
      `attribute_exists(${h})`,
    );
    if (out.ok || out.item?.lastFreed?.S === token) return undefined;
    return out.item?.adopted?.S === token ? 'freed' : 'taken';
  }

  /**
   * Adds a permit for a release by a party that did not acquire. Bounded: returns the permit of
   * the acquisition whose lease ends first (its acquirer's own release then fails), or a free
   * permit below the bound; resolves false at the bound.
   */
  async add(): Promise<boolean> {
    const nonce = randomUUID();
    if (!this.bounded) {
      const x = new Expr();
      const one = x.v('one', N(1));
      const last = x.n('lastAdd');
      // Refused only as the retry of an attempt that added it (answer lost): added once either way.
      await conditionalUpdate(
        this.env,
        this.key,
        x,
        [
          `${x.n('count')} = if_not_exists(${x.n('count')}, ${x.v('init', N(this.initial))}) + ${one}`,
          `${last} = ${x.v('nonce', S(nonce))}`,
        ],
        `ADD ${x.n('ver')} ${one}`,
        `attribute_not_exists(${last}) OR ${last} <> :nonce`,
      );
      return true;
    }
    let item = await getItem(this.env, this.key);
    for (;;) {
      const state = this.#decode(item, Date.now());
      const adopt = state.holders[0];
      if (adopt === undefined && state.count >= this.initial) return false;
      const x = new Expr();
      const sets = [
        `${x.n('count')} = ${x.v('count', N(state.count + 1))}`,
        `${x.n('lastAdd')} = ${x.v('nonce', S(nonce))}`,
      ];
      if (adopt !== undefined) sets.push(`${x.n('adopted')} = ${x.v('adopted', S(adopt))}`);
      const out = await conditionalUpdate(
        this.env,
        this.key,
        x,
        sets,
        `ADD ${x.n('ver')} ${x.v('one', N(1))}${adopt === undefined ? '' : ` REMOVE ${x.n(HOLDER + adopt)}`}`,
        state.ver === 0
          ? `attribute_not_exists(${x.n('ver')})`
          : `${x.n('ver')} = ${x.v('ver', N(state.ver))}`,
      );
      if (out.ok || out.item?.lastAdd?.S === nonce) return true;
      item = out.item; // another write came first: decide again on what it left
    }
  }
}
