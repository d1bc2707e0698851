/**
 * `Event` on the AWS context: one DynamoDB item with the flag and `sets`, a counter bumped by every
 * `set()`. `set` and `clear` are one unconditional UpdateItem each; `isSet` is one strongly
 * consistent read; `wait` polls with backoff and jitter.
 *
 * Why the counter: a waiter that polls may miss a `set(); clear()` pair that happens between two
 * of its reads. It notes `sets` at its first read and resolves true as soon as it moved on, so a
 * set that happened after the wait began is never lost (threading.Event's semantics: a waiter woken
 * by a set returns true even if the flag was cleared before it ran).
 */
import { randomUUID } from 'node:crypto';
import type { PrimitiveModule } from '../../api/context.js';
import type { Event } from '../../api/synchronize.js';
import { deadlineOf } from '../../deadline.js';
import { noteShareable, SHARE, type SyncHandle } from '../../handles.js';
import { optionalTimeout } from '../../validate.js';
import { Expr, N } from '../dynamo-items.js';
import { poll } from './backoff.js';
import type { AwsSyncEnv } from './env.js';
import { handleData } from './items.js';
import { bool, type Item, num, SyncItem } from './sync-item.js';

/** An `Event` whose flag lives in the jobs table. */
export class AwsEvent implements Event {
  readonly kind = 'Event' as const;
  readonly #env: AwsSyncEnv;
  readonly #item: SyncItem;

  /** @param id the item's id; a fresh one makes a new, cleared event (its item is written by the first `set`/`clear`). */
  constructor(env: AwsSyncEnv, id: string = randomUUID()) {
    this.#env = env;
    this.#item = new SyncItem(env, id);
    noteShareable(this);
  }

  [SHARE](): SyncHandle {
    return { $fanfold: 'handle', ctx: 'aws', kind: 'Event', data: { id: this.#item.id } };
  }

  async #read(): Promise<Item> {
    const x = new Expr();
    return this.#item.get(x, [x.n('flag'), x.n('sets')]);
  }

  async isSet(): Promise<boolean> {
    return bool(await this.#read(), 'flag');
  }

  async set(): Promise<void> {
    const x = new Expr();
    await this.#item.update(x, {
      set: [`${x.n('flag')} = ${x.v('true', { BOOL: true })}`],
      add: [`${x.n('sets')} ${x.v('one', N(1))}`],
    });
  }

  async clear(): Promise<void> {
    const x = new Expr();
    await this.#item.update(x, { set: [`${x.n('flag')} = ${x.v('false', { BOOL: false })}`] });
  }

  /** Resolves true once the flag is set (or was set after the wait began), false when `timeoutMs` ran out first. */
  async wait(timeout?: number): Promise<boolean> {
    const deadline = deadlineOf(optionalTimeout(timeout));
    let seen: number | undefined;
    const got = await poll(
      async () => {
        const item = await this.#read();
        if (bool(item, 'flag')) return true;
        const sets = num(item, 'sets');
        if (seen === undefined) seen = sets; // the first read fixes when the wait began
        return sets > seen ? true : undefined;
      },
      this.#env.pollMs,
      deadline,
    );
    return got ?? false;
  }
}

/** The `Event` factory and reviver of the AWS context. */
export const event: PrimitiveModule<AwsSyncEnv> = {
  make: (env) => ({ Event: () => new AwsEvent(env) }),
  revive: {
    Event: (handle, env) => new AwsEvent(env, handleData(handle, 'Event').id),
  },
};
