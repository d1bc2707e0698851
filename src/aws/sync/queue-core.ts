/**
 * What `Queue`, `JoinableQueue` and `SimpleQueue` share on AWS: an SQS FIFO {@link Channel} for the
 * items and the DynamoDB item of `queue-state.ts` for the counters. The steps of put and get, what a
 * crash between them does, and how the counter writes count once under the SDK's retries
 * (`write-records.ts`): docs/primitives.md, section 3.7.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { backoff } from '../../backoff.js';
import { deadlineOf, expired, remaining } from '../../deadline.js';
import { ClosedError, Empty, Full, OverReleaseError } from '../../errors.js';
import { refuseClassInstance } from '../../plain-data.js';
import { Channel } from './channel.js';
import type { AwsSyncEnv } from './env.js';
import { closed, num, read, startHeartbeat, tombstone, update } from './queue-state.js';
import { recordsOf } from './write-records.js';

type Item = Record<string, AttributeValue>;

/** What names a queue: its id, its bound, and the SQS name its handle carried (if any). */
export interface QueueData {
  readonly id: string;
  readonly maxsize: number;
  /** The queue's name after the prefix: `<q|j|s><id>.fifo`. */
  readonly suffix: string;
  /** The full name a handle carried, checked against this stack's prefix on first use. */
  readonly carried?: string;
}

/** The state and operations of one queue handle. */
export class QueueCore {
  readonly env: AwsSyncEnv;
  readonly data: QueueData;
  readonly #joinable: boolean;
  readonly #chan: Channel;
  readonly #creator: boolean;
  readonly #what: string;
  #stopHeartbeat: (() => void) | undefined;
  #closed = false;

  constructor(env: AwsSyncEnv, data: QueueData, what: string, joinable: boolean, creator: boolean) {
    this.env = env;
    this.data = data;
    this.#joinable = joinable;
    this.#creator = creator;
    this.#what = `${what} ${data.id}`;
    this.#chan = new Channel(env, data.suffix, data.id, this.#what, creator, data.carried);
    if (creator) {
      // The creator registers and makes the queue at once (the sweeper then knows it) and renews
      // its registration while open. A failure here is seen again by the first operation.
      this.#chan.url().catch(() => {});
      this.#stopHeartbeat = startHeartbeat(env, data.id);
    }
  }

  /** The SQS queue's name, if the prefix is known yet (a context learns it on first use). */
  knownName(): string | undefined {
    return this.data.carried ?? this.#chan.knownName();
  }

  /** Throws {@link ClosedError} once this handle was closed. */
  check(): void {
    if (this.#closed) throw new ClosedError(`${this.#what} was closed by this handle`);
  }

  async put(item: unknown, block: boolean, timeoutMs: number | undefined): Promise<void> {
    this.check();
    // Before a slot is counted: an instance would reach the receiver without its methods.
    refuseClassInstance(item, 'The item', undefined, 'the receiver');
    await this.#chan.url();
    const deadline = deadlineOf(timeoutMs);
    const { maxsize } = this.data;
    const add = this.#joinable ? '#c :one, unfinished :one' : '#c :one';
    for (let attempt = 0; ; attempt++) {
      const { applied, item: found } = await this.#count(
        add,
        maxsize > 0 ? { ':one': { N: '1' }, ':max': { N: String(maxsize) } } : { ':one': { N: '1' } },
        maxsize > 0
          ? 'attribute_not_exists(closedAt) AND (attribute_not_exists(#c) OR #c < :max)'
          : 'attribute_not_exists(closedAt)',
      );
      if (applied) break;
      if (found?.closedAt) throw closed(this.#what);
      if (!block || !(await backoff(attempt, this.env.pollMs, deadline))) throw new Full();
      this.check();
    }
    try {
      await this.#chan.send(item);
    } catch (e) {
      // The item was not sent: give its slot back (a crash here instead leaks it, see above).
      await this.#count(add.replaceAll(':one', ':minus'), { ':minus': { N: '-1' } }).catch(() => {});
      throw e;
    }
  }

  async get(block: boolean, timeoutMs: number | undefined): Promise<unknown> {
    this.check();
    const deadline = deadlineOf(timeoutMs);
    for (let attempt = 0; ; attempt++) {
      const left = block ? remaining(deadline) : 0;
      const m = await this.#chan.receive(left);
      if (m) {
        const item = await this.#chan.decode(m);
        await this.#chan.ack(m);
        await this.#count('#c :minus', { ':minus': { N: '-1' } });
        return item;
      }
      if (!block || expired(deadline)) throw new Empty();
      // Under a second left, ReceiveMessage cannot wait: short polls with backoff instead.
      if (left < 1000 && !(await backoff(attempt, this.env.pollMs, deadline))) throw new Empty();
      this.check();
    }
  }

  async qsize(): Promise<number> {
    return Math.max(0, num(await read(this.env, this.data.id), 'count'));
  }

  async taskDone(): Promise<void> {
    const { applied } = await this.#count(
      'unfinished :minus',
      { ':minus': { N: '-1' }, ':zero': { N: '0' } },
      'unfinished > :zero',
    );
    if (!applied) throw new OverReleaseError('taskDone() called more times than items were put');
  }

  /**
   * A counter write (`add`, under `condition`) that counts once under the SDK's retries: it sets a
   * record and is conditioned on its absence, so a retry of the applied write is refused and finds
   * it (`write-records.ts`). Resolves whether it was applied, and the item as it left it or, when
   * refused, as it found it.
   */
  async #count(
    add: string,
    values: Readonly<Record<string, AttributeValue>>,
    condition?: string,
  ): Promise<{ applied: boolean; item: Item | undefined }> {
    const records = recordsOf(this.env, this.data.id);
    const w = records.begin();
    const removes = w.removes.map((r, k) => [`#r${k}`, r] as const);
    const { item, old } = await update(
      this.env,
      this.data.id,
      {
        add,
        set: ['#o = :rec'],
        ...(removes.length > 0 ? { remove: removes.map(([k]) => k).join(', ') } : {}),
        names: { '#o': w.name, ...Object.fromEntries(removes) },
      },
      { ...values, ':rec': { N: '1' } },
      condition === undefined ? 'attribute_not_exists(#o)' : `(${condition}) AND attribute_not_exists(#o)`,
    );
    // A refusal tells its reason by the item found: read it where the service left it out.
    const found = item ?? old ?? (await read(this.env, this.data.id));
    const applied = item !== undefined || found?.[w.name] !== undefined;
    records.end(w, applied, found);
    return { applied, item: found };
  }

  async join(timeoutMs: number | undefined): Promise<boolean> {
    const deadline = deadlineOf(timeoutMs);
    for (let attempt = 0; ; attempt++) {
      if (num(await read(this.env, this.data.id), 'unfinished') <= 0) return true;
      if (!(await backoff(attempt, this.env.pollMs, deadline))) return false;
    }
  }

  /**
   * Closes this handle. The creator's handle also deletes the SQS queue, its counters and its
   * blobs, after leaving a tombstone that turns every other party's next operation into a
   * {@link ClosedError} (a crash between the two: the sweeper deletes queues with a tombstone).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#creator) return;
    this.#stopHeartbeat?.();
    await tombstone(this.env, this.data.id);
    await this.#chan.destroy();
  }
}
