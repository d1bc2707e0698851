/**
 * `Manager()` on the AWS context: the managed dicts and lists live in the jobs table (and, for big
 * values, the bucket) under the manager's id, so a proxy revived in any function operates on the
 * same state; there is no server to call. Items, atomicity and `shutdown()`: docs/primitives.md,
 * section 3.8.
 */
import { randomUUID } from 'node:crypto';
import type { PrimitiveModule } from '../../api/context.js';
import { checkEntries, checkValues } from '../../api/manager-args.js';
import type { DictProxy, ListProxy, Manager } from '../../api/managers.js';
import { ClosedError, ProtocolError } from '../../errors.js';
import type { SyncHandle } from '../../handles.js';
import { received } from '../../validate.js';
import type { AwsSyncEnv } from './env.js';
import { handleData } from './items.js';
import { AwsDictProxy } from './manager-dict.js';
import { dropAllBlobs, type ManagerScope, newScope, serialised } from './manager-items.js';
import { AwsListProxy } from './manager-list.js';

/** A manager on DynamoDB and S3. */
export class AwsManager implements Manager {
  readonly #scope: ManagerScope;
  readonly #made: (AwsDictProxy | AwsListProxy)[] = [];
  #shutdown: Promise<void> | undefined;

  constructor(env: AwsSyncEnv) {
    this.#scope = newScope(env, randomUUID(), nestedReviver(env));
  }

  /** Makes a dict; its initial entries are written at once, and this proxy's operations wait for them. */
  dict<V = unknown>(initial?: Readonly<Record<string, V>>): DictProxy<V> {
    const entries = Object.entries(initial === undefined ? {} : checkEntries(initial)).map(
      ([k, v]) => [k, serialised(v, `The initial value of ${JSON.stringify(k)}`, true)] as const,
    );
    this.#checkOpen();
    const d = new AwsDictProxy<V>(this.#scope, randomUUID(), entries as never);
    this.#made.push(d as AwsDictProxy);
    return d;
  }

  /** Makes a list; its initial elements are written at once, and this proxy's operations wait for them. */
  list<V = unknown>(initial?: readonly V[]): ListProxy<V> {
    const items = (initial === undefined ? [] : checkValues(initial)).map((v, i) =>
      serialised(v, `Initial element ${i}`, false),
    );
    this.#checkOpen();
    const l = new AwsListProxy<V>(this.#scope, randomUUID(), items);
    this.#made.push(l as AwsListProxy);
    return l;
  }

  #checkOpen(): void {
    if (this.#scope.closed) throw new ClosedError('The manager has been shut down: it makes no more objects');
  }

  /** Deletes every item and blob the manager made; later operations of its proxies here throw `ClosedError`. */
  shutdown(): Promise<void> {
    this.#scope.closed = true;
    this.#shutdown ??= (async () => {
      // Operations already running here end first, so none writes after the deletion.
      await Promise.allSettled(this.#scope.inflight);
      await Promise.all(this.#made.map((o) => o.destroy()));
      await dropAllBlobs(this.#scope);
    })();
    return this.#shutdown;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A proxy handle's manager scope (new, in this party) and object id; throws naming the bad field. */
function proxyOf(
  handle: SyncHandle,
  kind: string,
  env: AwsSyncEnv,
): [ManagerScope, string, 'await' | undefined] {
  const data = handleData(handle, kind);
  if (typeof data.object !== 'string' || !UUID.test(data.object)) {
    throw new ProtocolError(`${kind} handle: data.object must be a UUID, got ${received(data.object)}`);
  }
  if (data.init !== undefined && data.init !== true) {
    throw new ProtocolError(`${kind} handle: data.init must be true or absent, got ${received(data.init)}`);
  }
  return [newScope(env, data.id, nestedReviver(env)), data.object, data.init ? 'await' : undefined];
}

/** Revives a managed dict or list held in a value (of any manager) as a proxy in this party. */
function nestedReviver(env: AwsSyncEnv): (handle: SyncHandle) => unknown {
  return (handle) =>
    handle.kind === 'DictProxy'
      ? new AwsDictProxy(...proxyOf(handle, 'DictProxy', env))
      : new AwsListProxy(...proxyOf(handle, 'ListProxy', env));
}

/** The AWS `Manager` factory and the revivers of its proxies. */
export const manager: PrimitiveModule<AwsSyncEnv> = {
  make: (env) => ({ Manager: () => new AwsManager(env) }),
  revive: {
    DictProxy: (handle, env) => new AwsDictProxy(...proxyOf(handle, 'DictProxy', env)),
    ListProxy: (handle, env) => new AwsListProxy(...proxyOf(handle, 'ListProxy', env)),
  },
};
