/**
 * What the AWS manager's dict and list share (see manager-items.ts): their handle, the wait for the
 * initial values the object was made with, and how an operation runs.
 *
 * Initial values are written by the creating party right away; every operation of that party
 * waits for the write. A party that revives the handle of an object made with initial values
 * (`init: true` in the handle) cannot see that write: its first operation waits for the object's
 * marker item, which the creator writes after the values, so it never sees half of them.
 */
import type { SyncHandle } from '../../handles.js';
import { awaitItem, type Item, type ManagerScope, runOp } from './manager-items.js';

/** How an object starts: writing its initial values, waiting for another party's, or with none. */
export type ObjectStart = (() => Promise<void>) | { readonly await: Item } | undefined;

/** One dict or list of a manager in this party. */
export class ManagerObject {
  readonly #scope: ManagerScope;
  readonly #kind: string;
  readonly #id: string;
  /** The initial values' write (creator), or the wait for them, started by the first operation (reviver). */
  #ready: Promise<void> | (() => Promise<void>);
  /** Whether the object was made with initial values (its handle then tells revivers to wait for them). */
  readonly #init: boolean;

  /** @param start a write of the initial values (started now), a marker item to wait for, or nothing */
  constructor(scope: ManagerScope, kind: string, id: string, start: ObjectStart) {
    this.#scope = scope;
    this.#kind = kind;
    this.#id = id;
    this.#init = start !== undefined;
    if (start === undefined) this.#ready = Promise.resolve();
    else if (typeof start === 'function') {
      this.#ready = start();
      this.#ready.catch(() => undefined); // reported by the first operation
    } else {
      const marker = start.await;
      this.#ready = () => awaitItem(scope, marker);
    }
  }

  /** The object's handle: its manager, its id, and whether revivers wait for initial values. */
  handle(): SyncHandle {
    return {
      $fanfold: 'handle',
      ctx: 'aws',
      kind: this.#kind,
      data: { id: this.#scope.managerId, object: this.#id, ...(this.#init ? { init: true } : {}) },
    };
  }

  /** Checks arguments (synchronously, before any effect), then runs `f` once the object is ready. */
  op<T>(check: () => void, f: () => Promise<T>): Promise<T> {
    return runOp(this.#scope, check, () => this.#whenReady(), f);
  }

  /** Waits for this party's write of the initial values, if it started one (for `destroy()`). */
  async settled(): Promise<void> {
    if (typeof this.#ready !== 'function') await this.#ready.catch(() => undefined);
  }

  #whenReady(): Promise<void> {
    if (typeof this.#ready === 'function') this.#ready = this.#ready();
    return this.#ready;
  }
}
