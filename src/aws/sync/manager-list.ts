/**
 * The AWS `ListProxy`: one item holding the elements in a list attribute `l` and a version `ver`
 * (see manager-items.ts). `append`/`extend` are one UpdateItem `list_append` (atomic, no read);
 * `set`, `insert`, `pop`, `remove`, `reverse` and `sort` read the item and write the new list
 * conditioned on the version read, trying again (with jittered backoff) when another write came
 * between; reads (`count` and `index` too) are strongly consistent GetItems. `count`, `index`,
 * `remove` and `sort` read the elements' values, those in the bucket included. The item exists from the first write; a missing item is an empty list.
 * Elements over {@link LIST_INLINE_BYTES} serialised go to the bucket; the inline ones share the
 * item's 400 KB (a write past it throws `PayloadTooLargeError`).
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { checkIndex, checkSortOptions, checkValues, position, sliceBounds } from '../../api/manager-args.js';
import { sameValue, sortedOrder } from '../../api/manager-values.js';
import type { ListProxy, SortOptions } from '../../api/managers.js';
import { backoff } from '../../backoff.js';
import { InvalidArgumentError, PayloadTooLargeError } from '../../errors.js';
import { noteShareable, SHARE, type SyncHandle } from '../../handles.js';
import { sdk } from './env.js';
import { getItem, isConditionFailure } from './items.js';
import {
  asStored,
  blobOf,
  dropBlobs,
  ITEM_LIMIT_BYTES,
  type Item,
  isOversized,
  LIST_INLINE_BYTES,
  loaded,
  loadedRaw,
  type ManagerScope,
  objectPk,
  rereadOnMissingBlob,
  type Serialised,
  serialised,
  stored,
  ttlAttribute,
} from './manager-items.js';
import { ManagerObject } from './manager-object.js';

/** The list's state as one read saw it. */
interface Snapshot {
  readonly items: AttributeValue[];
  /** The version read (undefined: no item yet). */
  readonly ver: string | undefined;
}

function bytesOf(items: readonly AttributeValue[]): number {
  return items.reduce((n, a) => n + (a.B?.byteLength ?? a.S?.length ?? 0), 0);
}

/** A list of an AWS manager. */
export class AwsListProxy<V = unknown> implements ListProxy<V> {
  readonly kind = 'ListProxy';
  readonly #scope: ManagerScope;
  readonly #key: Item;
  readonly #object: ManagerObject;

  /** @param initial the initial elements (in the creating party), or 'await' (revived, made with some) */
  constructor(scope: ManagerScope, id: string, initial?: readonly Serialised[] | 'await') {
    noteShareable(this);
    this.#scope = scope;
    this.#key = { pk: objectPk(scope, id), sk: { S: 'L' } };
    // The initial elements go before any a quicker party appended meanwhile; the list's own item
    // is the marker a reviver waits for.
    this.#object = new ManagerObject(
      scope,
      this.kind,
      id,
      initial === 'await'
        ? { await: this.#key }
        : initial?.length
          ? () => this.#append(initial, true)
          : undefined,
    );
  }

  /** @internal */
  [SHARE](): SyncHandle {
    return this.#object.handle();
  }

  #op<T>(check: () => void, f: () => Promise<T>): Promise<T> {
    return this.#object.op(check, f);
  }

  async #read(): Promise<Snapshot> {
    const item = await getItem(this.#scope.env, this.#key);
    return { items: item?.l?.L ?? [], ver: item?.ver?.N };
  }

  /** One UpdateItem; `update` gets the placeholders `#l`, `#ver`, `#ttl`, `:ttl`, `:one` and adds its own values. */
  async #update(
    update: string,
    values: Item,
    condition?: string,
    returnOld = false,
    bytes: number | (() => Promise<number>) = 0,
  ): Promise<Item | undefined> {
    const { UpdateItemCommand } = await sdk.dynamo();
    const { dynamo } = await this.#scope.env.clients();
    const [ttlName, ttlValue] = Object.entries(ttlAttribute())[0] as [string, AttributeValue];
    try {
      const out = await dynamo.send(
        new UpdateItemCommand({
          TableName: this.#scope.env.table,
          Key: this.#key,
          UpdateExpression: `SET ${update}, #ttl = :ttl ADD #ver :one`,
          ...(condition ? { ConditionExpression: condition } : {}),
          ExpressionAttributeNames: { '#l': 'l', '#ver': 'ver', '#ttl': ttlName },
          ExpressionAttributeValues: { ...values, ':ttl': ttlValue, ':one': { N: '1' } },
          ReturnValues: returnOld ? 'ALL_OLD' : 'NONE',
        }),
      );
      return out.Attributes;
    } catch (e) {
      if (isConditionFailure(e) || !isOversized(e)) throw e;
      const size = typeof bytes === 'number' ? bytes : await bytes();
      throw new PayloadTooLargeError('The list item', size, ITEM_LIMIT_BYTES);
    }
  }

  async #append(values: readonly Serialised[], atFront = false): Promise<void> {
    const elements = await Promise.all(values.map((s) => stored(this.#scope, s, LIST_INLINE_BYTES)));
    const expr = atFront
      ? 'list_append(:vs, if_not_exists(#l, :empty))'
      : 'list_append(if_not_exists(#l, :empty), :vs)';
    // Only a refused append pays a read: to tell the size the list would have had.
    const size = async () => bytesOf((await this.#read()).items) + bytesOf(elements);
    await this.#update(
      `#l = ${expr}`,
      { ':vs': { L: elements }, ':empty': { L: [] } },
      undefined,
      false,
      size,
    ).catch(async (e) => {
      await dropBlobs(this.#scope, elements.map(blobOf));
      throw e;
    });
  }

  /**
   * Read, change, write conditioned on the version read; again on a conflict. `change` returns the
   * new elements and its result; it may throw (an index out of range) and is run on every attempt.
   */
  async #modify<T>(
    change: (
      items: AttributeValue[],
    ) => { items: AttributeValue[]; result: T } | Promise<{ items: AttributeValue[]; result: T }>,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const snap = await this.#read();
      const { items, result } = await change([...snap.items]);
      try {
        await this.#update(
          '#l = :l',
          { ':l': { L: items }, ...(snap.ver === undefined ? {} : { ':ver': { N: snap.ver } }) },
          snap.ver === undefined ? 'attribute_not_exists(#ver)' : '#ver = :ver',
          false,
          bytesOf(items),
        );
        return result;
      } catch (e) {
        if (!isConditionFailure(e)) throw e;
        await backoff(attempt, this.#scope.env.pollMs);
      }
    }
  }

  get(index: number): Promise<V> {
    return this.#op(
      () => checkIndex(index),
      () =>
        rereadOnMissingBlob(async () => {
          const { items } = await this.#read();
          const a = items[position(index, items.length, 'get()')] as AttributeValue;
          return (await loaded(this.#scope, a)) as V;
        }),
    );
  }

  set(index: number, value: V): Promise<void> {
    let s: Serialised;
    return this.#op(
      () => {
        checkIndex(index);
        s = serialised(value, 'The value passed to ListProxy.set()', false);
      },
      async () => {
        const a = await stored(this.#scope, s, LIST_INLINE_BYTES);
        const old = await this.#modify((items) => {
          const at = position(index, items.length, 'set()');
          const was = items[at];
          items[at] = a;
          return { items, result: was };
        }).catch(async (e) => {
          await dropBlobs(this.#scope, [blobOf(a)]);
          throw e;
        });
        await dropBlobs(this.#scope, [blobOf(old)]);
      },
    );
  }

  append(value: V): Promise<void> {
    let s: Serialised;
    return this.#op(
      () => {
        s = serialised(value, 'The value passed to ListProxy.append()', false);
      },
      () => this.#append([s]),
    );
  }

  extend(values: readonly V[]): Promise<void> {
    let list: Serialised[] = [];
    return this.#op(
      () => {
        list = checkValues(values).map((v, i) =>
          serialised(v, `Element ${i} passed to ListProxy.extend()`, false),
        );
      },
      () => (list.length > 0 ? this.#append(list) : Promise.resolve()),
    );
  }

  insert(index: number, value: V): Promise<void> {
    let s: Serialised;
    return this.#op(
      () => {
        checkIndex(index);
        s = serialised(value, 'The value passed to ListProxy.insert()', false);
      },
      async () => {
        const a = await stored(this.#scope, s, LIST_INLINE_BYTES);
        await this.#modify((items) => {
          // CPython's insert clamps an index past either end to that end.
          const n = items.length;
          items.splice(index < 0 ? Math.max(0, n + index) : Math.min(n, index), 0, a);
          return { items, result: undefined };
        });
      },
    );
  }

  pop(index?: number): Promise<V> {
    return this.#op(
      () => {
        if (index !== undefined) checkIndex(index);
      },
      async () => {
        const old = await this.#modify((items) => {
          if (items.length === 0) throw new InvalidArgumentError('pop() from an empty list');
          const [was] = items.splice(position(index ?? -1, items.length, 'pop()'), 1);
          return { items, result: was as AttributeValue };
        });
        const v = (await loaded(this.#scope, old)) as V;
        await dropBlobs(this.#scope, [blobOf(old)]);
        return v;
      },
    );
  }

  length(): Promise<number> {
    return this.#op(
      () => undefined,
      async () => (await this.#read()).items.length,
    );
  }

  slice(start?: number, end?: number): Promise<V[]> {
    return this.#op(
      () => {
        if (start !== undefined) checkIndex(start, 'start');
        if (end !== undefined) checkIndex(end, 'end');
      },
      () =>
        rereadOnMissingBlob(async () => {
          const { items } = await this.#read();
          return Promise.all(items.slice(start, end).map((a) => loaded(this.#scope, a) as Promise<V>));
        }),
    );
  }

  clear(): Promise<void> {
    return this.#op(
      () => undefined,
      async () => {
        const old = await this.#update('#l = :empty', { ':empty': { L: [] } }, undefined, true);
        await dropBlobs(this.#scope, (old?.l?.L ?? []).map(blobOf));
      },
    );
  }

  /** The position of the first element of `items[start:end]` equal to `value` (as stored), or -1. */
  async #find(
    items: readonly AttributeValue[],
    value: unknown,
    start = 0,
    end = items.length,
  ): Promise<number> {
    for (let i = start; i < end; i++) {
      if (sameValue(await loadedRaw(this.#scope, items[i] as AttributeValue), value)) return i;
    }
    return -1;
  }

  count(value: V): Promise<number> {
    let v: unknown;
    return this.#op(
      () => {
        v = asStored(value, 'The value passed to ListProxy.count()');
      },
      () =>
        rereadOnMissingBlob(async () => {
          const { items } = await this.#read();
          const all = await Promise.all(items.map((a) => loadedRaw(this.#scope, a)));
          return all.filter((x) => sameValue(x, v)).length;
        }),
    );
  }

  index(value: V, start?: number, end?: number): Promise<number> {
    let v: unknown;
    return this.#op(
      () => {
        v = asStored(value, 'The value passed to ListProxy.index()');
        if (start !== undefined) checkIndex(start, 'start');
        if (end !== undefined) checkIndex(end, 'end');
      },
      () =>
        rereadOnMissingBlob(async () => {
          const { items } = await this.#read();
          const at = await this.#find(items, v, ...sliceBounds(start, end, items.length));
          if (at < 0) throw new InvalidArgumentError('index(): the value is not in the list');
          return at;
        }),
    );
  }

  remove(value: V): Promise<void> {
    let v: unknown;
    return this.#op(
      () => {
        v = asStored(value, 'The value passed to ListProxy.remove()');
      },
      async () => {
        const removed = await rereadOnMissingBlob(() =>
          this.#modify(async (items) => {
            const at = await this.#find(items, v);
            if (at < 0) throw new InvalidArgumentError('remove(): the value is not in the list');
            const [was] = items.splice(at, 1);
            return { items, result: was };
          }),
        );
        await dropBlobs(this.#scope, [blobOf(removed)]);
      },
    );
  }

  reverse(): Promise<void> {
    return this.#op(
      () => undefined,
      () => this.#modify((items) => ({ items: items.reverse(), result: undefined })),
    );
  }

  sort(options?: SortOptions): Promise<void> {
    let reverse = false;
    return this.#op(
      () => {
        reverse = checkSortOptions(options).reverse;
      },
      () =>
        rereadOnMissingBlob(() =>
          this.#modify(async (items) => {
            // Sorted as a permutation of the stored elements: none is written again, and a value
            // that does not compare throws before anything is written.
            const values = await Promise.all(items.map((a) => loadedRaw(this.#scope, a)));
            return {
              items: sortedOrder(values, reverse).map((i) => items[i] as AttributeValue),
              result: undefined,
            };
          }),
        ),
    );
  }

  /** Iterates over a copy of the elements taken by one read. */
  async *[Symbol.asyncIterator](): AsyncGenerator<V, void, undefined> {
    yield* await this.slice();
  }

  /** @internal Deletes this list's item (the manager's `shutdown()`). */
  async destroy(): Promise<void> {
    await this.#object.settled();
    const { DeleteItemCommand } = await sdk.dynamo();
    const { dynamo } = await this.#scope.env.clients();
    await dynamo.send(new DeleteItemCommand({ TableName: this.#scope.env.table, Key: this.#key }));
  }
}
