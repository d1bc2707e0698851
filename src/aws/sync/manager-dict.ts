/**
 * The AWS `DictProxy`: one item per key (see manager-items.ts). Each single-key operation is one
 * DynamoDB request, atomic by itself: `set` a PutItem, `delete`/`pop` a DeleteItem returning the old
 * item, `setDefault` a PutItem conditioned on the key's absence, `increment` one UpdateItem ADD on a
 * number attribute. The whole-dict reads (`keys`, `values`, `entries`, `size`, `copy`) are one
 * strongly consistent Query (paginated), in insertion order (manager-entry.ts); `popitem` is that
 * Query and a DeleteItem of the last key. `update` (one write per key) and `clear` (batched) are
 * atomic per key only, not as a whole.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { checkDelta, checkEntries } from '../../api/manager-args.js';
import type { DictProxy } from '../../api/managers.js';
import { backoff } from '../../backoff.js';
import { InvalidArgumentError } from '../../errors.js';
import { noteShareable, SHARE, type SyncHandle } from '../../handles.js';
import { chunksOf } from '../batching.js';
import { getItem, isConditionFailure } from './items.js';
import {
  byInsertion,
  checkDictKey,
  client,
  entryValue,
  incrementEntry,
  stamp,
  valueAttrs,
  writeEntry,
} from './manager-entry.js';
import {
  batchWrite,
  blobOf,
  DICT_INLINE_BYTES,
  dropBlobs,
  type Item,
  loaded,
  type ManagerScope,
  objectPk,
  queryAll,
  rereadOnMissingBlob,
  type Serialised,
  serialised,
  stored,
  ttlAttribute,
} from './manager-items.js';
import { ManagerObject } from './manager-object.js';

/** A dict of an AWS manager. */
export class AwsDictProxy<V = unknown> implements DictProxy<V> {
  readonly kind = 'DictProxy';
  readonly #scope: ManagerScope;
  readonly #pk: AttributeValue;
  readonly #object: ManagerObject;

  /** @param initial the initial entries (in the creating party), or 'await' (revived, made with some) */
  constructor(scope: ManagerScope, id: string, initial?: readonly [string, Serialised][] | 'await') {
    noteShareable(this);
    this.#scope = scope;
    this.#pk = objectPk(scope, id);
    const marker = { pk: this.#pk, sk: { S: 'INIT' } };
    // The marker comes last: a reviver that sees it sees every initial entry.
    const write = async (entries: readonly [string, Serialised][]) => {
      await this.#putMany(entries);
      await batchWrite(scope, [{ PutRequest: { Item: { ...marker, ...ttlAttribute() } } }]);
    };
    this.#object = new ManagerObject(
      scope,
      this.kind,
      id,
      initial === 'await' ? { await: marker } : initial?.length ? () => write(initial) : undefined,
    );
  }

  /** @internal */
  [SHARE](): SyncHandle {
    return this.#object.handle();
  }

  #op<T>(check: () => void, f: () => Promise<T>): Promise<T> {
    return this.#object.op(check, f);
  }

  #key(key: string): Item {
    return { pk: this.#pk, sk: { S: `K#${key}` } };
  }

  get(key: string): Promise<V | undefined> {
    return this.#op(
      () => checkDictKey(key),
      () =>
        rereadOnMissingBlob(async () => {
          const item = await getItem(this.#scope.env, this.#key(key));
          const a = item && entryValue(item);
          return a ? ((await loaded(this.#scope, a)) as V) : undefined;
        }),
    );
  }

  set(key: string, value: V): Promise<void> {
    let s: Serialised;
    return this.#op(
      () => {
        checkDictKey(key);
        s = serialised(value, 'The value passed to DictProxy.set()', true);
      },
      async () => {
        const a = await stored(this.#scope, s, DICT_INLINE_BYTES);
        const old = await writeEntry(this.#scope, this.#key(key), a);
        await dropBlobs(this.#scope, [blobOf(old?.r)]);
      },
    );
  }

  /** One DeleteItem; resolves the old item (if there was one). */
  async #remove(key: string): Promise<Item | undefined> {
    const {
      m: { DeleteItemCommand },
      dynamo,
      table,
    } = await client(this.#scope);
    const out = await dynamo.send(
      new DeleteItemCommand({ TableName: table, Key: this.#key(key), ReturnValues: 'ALL_OLD' }),
    );
    return out.Attributes && Object.keys(out.Attributes).length > 0 ? out.Attributes : undefined;
  }

  delete(key: string): Promise<boolean> {
    return this.#op(
      () => checkDictKey(key),
      async () => {
        const old = await this.#remove(key);
        await dropBlobs(this.#scope, [blobOf(old?.r)]);
        return old !== undefined;
      },
    );
  }

  has(key: string): Promise<boolean> {
    return this.#op(
      () => checkDictKey(key),
      async () => (await getItem(this.#scope.env, this.#key(key), { path: 'sk' })) !== undefined,
    );
  }

  pop(key: string, fallback?: V): Promise<V | undefined> {
    return this.#op(
      () => checkDictKey(key),
      async () => {
        const old = await this.#remove(key);
        const a = old && entryValue(old);
        if (!a) return fallback;
        // The item is gone already: read its blob (if any) before deleting that too.
        const v = (await loaded(this.#scope, a)) as V;
        await dropBlobs(this.#scope, [blobOf(old.r)]);
        return v;
      },
    );
  }

  setDefault(key: string, value: V): Promise<V> {
    let s: Serialised;
    return this.#op(
      () => {
        checkDictKey(key);
        s = serialised(value, 'The value passed to DictProxy.setDefault()', true);
      },
      async () => {
        const a = await stored(this.#scope, s, DICT_INLINE_BYTES);
        const {
          m: { PutItemCommand },
          dynamo,
          table,
        } = await client(this.#scope);
        for (;;) {
          try {
            await dynamo.send(
              new PutItemCommand({
                TableName: table,
                Item: { ...this.#key(key), ...valueAttrs(a), ...ttlAttribute(), t: stamp() },
                ConditionExpression: 'attribute_not_exists(pk)',
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              }),
            );
            return value;
          } catch (e) {
            if (!isConditionFailure(e)) throw e;
            // Present: resolve what is stored. Fall back to a read where the emulator omits the item;
            // should the key have been deleted meanwhile, try the conditional put again.
            const found = e.Item ?? (await getItem(this.#scope.env, this.#key(key)));
            const old = found && entryValue(found);
            if (!old) continue;
            await dropBlobs(this.#scope, [blobOf(a)]);
            return (await loaded(this.#scope, old)) as V;
          }
        }
      },
    );
  }

  increment(key: string, delta = 1): Promise<number> {
    return this.#op(
      () => {
        checkDictKey(key);
        checkDelta(delta);
      },
      () => incrementEntry(this.#scope, this.#key(key), key, delta),
    );
  }

  update(entries: Readonly<Record<string, V>>): Promise<void> {
    let list: [string, Serialised][] = [];
    return this.#op(
      () => {
        list = Object.entries(checkEntries(entries)).map(([k, v]) => [
          checkDictKey(k),
          serialised(v, `The value of ${JSON.stringify(k)} passed to DictProxy.update()`, true),
        ]);
      },
      async () => {
        // One write per key, as set's, so that a key already there keeps its place (a batch put
        // could not): 25 at a time.
        for (const part of chunksOf(list, 25)) {
          const old = await Promise.all(
            part.map(async ([k, s]) =>
              writeEntry(this.#scope, this.#key(k), await stored(this.#scope, s, DICT_INLINE_BYTES)),
            ),
          );
          await dropBlobs(
            this.#scope,
            old.map((o) => blobOf(o?.r)),
          );
        }
      },
    );
  }

  /** Writes a new dict's entries by BatchWriteItem, stamped in their order (each put atomic; the batch is not). */
  async #putMany(list: readonly [string, Serialised][]): Promise<void> {
    const items = await Promise.all(
      list.map(async ([k, s]) => ({
        PutRequest: {
          Item: {
            ...this.#key(k),
            ...valueAttrs(await stored(this.#scope, s, DICT_INLINE_BYTES)),
            ...ttlAttribute(),
            t: stamp(),
          },
        },
      })),
    );
    await batchWrite(this.#scope, items);
  }

  /** The entries' items, in insertion order. */
  async #all(projection?: readonly string[]): Promise<Item[]> {
    const items = await queryAll(this.#scope, this.#pk, projection && [...projection, 't']);
    return byInsertion(items.filter((i) => i.sk?.S?.startsWith('K#')));
  }

  popitem(): Promise<[string, V]> {
    return this.#op(
      () => undefined,
      async () => {
        for (let attempt = 1; ; attempt++) {
          const last = (await this.#all(['sk'])).at(-1);
          if (!last) throw new InvalidArgumentError('popitem(): the dict is empty');
          const key = (last.sk?.S ?? '').slice(2);
          const old = await this.#remove(key);
          const a = old && entryValue(old);
          // Another party removed it between the read and the delete: read the order again.
          if (!a) {
            await backoff(attempt, this.#scope.env.pollMs);
            continue;
          }
          const v = (await loaded(this.#scope, a)) as V;
          await dropBlobs(this.#scope, [blobOf(old.r)]);
          return [key, v];
        }
      },
    );
  }

  #entries(): Promise<[string, V][]> {
    return this.#op(
      () => undefined,
      () =>
        rereadOnMissingBlob(async () => {
          const items = await this.#all();
          return Promise.all(
            items.map(
              async (i) =>
                [
                  (i.sk?.S ?? '').slice(2),
                  (await loaded(this.#scope, entryValue(i) ?? { NULL: true })) as V,
                ] as [string, V],
            ),
          );
        }),
    );
  }

  keys(): Promise<string[]> {
    return this.#op(
      () => undefined,
      async () => (await this.#all(['sk'])).map((i) => (i.sk?.S ?? '').slice(2)),
    );
  }
  async values(): Promise<V[]> {
    return (await this.#entries()).map(([, v]) => v);
  }
  entries(): Promise<[string, V][]> {
    return this.#entries();
  }
  size(): Promise<number> {
    return this.#op(
      () => undefined,
      async () => (await this.#all(['sk'])).length,
    );
  }
  async copy(): Promise<Record<string, V>> {
    return Object.fromEntries(await this.#entries());
  }

  clear(): Promise<void> {
    return this.#op(
      () => undefined,
      async () => {
        const items = await this.#all(['pk', 'sk', 'r']);
        await batchWrite(
          this.#scope,
          items.map((i) => ({
            DeleteRequest: { Key: { pk: i.pk as AttributeValue, sk: i.sk as AttributeValue } },
          })),
        );
        await dropBlobs(
          this.#scope,
          items.map((i) => blobOf(i.r)),
        );
      },
    );
  }

  /** @internal Deletes every item of this dict (the manager's `shutdown()`), whatever its state. */
  async destroy(): Promise<void> {
    await this.#object.settled();
    const items = await queryAll(this.#scope, this.#pk, ['pk', 'sk']);
    await batchWrite(
      this.#scope,
      items.map((i) => ({
        DeleteRequest: { Key: { pk: i.pk as AttributeValue, sk: i.sk as AttributeValue } },
      })),
    );
  }
}
