/**
 * The AWS `Array`: one item, its elements a DynamoDB list `a` of numbers, `ver` bumped by every
 * write, at most {@link MAX_ARRAY_LENGTH} elements. Requests, fenced writes and what the SDK's
 * retries do: docs/primitives.md, section 3.3.
 */

import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { SharedArray, TypeCode, ValueOf } from '../../api/sharedctypes.js';
import { backoff } from '../../backoff.js';
import { InvalidArgumentError } from '../../errors.js';
import { noteShareable, SHARE, type SyncHandle } from '../../handles.js';
import { received } from '../../validate.js';
import { Expr, N } from '../dynamo-items.js';
import { fencing, guardedUpdate, type UpdateSpec } from './fenced.js';
import { conditionalUpdate, getItem } from './items.js';
import { addStored } from './numbers.js';
import { AwsShared, type SharedLayout } from './shared-base.js';
import { recordParts, recordsOf } from './write-records.js';

/** The most elements an AWS `Array` may have (one 400 KB DynamoDB item). */
export const MAX_ARRAY_LENGTH = 16_384;

/** Most elements written by one `SET a[i] = …` expression (UpdateExpression is at most 4 KB). */
const ELEMENTWISE_MAX = 100;

type Item = Record<string, AttributeValue>;

/** A fixed-length shared array on DynamoDB (see {@link SharedArray}). */
export class AwsArray<C extends TypeCode = TypeCode> extends AwsShared<C> implements SharedArray<C> {
  readonly kind = 'Array' as const;
  readonly length: number;
  /** Initial elements as stored numbers; undefined = all zero. */
  readonly #initial: readonly string[] | undefined;
  /** Whether the item is known to exist (its initial values need not travel any more). */
  #exists = false;

  constructor(layout: SharedLayout & { length: number; initial: readonly string[] | undefined }) {
    super(layout);
    noteShareable(this);
    this.length = layout.length;
    this.#initial = layout.initial;
  }

  #init(i: number): string {
    return this.#initial?.[i] ?? '0';
  }

  /** Python's index rules: -length … length-1. */
  #index(i: unknown): number {
    if (typeof i !== 'number' || !Number.isInteger(i) || i < -this.length || i >= this.length)
      throw new InvalidArgumentError(
        `Expected index to be an integer from ${-this.length} to ${this.length - 1} (length ${this.length}), got ${received(i)}`,
      );
    return i < 0 ? i + this.length : i;
  }

  /** Python's slice bounds: negatives count from the end, out-of-range bounds are clamped. */
  #bound(v: unknown, name: string, dflt: number): number {
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isInteger(v))
      throw new InvalidArgumentError(`Expected ${name} to be an integer, got ${received(v)}`);
    const n = v < 0 ? v + this.length : v;
    return Math.min(Math.max(n, 0), this.length);
  }

  /** Makes the item with its initial values unless it exists (1 UpdateItem). */
  async #ensure(): Promise<void> {
    const x = new Expr();
    const list = { L: Array.from({ length: this.length }, (_, i) => ({ N: this.#init(i) })) };
    await conditionalUpdate(
      this.env,
      this.key,
      x,
      [`${x.n('a')} = if_not_exists(${x.n('a')}, ${x.v('init', list)})`],
      `ADD ${x.n('ver')} ${x.v('one', N(1))}`,
      undefined,
    );
    this.#exists = true;
  }

  /** An element-wise update that needs the list: makes the item once if it is missing. */
  async #elementwise(build: (x: Expr) => UpdateSpec): Promise<void> {
    for (;;) {
      const ok = await guardedUpdate(this.env, this.key, this.guard, (x) => {
        const spec = build(x);
        return { ...spec, condition: `attribute_exists(${x.n('a')})` };
      });
      if (ok) {
        this.#exists = true;
        return;
      }
      await this.#ensure();
    }
  }

  /**
   * Reads the list (`all`) or element `i` only. The element's path is written without a
   * placeholder (`a` is no reserved word): moto's projection parser does not resolve `#a[3]`.
   */
  async #read(what: number | 'all' | 'versioned'): Promise<Item | undefined> {
    if (what === 'all') return getItem(this.env, this.key, { path: '#a', names: { '#a': 'a' } });
    if (what === 'versioned')
      return getItem(this.env, this.key, { path: '#a, #ver', names: { '#a': 'a', '#ver': 'ver' } });
    return getItem(this.env, this.key, { path: `a[${what}]` });
  }

  /**
   * Element `i` of a list answered for the path `a[i]`: DynamoDB answers a one-element list; an
   * emulator may answer the whole list.
   */
  #element(item: Item | undefined, i: number): string | undefined {
    const list = item?.a?.L;
    return (list?.length === this.length ? list[i] : list?.[0])?.N;
  }

  /** {@inheritDoc SharedArray.get} */
  async get(index: number): Promise<ValueOf<C>> {
    const i = this.#index(index);
    const item = await this.#read(i);
    return this.codec.decode(this.#element(item, i) ?? this.#init(i)) as ValueOf<C>;
  }

  /** {@inheritDoc SharedArray.set} */
  async set(index: number, value: ValueOf<C>): Promise<void> {
    const i = this.#index(index);
    const v = this.codec.encode(value, 'value');
    await this.#elementwise((x) => ({
      sets: [`${x.n('a')}[${i}] = ${x.v('x', { N: v })}`],
      rest: `ADD ${x.n('ver')} ${x.v('one', N(1))}`,
    }));
  }

  /** {@inheritDoc SharedArray.add} */
  async add(index: number, delta: ValueOf<C>): Promise<ValueOf<C>> {
    const i = this.#index(index);
    const d = this.codec.encode(delta, 'delta');
    const records = recordsOf(this.env, this.id);
    if (!fencing(this.guard)) {
      for (;;) {
        // The record holds this add's sum: a retry of the write, refused, finds it (write-records.ts).
        const w = records.begin();
        const x = new Expr();
        const el = `${x.n('a')}[${i}]`;
        const r = recordParts(w, x);
        const sum = `${el} + ${x.v('d', { N: d })}`;
        const out = await conditionalUpdate(
          this.env,
          this.key,
          x,
          [`${el} = ${sum}`, `${r.name} = ${sum}`],
          `ADD ${x.n('ver')} ${x.v('one', N(1))} ${r.remove}`,
          `attribute_exists(${x.n('a')}) AND ${r.absent}`,
          // Never the whole item in the answer but when looking for stale records: it holds the list.
          w.wantsItem ? 'ALL_NEW' : 'UPDATED_NEW',
        );
        const n = out.ok ? this.#element(out.item, i) : out.item?.[w.name]?.N;
        records.end(w, n !== undefined, w.wantsItem || !out.ok ? out.item : undefined);
        if (n !== undefined) return this.codec.decode(n) as ValueOf<C>;
        // Refused without its record: the item has no list yet.
        await this.#ensure();
      }
    }
    // Fenced: compare-and-set, so the value returned is exactly this add's result.
    const w = records.begin();
    for (let attempt = 0; ; attempt++) {
      const item = await getItem(this.env, this.key, {
        path: `a[${i}], #r`,
        names: { '#r': w.name },
      });
      // A transaction applied but answered as failed (a retry refused where the request token is
      // not honoured, as on moto) left its record: it was this add.
      const done = item?.[w.name]?.N;
      if (done !== undefined) {
        records.end(w, true);
        return this.codec.decode(done) as ValueOf<C>;
      }
      const old = this.#element(item, i);
      if (old === undefined) {
        await this.#ensure();
        continue;
      }
      const next = addStored(this.typecode, old, d);
      const ok = await guardedUpdate(this.env, this.key, this.guard, (x) => {
        const r = recordParts(w, x);
        return {
          sets: [`${x.n('a')}[${i}] = ${x.v('x', { N: next })}`, `${r.name} = ${x.v('x', { N: next })}`],
          rest: `ADD ${x.n('ver')} ${x.v('one', N(1))} ${r.remove}`,
          condition: `${x.n('a')}[${i}] = ${x.v('old', { N: old })} AND ${r.absent}`,
        };
      });
      if (ok) {
        records.end(w, true);
        return this.codec.decode(next) as ValueOf<C>;
      }
      await backoff(attempt, this.env.pollMs);
    }
  }

  /** {@inheritDoc SharedArray.slice} */
  async slice(start?: number, end?: number): Promise<ValueOf<C>[]> {
    const s = this.#bound(start, 'start', 0);
    const e = this.#bound(end, 'end', this.length);
    const list = (await this.#read('all'))?.a?.L;
    const out: ValueOf<C>[] = [];
    for (let i = s; i < e; i++) out.push(this.codec.decode(list?.[i]?.N ?? this.#init(i)) as ValueOf<C>);
    return out;
  }

  /** {@inheritDoc SharedArray.setSlice} */
  async setSlice(start: number, values: readonly ValueOf<C>[]): Promise<void> {
    if (!Array.isArray(values))
      throw new InvalidArgumentError(`Expected values to be an array, got ${received(values)}`);
    const s = this.#bound(start, 'start', 0);
    if (s + values.length > this.length)
      throw new InvalidArgumentError(
        `Cannot write ${values.length} values from index ${s} into an Array of length ${this.length}`,
      );
    const texts = values.map((v, i) => this.codec.encode(v, `values[${i}]`)); // all checked before any write
    if (texts.length === 0) return;
    if (texts.length <= ELEMENTWISE_MAX) {
      await this.#elementwise((x) => ({
        sets: texts.map((t, k) => `${x.n('a')}[${s + k}] = ${x.v(`v${k}`, { N: t })}`),
        rest: `ADD ${x.n('ver')} ${x.v('one', N(1))}`,
      }));
      return;
    }
    for (let attempt = 0; ; attempt++) {
      const item = await this.#read('versioned');
      const list = Array.from({ length: this.length }, (_, i) => item?.a?.L?.[i]?.N ?? this.#init(i));
      list.splice(s, texts.length, ...texts);
      const ok = await guardedUpdate(this.env, this.key, this.guard, (x) => ({
        sets: [`${x.n('a')} = ${x.v('list', { L: list.map((t) => ({ N: t })) })}`],
        rest: `ADD ${x.n('ver')} ${x.v('one', N(1))}`,
        condition: item?.a
          ? `${x.n('ver')} = ${x.v('ver', { N: item.ver?.N ?? '0' })}`
          : `attribute_not_exists(${x.n('a')})`,
      }));
      if (ok) {
        this.#exists = true;
        return;
      }
      await backoff(attempt, this.env.pollMs);
    }
  }

  [SHARE](): SyncHandle {
    const initial = this.#exists || this.#initial === undefined ? {} : { initial: this.#initial };
    return this.handle({ length: this.length, ...initial });
  }
}
