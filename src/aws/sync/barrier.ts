/**
 * `Barrier` on the AWS context: one DynamoDB item, arrivals recorded by token in a list so that a
 * retried arrival counts once, each generation released by one conditional write. The protocol,
 * its requests and its failure analysis: docs/primitives.md, sections 3.6 and 4.
 */
import { randomUUID } from 'node:crypto';
import type { PrimitiveModule } from '../../api/context.js';
import type { Barrier, BarrierOptions } from '../../api/synchronize.js';
import { deadlineOf } from '../../deadline.js';
import { BrokenBarrierError, InvalidArgumentError, ProtocolError } from '../../errors.js';
import { noteShareable, SHARE, type SyncHandle } from '../../handles.js';
import { optionalTimeout, options, received } from '../../validate.js';
import { Expr, N } from '../dynamo-items.js';
import { poll } from './backoff.js';
import type { AwsSyncEnv } from './env.js';
import { handleData } from './items.js';
import { bool, type Item, num, SyncItem } from './sync-item.js';

/** How many generations' endings the item remembers. */
const RING = 16;

interface State {
  /** No generation was ever written: the item is missing (or holds nothing of the barrier yet). */
  readonly fresh: boolean;
  readonly generation: number;
  readonly count: number;
  readonly broken: boolean;
}

function decode(item: Item): State {
  return {
    fresh: item.generation?.N === undefined,
    generation: num(item, 'generation'),
    count: num(item, 'count'),
    broken: bool(item, 'broken'),
  };
}

/** The arrival `token` made, as a refused retry finds it in `item`, or undefined when it made none. */
function arrivalOf(
  item: Item,
  token: string,
  parties: number,
): { generation: number; index: number } | undefined {
  const at = (list: string): number => (item[list]?.L ?? []).findIndex((v) => v.S === token);
  const current = at('arr');
  if (current >= 0) return { generation: num(item, 'generation'), index: current };
  const released = at('prev');
  if (released >= 0) return { generation: num(item, 'pgen'), index: released };
  if (item.plast?.S === token) return { generation: num(item, 'pgen'), index: parties - 1 };
  return undefined;
}

const NIL = { L: [] };

const endOf = (generation: number): string => `end${generation % RING}`;

/**
 * How generation `g` ended as `item` shows it: 'released', 'broken', or undefined while it lasts.
 * A generation that moved on was released unless the ring marks it reset.
 */
function outcome(item: Item, g: number): 'released' | 'broken' | undefined {
  if (num(item, 'generation') > g) return num(item, endOf(g)) === -(g + 1) ? 'broken' : 'released';
  return bool(item, 'broken') ? 'broken' : undefined;
}

const NOT_BROKEN = (x: Expr): string =>
  `(attribute_not_exists(${x.n('broken')}) OR ${x.n('broken')} = ${x.v('false', { BOOL: false })})`;

/** A `Barrier` whose state lives in the jobs table. */
export class AwsBarrier implements Barrier {
  readonly kind = 'Barrier' as const;
  readonly parties: number;
  readonly #env: AwsSyncEnv;
  readonly #item: SyncItem;
  readonly #timeoutMs: number | undefined;

  /** `parties` and `timeoutMs` must be validated by the caller (the factory or the reviver). */
  constructor(env: AwsSyncEnv, parties: number, timeoutMs: number | undefined, id: string = randomUUID()) {
    this.parties = parties;
    this.#env = env;
    this.#timeoutMs = timeoutMs;
    this.#item = new SyncItem(env, id);
    noteShareable(this);
  }

  [SHARE](): SyncHandle {
    const data: Record<string, unknown> = { id: this.#item.id, parties: this.parties };
    if (this.#timeoutMs !== undefined) data.timeoutMs = this.#timeoutMs;
    return { $fanfold: 'handle', ctx: 'aws', kind: 'Barrier', data };
  }

  async wait(timeout?: number): Promise<number> {
    const deadline = deadlineOf(optionalTimeout(timeout) ?? this.#timeoutMs);
    const { generation, index } = await this.#arrive();
    if (index === this.parties - 1) return index;
    const got = await poll(
      async () => outcome(await this.#item.get(), generation),
      this.#env.pollMs,
      deadline,
    );
    if (got === 'released') return index;
    if (got === 'broken') throw new BrokenBarrierError();
    // Timed out: break this generation, unless it was released (or broken) meanwhile.
    const x = new Expr();
    const out = await this.#item.update(
      x,
      { set: [`${x.n('broken')} = ${x.v('true', { BOOL: true })}`] },
      `${x.n('generation')} = ${x.v('g', N(generation))}`,
    );
    if (!out.ok && outcome(out.item, generation) === 'released') return index;
    throw new BrokenBarrierError(
      `The barrier broke: a wait timed out after ${timeout ?? this.#timeoutMs} ms`,
    );
  }

  /**
   * Counts this party in: one conditional write, or two when it turns out to be the last (the first,
   * refused, tells the count). Resolves its generation and arrival index.
   */
  async #arrive(): Promise<{ generation: number; index: number }> {
    const token = randomUUID().replaceAll('-', '');
    let state: State = { fresh: true, generation: 0, count: 0, broken: false };
    for (;;) {
      if (state.broken) throw new BrokenBarrierError();
      if (state.count > this.parties - 1)
        throw new ProtocolError(
          `Barrier ${this.#item.id}: ${state.count} parties waiting of ${this.parties}`,
        );
      const x = new Expr();
      const parties = `${x.n('parties')} = ${x.v('parties', N(this.parties))}`;
      if (state.count === this.parties - 1) {
        const g = state.generation;
        const out = await this.#item.update(
          x,
          {
            set: [
              parties,
              `${x.n('generation')} = ${x.v('next', N(g + 1))}`,
              `${x.n('count')} = ${x.v('zero', N(0))}`,
              `${x.n(endOf(g))} = ${x.v('g', N(g))}`,
              `${x.n('pgen')} = :g`,
              `${x.n('prev')} = if_not_exists(${x.n('arr')}, ${x.v('nil', NIL)})`,
              `${x.n('arr')} = :nil`,
              `${x.n('plast')} = ${x.v('token', { S: token })}`,
            ],
          },
          state.fresh
            ? `attribute_not_exists(${x.n('generation')})`
            : `${x.n('generation')} = :g AND ${x.n('count')} = ${x.v('count', N(state.count))} AND ${NOT_BROKEN(x)}`,
        );
        if (out.ok) return { generation: g, index: this.parties - 1 };
        const mine = arrivalOf(out.item, token, this.parties);
        if (mine) return mine; // a retry of the release that was applied
        state = decode(out.item);
        continue;
      }
      const count = `if_not_exists(${x.n('count')}, ${x.v('zero', N(0))}) + ${x.v('one', N(1))}`;
      const arr = x.n('arr');
      const me = x.v('token', { S: token });
      const out = await this.#item.update(
        x,
        {
          set: [
            parties,
            `${x.n('generation')} = if_not_exists(${x.n('generation')}, :zero)`,
            `${x.n('count')} = ${count}`,
            `${arr} = list_append(if_not_exists(${arr}, ${x.v('nil', NIL)}), ${x.v('me', { L: [{ S: token }] })})`,
          ],
        },
        `NOT contains(${arr}, ${me}) AND (attribute_not_exists(${x.n('count')}) OR ${x.n('count')} < ${x.v('last', N(this.parties - 1))}) AND ${NOT_BROKEN(x)}`,
        true,
      );
      if (out.ok) return { generation: num(out.item, 'generation'), index: num(out.item, 'count') - 1 };
      const mine = arrivalOf(out.item, token, this.parties);
      if (mine) return mine; // a retry of this arrival, whose first attempt was applied
      state = decode(out.item);
    }
  }

  async abort(): Promise<void> {
    const x = new Expr();
    const zero = x.v('zero', N(0));
    await this.#item.update(x, {
      set: [
        `${x.n('broken')} = ${x.v('true', { BOOL: true })}`,
        `${x.n('generation')} = if_not_exists(${x.n('generation')}, ${zero})`,
        `${x.n('count')} = if_not_exists(${x.n('count')}, ${zero})`,
      ],
    });
  }

  async reset(): Promise<void> {
    let state = decode(await this.#item.get());
    // An idle, unbroken barrier is already reset; skipping the write keeps the ring for its waiters.
    while (!state.fresh && (state.broken || state.count > 0)) {
      const g = state.generation;
      const x = new Expr();
      const out = await this.#item.update(
        x,
        {
          set: [
            `${x.n('generation')} = ${x.v('next', N(g + 1))}`,
            `${x.n('count')} = ${x.v('zero', N(0))}`,
            `${x.n('broken')} = ${x.v('false', { BOOL: false })}`,
            `${x.n(endOf(g))} = ${x.v('reset', N(-(g + 1)))}`,
            `${x.n('arr')} = ${x.v('nil', NIL)}`,
          ],
        },
        `${x.n('generation')} = ${x.v('g', N(g))}`,
      );
      if (out.ok) return;
      state = decode(out.item);
    }
  }

  async nWaiting(): Promise<number> {
    const state = decode(await this.#item.get());
    return state.broken ? 0 : state.count;
  }

  async broken(): Promise<boolean> {
    return decode(await this.#item.get()).broken;
  }
}

function checkParties(v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1)
    throw new InvalidArgumentError(`Expected parties to be an integer >= 1, got ${received(v)}`);
  return v;
}

/** The `Barrier` factory and reviver of the AWS context. */
export const barrier: PrimitiveModule<AwsSyncEnv> = {
  make: (env) => ({
    Barrier: (parties: number, opts?: BarrierOptions) => {
      const n = checkParties(parties);
      const o = options<BarrierOptions>(opts, 'options', ['timeoutMs']);
      return new AwsBarrier(env, n, optionalTimeout(o.timeoutMs, 'options.timeoutMs'));
    },
  }),
  revive: {
    Barrier: (handle, env) => {
      const data = handleData(handle, 'Barrier');
      const { parties } = data;
      if (typeof parties !== 'number' || !Number.isSafeInteger(parties) || parties < 1)
        throw new ProtocolError(
          `Barrier handle: data.parties must be an integer >= 1, got ${received(parties)}`,
        );
      const t = data.timeoutMs;
      if (t !== undefined && (typeof t !== 'number' || !Number.isFinite(t) || t < 0))
        throw new ProtocolError(`Barrier handle: data.timeoutMs must be a number >= 0, got ${received(t)}`);
      return new AwsBarrier(env, parties, t, data.id);
    },
  },
};
