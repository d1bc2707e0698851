/**
 * The local `DictProxy` and `ListProxy`: each operation checks its arguments in the calling
 * thread, then is one request to the manager's server (see manager-server.ts), which applies it
 * atomically. A proxy holds no state but the names of its object; any number of them, in any
 * thread, may name the same object.
 */

import {
  checkDelta,
  checkEntries,
  checkIndex,
  checkKey,
  checkSortOptions,
  checkValues,
  rejecting,
} from '../../api/manager-args.js';
import { revivedValue, storable } from '../../api/manager-values.js';
import type { DictProxy, ListProxy, SortOptions } from '../../api/managers.js';
import { InvalidArgumentError, ProtocolError } from '../../errors.js';
import { noteShareable, SHARE, type SyncHandle } from '../../handles.js';
import { received } from '../../validate.js';
import { arena } from './arena.js';
import { clientOf, type ManagerClient } from './manager-client.js';
import { CHANNEL_PATTERN, STATE_BYTES } from './manager-server.js';

/** What a local proxy's handle carries: the manager's channel and state word, and the object's id. */
export interface ProxyData {
  readonly channel: string;
  readonly state: number;
  readonly object: number;
}

/** Checks a proxy handle's data; throws naming the bad field. */
export function proxyData(handle: SyncHandle): ProxyData {
  if (typeof handle.data !== 'object' || handle.data === null) {
    throw new ProtocolError(`Malformed ${handle.kind} handle: data is ${received(handle.data)}`);
  }
  const { channel, state, object } = handle.data as Partial<Record<keyof ProxyData, unknown>>;
  if (typeof channel !== 'string' || !CHANNEL_PATTERN.test(channel)) {
    throw new ProtocolError(`Malformed ${handle.kind} handle: data.channel is ${received(channel)}`);
  }
  arena().check(state, STATE_BYTES, handle.kind);
  if (typeof object !== 'number' || !Number.isSafeInteger(object) || object < 0) {
    throw new InvalidArgumentError(`Malformed ${handle.kind} handle: data.object is ${received(object)}`);
  }
  return { channel, state: state as number, object };
}

/** A managed dict or list held in a value comes back as a proxy of the same object. */
function reviveProxy(handle: SyncHandle): unknown {
  return handle.kind === 'DictProxy'
    ? new LocalDictProxy(proxyData(handle))
    : new LocalListProxy(proxyData(handle));
}

/** A value as the server stores it: managed dicts and lists in it as their handles. */
export function stored(value: unknown, what: string): unknown {
  return storable(value, what, 'local');
}

/** A value as read back: the handles of managed dicts and lists in it revived. */
function read<T>(value: T): T {
  return revivedValue(value, 'local', reviveProxy);
}

abstract class LocalProxy {
  abstract readonly kind: 'DictProxy' | 'ListProxy';
  readonly #data: ProxyData;
  readonly #client: ManagerClient;

  constructor(data: ProxyData) {
    noteShareable(this);
    this.#data = data;
    this.#client = clientOf(data.channel, data.state);
  }

  /** One request; a bad argument (thrown while building `args`) rejects before anything is sent. */
  protected call<T>(op: string, args: () => unknown[] = () => []): Promise<T> {
    return rejecting(() => this.#client.call(this.kind, this.#data.object, op, args()) as Promise<T>);
  }

  /** @internal */
  [SHARE](): SyncHandle {
    return { $fanfold: 'handle', ctx: 'local', kind: this.kind, data: { ...this.#data } };
  }
}

/** A dict held by a local manager. */
export class LocalDictProxy<V = unknown> extends LocalProxy implements DictProxy<V> {
  readonly kind = 'DictProxy';

  get(key: string): Promise<V | undefined> {
    return this.call<V | undefined>('get', () => [checkKey(key)]).then(read);
  }
  set(key: string, value: V): Promise<void> {
    return this.call('set', () => [checkKey(key), stored(value, 'The value passed to DictProxy.set()')]);
  }
  delete(key: string): Promise<boolean> {
    return this.call('delete', () => [checkKey(key)]);
  }
  has(key: string): Promise<boolean> {
    return this.call('has', () => [checkKey(key)]);
  }
  pop(key: string, fallback?: V): Promise<V | undefined> {
    return this.call<V | undefined>('pop', () => [
      checkKey(key),
      stored(fallback, 'The fallback passed to DictProxy.pop()'),
    ]).then(read);
  }
  setDefault(key: string, value: V): Promise<V> {
    return this.call<V>('setDefault', () => [
      checkKey(key),
      stored(value, 'The value passed to DictProxy.setDefault()'),
    ]).then(read);
  }
  increment(key: string, delta = 1): Promise<number> {
    return this.call('increment', () => [checkKey(key), checkDelta(delta)]);
  }
  popitem(): Promise<[string, V]> {
    return this.call<[string, V]>('popitem').then(([k, v]) => [k, read(v)]);
  }
  update(entries: Readonly<Record<string, V>>): Promise<void> {
    return this.call('update', () => [
      Object.fromEntries(
        Object.entries(checkEntries(entries)).map(([k, v]) => [
          k,
          stored(v, `The value of ${JSON.stringify(k)} passed to DictProxy.update()`),
        ]),
      ),
    ]);
  }
  keys(): Promise<string[]> {
    return this.call('keys');
  }
  values(): Promise<V[]> {
    return this.call<V[]>('values').then((vs) => vs.map(read));
  }
  entries(): Promise<[string, V][]> {
    return this.call<[string, V][]>('entries').then((es) => es.map(([k, v]) => [k, read(v)]));
  }
  size(): Promise<number> {
    return this.call('size');
  }
  clear(): Promise<void> {
    return this.call('clear');
  }
  copy(): Promise<Record<string, V>> {
    return this.call<Record<string, V>>('copy').then((o) => {
      for (const k of Object.keys(o)) o[k] = read(o[k] as V);
      return o;
    });
  }
}

/** A list held by a local manager. */
export class LocalListProxy<V = unknown> extends LocalProxy implements ListProxy<V> {
  readonly kind = 'ListProxy';

  get(index: number): Promise<V> {
    return this.call<V>('get', () => [checkIndex(index)]).then(read);
  }
  set(index: number, value: V): Promise<void> {
    return this.call('set', () => [checkIndex(index), stored(value, 'The value passed to ListProxy.set()')]);
  }
  append(value: V): Promise<void> {
    return this.call('append', () => [stored(value, 'The value passed to ListProxy.append()')]);
  }
  extend(values: readonly V[]): Promise<void> {
    return this.call('extend', () => [
      checkValues(values).map((v, i) => stored(v, `Element ${i} passed to ListProxy.extend()`)),
    ]);
  }
  insert(index: number, value: V): Promise<void> {
    return this.call('insert', () => [
      checkIndex(index),
      stored(value, 'The value passed to ListProxy.insert()'),
    ]);
  }
  pop(index?: number): Promise<V> {
    return this.call<V>('pop', () => [index === undefined ? -1 : checkIndex(index)]).then(read);
  }
  length(): Promise<number> {
    return this.call('length');
  }
  slice(start?: number, end?: number): Promise<V[]> {
    return this.call<V[]>('slice', () => [
      start === undefined ? undefined : checkIndex(start, 'start'),
      end === undefined ? undefined : checkIndex(end, 'end'),
    ]).then((vs) => vs.map(read));
  }
  clear(): Promise<void> {
    return this.call('clear');
  }
  count(value: V): Promise<number> {
    return this.call('count', () => [stored(value, 'The value passed to ListProxy.count()')]);
  }
  index(value: V, start?: number, end?: number): Promise<number> {
    return this.call('index', () => [
      stored(value, 'The value passed to ListProxy.index()'),
      start === undefined ? undefined : checkIndex(start, 'start'),
      end === undefined ? undefined : checkIndex(end, 'end'),
    ]);
  }
  remove(value: V): Promise<void> {
    return this.call('remove', () => [stored(value, 'The value passed to ListProxy.remove()')]);
  }
  reverse(): Promise<void> {
    return this.call('reverse');
  }
  sort(options?: SortOptions): Promise<void> {
    return this.call('sort', () => [checkSortOptions(options).reverse]);
  }
  /** Iterates over a copy of the elements taken by one read. */
  async *[Symbol.asyncIterator](): AsyncGenerator<V, void, undefined> {
    yield* await this.slice();
  }
}
