/**
 * `Manager()` on the local context: a server in the calling thread (manager-server.ts) holding the
 * managed dicts and lists, and proxies in any thread of the process that reach it over a
 * `BroadcastChannel` (manager-client.ts). Each single proxy operation is one request that the
 * server applies alone, hence atomic; values are copied with the structured-clone algorithm both
 * ways.
 *
 * Why a channel rather than the arena: the values are arbitrary structured-clone data of any size,
 * which the arena (fixed regions, never freed) cannot hold without a heap and a serialiser of its
 * own; the channel gives CPython's design (a server, proxies that call it) and atomicity for free.
 * The arena holds one word per manager, its open/closed state, so a shut-down manager is seen at
 * once in every thread.
 *
 * @example
 * ```ts
 * const m = ctx.Manager();
 * const counts = m.dict<number>();
 * await pool.map('count', words.map((w) => [counts, w]));
 * console.log(await counts.copy());
 * await m.shutdown();
 * ```
 */
import type { PrimitiveModule } from '../../api/context.js';
import { checkEntries, checkValues } from '../../api/manager-args.js';
import type { DictProxy, ListProxy, Manager } from '../../api/managers.js';
import { NotSerializableError } from '../../errors.js';
import { LocalDictProxy, LocalListProxy, type ProxyData, proxyData, stored } from './manager-proxies.js';
import { ManagerServer } from './manager-server.js';

function copied<T>(v: T, what: string): T {
  try {
    return structuredClone(v);
  } catch (e) {
    throw new NotSerializableError(what, undefined, e);
  }
}

/** A manager whose server runs in this thread. */
export class LocalManager implements Manager {
  readonly #server = new ManagerServer();

  #data(object: number): ProxyData {
    return { channel: this.#server.channelName, state: this.#server.stateAt, object };
  }

  dict<V = unknown>(initial?: Readonly<Record<string, V>>): DictProxy<V> {
    const entries =
      initial === undefined
        ? {}
        : copied(
            Object.fromEntries(
              Object.entries(checkEntries(initial)).map(([k, v]) => [
                k,
                stored(v, `The initial value of ${JSON.stringify(k)}`),
              ]),
            ),
            'The initial entries of dict()',
          );
    const id = this.#server.add({ kind: 'DictProxy', map: new Map(Object.entries(entries)) });
    return new LocalDictProxy<V>(this.#data(id));
  }

  list<V = unknown>(initial?: readonly V[]): ListProxy<V> {
    const items =
      initial === undefined
        ? []
        : copied(
            checkValues(initial).map((v, i) => stored(v, `Initial element ${i}`)),
            'The initial items of list()',
          );
    const id = this.#server.add({ kind: 'ListProxy', items });
    return new LocalListProxy<V>(this.#data(id));
  }

  /** Stops the server: every later operation of its proxies, in any thread, throws `ClosedError`. */
  async shutdown(): Promise<void> {
    this.#server.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }
}

/** The local `Manager` factory and the revivers of its proxies. */
export const manager: PrimitiveModule<void> = {
  make: () => ({ Manager: () => new LocalManager() }),
  revive: {
    DictProxy: (handle) => new LocalDictProxy(proxyData(handle)),
    ListProxy: (handle) => new LocalListProxy(proxyData(handle)),
  },
};
