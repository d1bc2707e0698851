/**
 * `Semaphore` and `BoundedSemaphore` on the AWS context: one DynamoDB item each (see `permits.ts`),
 * each acquisition a lease renewed while held. Who may release, the costs and the failure
 * analysis: docs/primitives.md, sections 3.2 and 4.
 */
import { randomUUID } from 'node:crypto';
import type { PrimitiveModule } from '../../api/context.js';
import type { AcquireOptions, BoundedSemaphore, Semaphore } from '../../api/synchronize.js';
import { deadlineOf } from '../../deadline.js';
import { InvalidArgumentError, LeaseLostError, OverReleaseError, ProtocolError } from '../../errors.js';
import { noteShareable, SHARE, type SyncHandle } from '../../handles.js';
import { blockOptions, received } from '../../validate.js';
import { poll } from './backoff.js';
import type { AwsSyncEnv } from './env.js';
import { handleData } from './items.js';
import { Hold } from './lease.js';
import { PermitItem } from './permits.js';

/** Largest initial value (DynamoDB numbers are exact far beyond; this keeps counts safe integers). */
const MAX_VALUE = 2 ** 31 - 1;

function initialValue(v: unknown, name: string, error: new (m: string) => Error): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_VALUE)
    throw new error(`Expected ${name} to be an integer from 0 to ${MAX_VALUE}, got ${received(v)}`);
  return v;
}

/**
 * A counting semaphore on DynamoDB (CPython `multiprocessing.Semaphore`, or `BoundedSemaphore`
 * when `bounded`).
 *
 * @example
 * ```ts
 * const slots = new AwsSemaphore(env, 3);
 * await slots.withLock(async () => { … });
 * ```
 */
export class AwsSemaphore implements Semaphore {
  readonly kind: 'Semaphore' | 'BoundedSemaphore';
  readonly id: string;
  /** The initial value (and, when bounded, the bound). */
  readonly value: number;
  readonly #item: PermitItem;
  /** This instance's acquisitions, released latest first. */
  readonly #holds: Hold<PermitItem>[] = [];

  /** @param value initial permits @param id an existing semaphore's id (from a handle) */
  constructor(env: AwsSyncEnv, value = 1, bounded = false, id: string = randomUUID()) {
    noteShareable(this);
    this.value = initialValue(value, 'value', InvalidArgumentError);
    this.kind = bounded ? 'BoundedSemaphore' : 'Semaphore';
    this.id = id;
    this.#item = new PermitItem(env, id, this.value, bounded);
  }

  /** {@inheritDoc Acquirable.acquire} */
  async acquire(options?: AcquireOptions): Promise<boolean> {
    const { block, timeoutMs } = blockOptions(options);
    // Tokens name attributes (`h_<token>`), so they are plain hex: placeholders allow no dashes.
    const token = randomUUID().replaceAll('-', '');
    const attempt = async (): Promise<Hold<PermitItem> | undefined> => {
      const since = Date.now();
      return (await this.#item.take(token)) ? new Hold(this.#item, token, 0, since) : undefined;
    };
    const env = this.#item.env;
    const hold = block ? await poll(attempt, env.pollMs, deadlineOf(timeoutMs)) : await attempt();
    if (!hold) return false;
    hold.start();
    this.#holds.push(hold);
    return true;
  }

  /**
   * Releases: returns this instance's latest acquisition ({@link LeaseLostError} if its lease ran
   * out and its permit was reclaimed, {@link OverReleaseError} if another party released it), or,
   * from a party that did not acquire, adds a permit ({@link OverReleaseError} at a bounded
   * semaphore's initial value).
   */
  async release(): Promise<void> {
    const hold = this.#holds.pop();
    if (hold) {
      hold.stop();
      let why: Awaited<ReturnType<PermitItem['giveBack']>>;
      try {
        why = await this.#item.giveBack(hold.token);
      } catch (e) {
        // The request failed (network, throttling): still held, so keep renewing.
        this.#holds.push(hold);
        hold.start();
        throw e;
      }
      if (why === 'freed')
        throw new OverReleaseError(
          `${this.kind} ${this.id}: this acquisition was already released by another party`,
        );
      // Gone while our lease is live: no reclaimer could remove it, so an earlier attempt of this release did.
      if (why === 'taken' && !hold.live()) throw new LeaseLostError(`${this.kind} ${this.id}`, 0);
      return;
    }
    if (!(await this.#item.add()))
      throw new OverReleaseError(`${this.kind} ${this.id} released more often than its value ${this.value}`);
  }

  /** {@inheritDoc Acquirable.withLock} */
  async withLock<R>(fn: () => R | Promise<R>): Promise<R> {
    await this.acquire();
    let result: R;
    try {
      result = await fn();
    } catch (e) {
      await this.release().catch(() => undefined);
      throw e;
    }
    await this.release();
    return result;
  }

  /** {@inheritDoc Semaphore.getValue} Free permits plus those of expired holders (one GetItem). */
  getValue(): Promise<number> {
    return this.#item.value();
  }

  /** @internal This instance's acquisitions (a test stops one's renewal to play a dead holder). */
  get leases(): readonly Hold<PermitItem>[] {
    return this.#holds;
  }

  [SHARE](): SyncHandle {
    return { $fanfold: 'handle', ctx: 'aws', kind: this.kind, data: { id: this.id, value: this.value } };
  }
}

function revive(bounded: boolean) {
  return (handle: SyncHandle, env: AwsSyncEnv) => {
    const kind = bounded ? 'BoundedSemaphore' : 'Semaphore';
    const data = handleData(handle, kind);
    return new AwsSemaphore(
      env,
      initialValue(data.value, `${kind} handle: data.value`, ProtocolError),
      bounded,
      data.id,
    );
  };
}

/** The AWS context's `Semaphore` and `BoundedSemaphore`. */
export const semaphores: PrimitiveModule<AwsSyncEnv> = {
  make: (env) => ({
    Semaphore: (value = 1) => new AwsSemaphore(env, value, false),
    BoundedSemaphore: (value = 1) => new AwsSemaphore(env, value, true) as BoundedSemaphore,
  }),
  revive: { Semaphore: revive(false), BoundedSemaphore: revive(true) },
};
