/**
 * The AWS `Value` (and the `sharedValues` module with `Array` from `shared-array.ts`): one item per
 * value, the number in attribute `v` (see `numbers.ts`). Requests, fenced writes, and how `add`
 * counts once under the SDK's retries (`write-records.ts`): docs/primitives.md, section 3.3.
 */

import { randomUUID } from 'node:crypto';
import type { PrimitiveModule, Primitives } from '../../api/context.js';
import type { TypeCode, Value, ValueOf } from '../../api/sharedctypes.js';
import { backoff } from '../../backoff.js';
import { InvalidArgumentError, ProtocolError } from '../../errors.js';
import { noteShareable, SHARE, type SyncHandle } from '../../handles.js';
import { received } from '../../validate.js';
import { Expr } from '../dynamo-items.js';
import type { AwsSyncEnv } from './env.js';
import { fencing, guardedUpdate } from './fenced.js';
import { conditionalUpdate, getItem, handleData } from './items.js';
import { addStored, codecOf } from './numbers.js';
import { AwsArray, MAX_ARRAY_LENGTH } from './shared-array.js';
import {
  AwsShared,
  lockOption,
  numberText,
  reviveLock,
  type SharedLayout,
  typecodeArg,
} from './shared-base.js';
import { recordParts, recordsOf } from './write-records.js';

/** A single shared number on DynamoDB (see {@link Value}). */
export class AwsValue<C extends TypeCode = TypeCode> extends AwsShared<C> implements Value<C> {
  readonly kind = 'Value' as const;
  /** The initial value as a stored number (the item is made by the first write). */
  readonly #initial: string;

  constructor(layout: SharedLayout & { initial: string }) {
    super(layout);
    noteShareable(this);
    this.#initial = layout.initial;
  }

  /** {@inheritDoc Value.get} */
  async get(): Promise<ValueOf<C>> {
    const item = await getItem(this.env, this.key, { path: '#v', names: { '#v': 'v' } });
    return this.codec.decode(item?.v?.N ?? this.#initial) as ValueOf<C>;
  }

  /** {@inheritDoc Value.set} */
  async set(value: ValueOf<C>): Promise<void> {
    const v = this.codec.encode(value, 'value');
    await guardedUpdate(this.env, this.key, this.guard, (x) => ({
      sets: [`${x.n('v')} = ${x.v('x', { N: v })}`],
      rest: '',
    }));
  }

  /** {@inheritDoc Value.add} */
  async add(delta: ValueOf<C>): Promise<ValueOf<C>> {
    const d = this.codec.encode(delta, 'delta');
    const records = recordsOf(this.env, this.id);
    // The record holds this add's sum: a retry of the write, refused, finds it (write-records.ts).
    const w = records.begin();
    if (!fencing(this.guard)) {
      const x = new Expr();
      const v = x.n('v');
      const r = recordParts(w, x);
      const sum = `if_not_exists(${v}, ${x.v('init', { N: this.#initial })}) + ${x.v('d', { N: d })}`;
      const out = await conditionalUpdate(
        this.env,
        this.key,
        x,
        [`${v} = ${sum}`, `${r.name} = ${sum}`],
        r.remove,
        r.absent,
        w.wantsItem ? 'ALL_NEW' : 'UPDATED_NEW',
      );
      // Refused: the only condition is the record's absence, so an earlier attempt was applied.
      const n = out.item?.[out.ok ? 'v' : w.name]?.N;
      if (n === undefined) throw new ProtocolError(`Value ${this.id}: the add's answer has no value`);
      records.end(w, true, w.wantsItem || !out.ok ? out.item : undefined);
      return this.codec.decode(n) as ValueOf<C>;
    }
    // Fenced: compare-and-set, so the value returned is exactly this add's result.
    for (let attempt = 0; ; attempt++) {
      const item = await getItem(this.env, this.key, {
        path: '#v, #r',
        names: { '#v': 'v', '#r': w.name },
      });
      // A transaction applied but answered as failed (a retry refused where the request token is
      // not honoured, as on moto) left its record: it was this add.
      const done = item?.[w.name]?.N;
      if (done !== undefined) {
        records.end(w, true);
        return this.codec.decode(done) as ValueOf<C>;
      }
      const old = item?.v?.N;
      const next = addStored(this.typecode, old ?? this.#initial, d);
      const ok = await guardedUpdate(this.env, this.key, this.guard, (x) => {
        const r = recordParts(w, x);
        return {
          sets: [`${x.n('v')} = ${x.v('x', { N: next })}`, `${r.name} = ${x.v('x', { N: next })}`],
          rest: r.remove,
          condition: `${r.absent} AND ${
            old === undefined
              ? `attribute_not_exists(${x.n('v')})`
              : `${x.n('v')} = ${x.v('old', { N: old })}`
          }`,
        };
      });
      if (ok) {
        records.end(w, true);
        return this.codec.decode(next) as ValueOf<C>;
      }
      await backoff(attempt, this.env.pollMs);
    }
  }

  [SHARE](): SyncHandle {
    return this.handle({ initial: this.#initial });
  }
}

function makeValue(env: AwsSyncEnv, typecode: unknown, initial?: unknown, opts?: unknown): AwsValue {
  const tc = typecodeArg(typecode);
  const codec = codecOf(tc);
  const text = codec.encode(initial === undefined ? codec.zero : initial, 'initial');
  const lock = lockOption(opts, env);
  return new AwsValue({ env, id: randomUUID(), typecode: tc, lock: lock(), initial: text });
}

function makeArray(env: AwsSyncEnv, typecode: unknown, sizeOrValues: unknown, opts?: unknown): AwsArray {
  const tc = typecodeArg(typecode);
  const codec = codecOf(tc);
  let initial: string[] | undefined;
  let length: number;
  if (Array.isArray(sizeOrValues)) {
    initial = sizeOrValues.map((v, i) => codec.encode(v, `values[${i}]`));
    length = initial.length;
    if (initial.every((t) => t === '0')) initial = undefined;
  } else if (typeof sizeOrValues === 'number' && Number.isInteger(sizeOrValues) && sizeOrValues >= 0) {
    length = sizeOrValues;
  } else {
    throw new InvalidArgumentError(
      `Expected sizeOrValues to be an integer >= 0 or an array, got ${received(sizeOrValues)}`,
    );
  }
  if (length > MAX_ARRAY_LENGTH)
    throw new InvalidArgumentError(
      `An AWS Array holds at most ${MAX_ARRAY_LENGTH} elements (one 400 KB DynamoDB item), got ${length}`,
    );
  const lock = lockOption(opts, env);
  return new AwsArray({ env, id: randomUUID(), typecode: tc, lock: lock(), length, initial });
}

function layoutOf(handle: SyncHandle, kind: 'Value' | 'Array', env: AwsSyncEnv) {
  const data = handleData(handle, kind);
  if (!(typeof data.typecode === 'string' && /^[bBhHiIlLqQfd]$/.test(data.typecode)))
    throw new ProtocolError(
      `${kind} handle: data.typecode is not a type code, got ${received(data.typecode)}`,
    );
  return {
    data,
    layout: { env, id: data.id, typecode: data.typecode as TypeCode, lock: reviveLock(data.lock, kind, env) },
  };
}

function reviveArray(handle: SyncHandle, env: AwsSyncEnv): AwsArray {
  const { data, layout } = layoutOf(handle, 'Array', env);
  const length = data.length;
  if (typeof length !== 'number' || !Number.isInteger(length) || length < 0 || length > MAX_ARRAY_LENGTH)
    throw new ProtocolError(
      `Array handle: data.length must be an integer from 0 to ${MAX_ARRAY_LENGTH}, got ${received(length)}`,
    );
  let initial: string[] | undefined;
  if (data.initial !== undefined) {
    if (!Array.isArray(data.initial) || data.initial.length !== length)
      throw new ProtocolError(`Array handle: data.initial must be an array of ${length} numbers as text`);
    initial = data.initial.map((t, i) => numberText(t, `Array handle: data.initial[${i}]`));
  }
  return new AwsArray({ ...layout, length, initial });
}

/** The AWS context's `Value` and `Array`. */
export const sharedValues: PrimitiveModule<AwsSyncEnv> = {
  make: (env) => ({
    Value: ((typecode: unknown, initial?: unknown, opts?: unknown) =>
      makeValue(env, typecode, initial, opts)) as Primitives['Value'],
    Array: ((typecode: unknown, sizeOrValues: unknown, opts?: unknown) =>
      makeArray(env, typecode, sizeOrValues, opts)) as Primitives['Array'],
  }),
  revive: {
    Value: (handle, env) => {
      const { data, layout } = layoutOf(handle, 'Value', env);
      return new AwsValue({ ...layout, initial: numberText(data.initial, 'Value handle: data.initial') });
    },
    Array: reviveArray,
  },
};
