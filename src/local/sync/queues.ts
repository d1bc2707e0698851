/**
 * The local `Queue`, `JoinableQueue` and `SimpleQueue` (see src/api/queues.ts for the semantics):
 * items are serialised (any structured-clone value: the common shapes in the compact format of
 * ring-codec.ts, the rest with `v8.serialize`) into a ring buffer in the shared arena, so every thread of the process holding a handle puts to and gets from the same
 * queue. A `put` returns once the item is counted; the item reaches the ring at once when there is
 * room, else in order from this thread's feeder (as CPython's feeder thread), so a thread may put
 * any number of items before anyone gets them. `close()` concerns this handle only, as in CPython.
 */
import type { PrimitiveModule } from '../../api/context.js';
import type { BlockOptions, JoinableQueue, Queue, SimpleQueue } from '../../api/queues.js';
import { FOREVER } from '../../deadline.js';
import { noteShareable, SHARE, type SyncHandle } from '../../handles.js';
import { optionalTimeout } from '../../validate.js';
import { QueueCore, type QueueKind } from './queue-core.js';
import { encode } from './ring-codec.js';
import { blockDeadline } from './ring-waits.js';

function handle(kind: QueueKind, core: QueueCore): SyncHandle {
  return { $fanfold: 'handle', ctx: 'local', kind, data: { ...core.data() } };
}

/**
 * A FIFO queue shared by the threads of this process (CPython `multiprocessing.Queue`).
 * @example
 * ```ts
 * const q = ctx.Queue<number>(10);
 * await q.put(1);
 * const x = await q.get({ timeoutMs: 1000 }); // throws Empty after 1 s
 * ```
 */
export class LocalQueue<T = unknown> implements Queue<T> {
  readonly kind: 'Queue' | 'JoinableQueue' = 'Queue';
  /** @internal */
  protected readonly core: QueueCore;

  /** @internal Use `ctx.Queue(maxsize)`. */
  constructor(core: QueueCore) {
    noteShareable(this);
    this.core = core;
  }

  get maxsize(): number {
    return this.core.maxsize;
  }

  async put(item: T, options?: BlockOptions): Promise<void> {
    const deadline = blockDeadline(options);
    await this.core.put(encode(item, `${this.kind} item`), deadline, this.kind === 'JoinableQueue');
  }

  async get(options?: BlockOptions): Promise<T> {
    return (await this.core.get(blockDeadline(options))) as T;
  }

  putNowait(item: T): Promise<void> {
    return this.put(item, { block: false });
  }

  getNowait(): Promise<T> {
    return this.get({ block: false });
  }

  async qsize(): Promise<number> {
    return this.core.qsize();
  }

  async empty(): Promise<boolean> {
    return this.core.qsize() === 0;
  }

  async full(): Promise<boolean> {
    return this.core.maxsize > 0 && this.core.qsize() >= this.core.maxsize;
  }

  async close(): Promise<void> {
    this.core.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  [SHARE](): SyncHandle {
    return handle(this.kind, this.core);
  }
}

/** A queue whose consumers report each item done, so that producers can `join()` (CPython `JoinableQueue`). */
export class LocalJoinableQueue<T = unknown> extends LocalQueue<T> implements JoinableQueue<T> {
  override readonly kind = 'JoinableQueue';

  async taskDone(): Promise<void> {
    this.core.taskDone();
  }

  async join(timeoutMs?: number): Promise<boolean> {
    return this.core.join(optionalTimeout(timeoutMs, 'timeoutMs'));
  }
}

/** An unbounded queue with `put`, `get`, `empty` and `close` only (CPython `SimpleQueue`). */
export class LocalSimpleQueue<T = unknown> implements SimpleQueue<T> {
  readonly kind = 'SimpleQueue';
  readonly #core: QueueCore;

  /** @internal Use `ctx.SimpleQueue()`. */
  constructor(core: QueueCore) {
    noteShareable(this);
    this.#core = core;
  }

  async put(item: T): Promise<void> {
    await this.#core.put(encode(item, 'SimpleQueue item'), FOREVER, false);
  }

  async get(): Promise<T> {
    return (await this.#core.get(FOREVER)) as T;
  }

  /** Whether the queue is empty; throws {@link ClosedError} after `close()`, as CPython's raises. */
  async empty(): Promise<boolean> {
    this.#core.checkOpen();
    return this.#core.qsize() === 0;
  }

  async close(): Promise<void> {
    this.#core.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  [SHARE](): SyncHandle {
    return handle('SimpleQueue', this.#core);
  }
}

/** The local queues as a primitive module. */
export const queues: PrimitiveModule<void> = {
  make: () => ({
    Queue: <T>(maxsize = 0) => new LocalQueue<T>(QueueCore.create('Queue', maxsize)),
    JoinableQueue: <T>(maxsize = 0) => new LocalJoinableQueue<T>(QueueCore.create('JoinableQueue', maxsize)),
    SimpleQueue: <T>() => new LocalSimpleQueue<T>(QueueCore.create('SimpleQueue', 0)),
  }),
  revive: {
    Queue: (h) => new LocalQueue(QueueCore.revive('Queue', h.data)),
    JoinableQueue: (h) => new LocalJoinableQueue(QueueCore.revive('JoinableQueue', h.data)),
    SimpleQueue: (h) => new LocalSimpleQueue(QueueCore.revive('SimpleQueue', h.data)),
  },
};
