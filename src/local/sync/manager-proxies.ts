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
  checkValues,
  rejecting,
} from '../../api/manager-args.js';
import type { DictProxy, ListProxy } from '../../api/managers.js';
import { noteShareable, SHARE, type SyncHandle } from '../../handles.js';
import { clientOf, type ManagerClient } from './manager-client.js';

/** What a local proxy's handle carries: the manager's channel and state word, and the object's id. */
export interface ProxyData {
  readonly channel: string;
  readonly state: number;
  readonly object: number;
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
    return this.call('get', () => [checkKey(key)]);
  }
  set(key: string, value: V): Promise<void> {
    return this.call('set', () => [checkKey(key), value]);
  }
  delete(key: string): Promise<boolean> {
    return this.call('delete', () => [checkKey(key)]);
  }
  has(key: string): Promise<boolean> {
    return this.call('has', () => [checkKey(key)]);
  }
  pop(key: string, fallback?: V): Promise<V | undefined> {
    return this.call('pop', () => [checkKey(key), fallback]);
  }
  setDefault(key: string, value: V): Promise<V> {
    return this.call('setDefault', () => [checkKey(key), value]);
  }
  increment(key: string, delta = 1): Promise<number> {
    return this.call('increment', () => [checkKey(key), checkDelta(delta)]);
  }
  update(entries: Readonly<Record<string, V>>): Promise<void> {
    return this.call('update', () => [checkEntries(entries)]);
  }
  keys(): Promise<string[]> {
    return this.call('keys');
  }
  values(): Promise<V[]> {
    return this.call('values');
  }
  entries(): Promise<[string, V][]> {
    return this.call('entries');
  }
  size(): Promise<number> {
    return this.call('size');
  }
  clear(): Promise<void> {
    return this.call('clear');
  }
  copy(): Promise<Record<string, V>> {
    return this.call('copy');
  }
}

/** A list held by a local manager. */
export class LocalListProxy<V = unknown> extends LocalProxy implements ListProxy<V> {
  readonly kind = 'ListProxy';

  get(index: number): Promise<V> {
    return this.call('get', () => [checkIndex(index)]);
  }
  set(index: number, value: V): Promise<void> {
    return this.call('set', () => [checkIndex(index), value]);
  }
  append(value: V): Promise<void> {
    return this.call('append', () => [value]);
  }
  extend(values: readonly V[]): Promise<void> {
    return this.call('extend', () => [checkValues(values)]);
  }
  insert(index: number, value: V): Promise<void> {
    return this.call('insert', () => [checkIndex(index), value]);
  }
  pop(index?: number): Promise<V> {
    return this.call('pop', () => [index === undefined ? -1 : checkIndex(index)]);
  }
  length(): Promise<number> {
    return this.call('length');
  }
  slice(start?: number, end?: number): Promise<V[]> {
    return this.call('slice', () => [
      start === undefined ? undefined : checkIndex(start, 'start'),
      end === undefined ? undefined : checkIndex(end, 'end'),
    ]);
  }
  clear(): Promise<void> {
    return this.call('clear');
  }
}
