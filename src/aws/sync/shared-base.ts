/**
 * What the AWS `Value` and `Array` share: the item key, the type code's number codec, the lock
 * (an `RLock` by default, as CPython; `lock: false` for none; or the caller's AWS Lock/RLock) and
 * the handle, which carries the lock's handle so a revived copy guards with the same lock.
 */

import type { SharedOptions, TypeCode } from '../../api/sharedctypes.js';
import type { Lock, RLock } from '../../api/synchronize.js';
import { InvalidArgumentError, ProtocolError } from '../../errors.js';
import type { SyncHandle } from '../../handles.js';
import { isHandle, SHARE } from '../../handles.js';
import { options, received } from '../../validate.js';
import type { AwsSyncEnv } from './env.js';
import { syncKey } from './items.js';
import { type AwsLeaseLock, AwsLock, AwsRLock, locks } from './locks.js';
import { codecOf, isTypeCode, type NumberCodec } from './numbers.js';

/** Where a Value or Array lives and what guards it. */
export interface SharedLayout {
  readonly env: AwsSyncEnv;
  readonly id: string;
  readonly typecode: TypeCode;
  readonly lock: AwsLeaseLock | undefined;
}

/** A type code argument. */
export function typecodeArg(v: unknown): TypeCode {
  if (!isTypeCode(v))
    throw new InvalidArgumentError(
      `Expected typecode to be one of b B h H i I l L q Q f d, got ${received(v)}`,
    );
  return v;
}

/** Checks `options.lock`; the returned function makes the lock (once every argument is checked). */
export function lockOption(opts: unknown, env: AwsSyncEnv): () => AwsLeaseLock | undefined {
  const o = options<SharedOptions>(opts, 'options', ['lock']);
  if (o.lock === undefined || o.lock === true) return () => new AwsRLock(env);
  if (o.lock === false) return () => undefined;
  const given = o.lock;
  if (!(given instanceof AwsLock || given instanceof AwsRLock))
    throw new InvalidArgumentError(
      `Expected options.lock to be a boolean or a Lock/RLock of the aws context, got ${received(given)}`,
    );
  return () => given;
}

/** The lock named by a handle's `data.lock` (null for none). */
export function reviveLock(v: unknown, kind: string, env: AwsSyncEnv): AwsLeaseLock | undefined {
  if (v === null) return undefined;
  if (!isHandle(v) || (v.kind !== 'Lock' && v.kind !== 'RLock'))
    throw new ProtocolError(
      `${kind} handle: data.lock must be null or a Lock/RLock handle, got ${received(v)}`,
    );
  return locks.revive[v.kind]?.(v, env) as AwsLeaseLock;
}

/** A stored number's text in a handle. */
export function numberText(v: unknown, name: string): string {
  if (typeof v !== 'string' || !/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(v))
    throw new ProtocolError(`${name} must be a number as text, got ${received(v)}`);
  return v;
}

/** The base of AwsValue and AwsArray. */
export abstract class AwsShared<C extends TypeCode> {
  readonly id: string;
  readonly typecode: C;
  protected readonly env: AwsSyncEnv;
  protected readonly codec: NumberCodec;
  protected readonly key: ReturnType<typeof syncKey>;
  /** The lock whose holder's writes are fenced. */
  protected readonly guard: AwsLeaseLock | undefined;

  constructor(layout: SharedLayout) {
    this.id = layout.id;
    this.typecode = layout.typecode as C;
    this.env = layout.env;
    this.codec = codecOf(layout.typecode);
    this.key = syncKey(layout.id);
    this.guard = layout.lock;
  }

  abstract readonly kind: 'Value' | 'Array';

  /** The lock guarding this primitive; {@link InvalidArgumentError} if made with `lock: false`. */
  getLock(): Lock | RLock {
    if (!this.guard)
      throw new InvalidArgumentError(`This ${this.kind} was made with lock: false and has no lock`);
    return this.guard;
  }

  /** Holds the lock while `fn` runs; writes by this party meanwhile are fenced. */
  withLock<R>(fn: () => R | Promise<R>): Promise<R> {
    return this.getLock().withLock(fn);
  }

  /** The handle, with the kind's own data. */
  protected handle(data: Record<string, unknown>): SyncHandle {
    return {
      $fanfold: 'handle',
      ctx: 'aws',
      kind: this.kind,
      data: { id: this.id, typecode: this.typecode, ...data, lock: this.guard ? this.guard[SHARE]() : null },
    };
  }
}
