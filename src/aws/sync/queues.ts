/**
 * `Queue`, `JoinableQueue` and `SimpleQueue` on the AWS context: one SQS FIFO queue each, named
 * `<queuePrefix><q|j|s><id>.fifo`, and a DynamoDB item for the counters (see `queue-core.ts`).
 * Their differences from CPython (`close()` by the creator deletes the queue; the sweeper):
 * docs/primitives.md, sections 3.7 and 5.
 */
import { randomUUID } from 'node:crypto';
import type { PrimitiveModule } from '../../api/context.js';
import type {
  BlockOptions,
  JoinableQueue as JoinableQueueApi,
  Queue as QueueApi,
  SimpleQueue as SimpleQueueApi,
} from '../../api/queues.js';
import { ProtocolError } from '../../errors.js';
import { noteShareable, SHARE, type SyncHandle } from '../../handles.js';
import { blockOptions, optionalInteger, optionalTimeout, received } from '../../validate.js';
import type { AwsSyncEnv } from './env.js';
import { QueueCore } from './queue-core.js';

type Kind = 'Queue' | 'JoinableQueue' | 'SimpleQueue';
const LETTER: Record<Kind, string> = { Queue: 'q', JoinableQueue: 'j', SimpleQueue: 's' };
/** The largest `maxsize`. */
const MAX_SIZE = 2 ** 31 - 1;

/** A new random id: 32 hex digits. */
export function newId(): string {
  return randomUUID().replaceAll('-', '');
}

/** Base of the three queue classes: the handle and the life cycle. */
abstract class AwsQueueBase {
  abstract readonly kind: Kind;
  protected readonly core: QueueCore;

  constructor(core: QueueCore) {
    this.core = core;
    noteShareable(this);
  }

  [SHARE](): SyncHandle {
    const { id, maxsize } = this.core.data;
    // The SQS name goes along once known, so that a party on another stack is told, not ignored.
    const name = this.core.knownName();
    return {
      $fanfold: 'handle',
      ctx: 'aws',
      kind: this.kind,
      data: name === undefined ? { id, maxsize } : { id, maxsize, name },
    };
  }

  async empty(): Promise<boolean> {
    return (await this.core.qsize()) === 0;
  }

  close(): Promise<void> {
    return this.core.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** A FIFO queue on SQS (see the module's doc for the differences from CPython). */
export class AwsQueue<T = unknown> extends AwsQueueBase implements QueueApi<T> {
  readonly kind: 'Queue' | 'JoinableQueue' = 'Queue';

  get maxsize(): number {
    return this.core.data.maxsize;
  }

  async put(item: T, options?: BlockOptions): Promise<void> {
    const { block, timeoutMs } = blockOptions(options);
    await this.core.put(item, block, timeoutMs);
  }

  async get(options?: BlockOptions): Promise<T> {
    const { block, timeoutMs } = blockOptions(options);
    return (await this.core.get(block, timeoutMs)) as T;
  }

  putNowait(item: T): Promise<void> {
    return this.put(item, { block: false });
  }

  getNowait(): Promise<T> {
    return this.get({ block: false });
  }

  qsize(): Promise<number> {
    return this.core.qsize();
  }

  async full(): Promise<boolean> {
    return this.maxsize > 0 && (await this.core.qsize()) >= this.maxsize;
  }
}

/** A queue whose consumers report each item done (`taskDone`), so that a producer can `join()`. */
export class AwsJoinableQueue<T = unknown> extends AwsQueue<T> implements JoinableQueueApi<T> {
  override readonly kind = 'JoinableQueue' as const;

  taskDone(): Promise<void> {
    return this.core.taskDone();
  }

  async join(timeoutMs?: number): Promise<boolean> {
    return this.core.join(optionalTimeout(timeoutMs));
  }
}

/** An unbounded queue with `put`, `get`, `empty` and `close`. */
export class AwsSimpleQueue<T = unknown> extends AwsQueueBase implements SimpleQueueApi<T> {
  readonly kind = 'SimpleQueue' as const;

  put(item: T): Promise<void> {
    return this.core.put(item, true, undefined);
  }

  async get(): Promise<T> {
    return (await this.core.get(true, undefined)) as T;
  }

  /** Whether the queue is empty; throws {@link ClosedError} after `close()`, as CPython's raises. */
  override async empty(): Promise<boolean> {
    this.core.check();
    return super.empty();
  }
}

function make(env: AwsSyncEnv, kind: Kind, maxsize: unknown): QueueCore {
  const size = kind === 'SimpleQueue' ? 0 : (optionalInteger(maxsize, 'maxsize', 0, MAX_SIZE) ?? 0);
  const id = newId();
  const suffix = `${LETTER[kind]}${id}.fifo`;
  return new QueueCore(env, { id, maxsize: size, suffix }, kind, kind === 'JoinableQueue', true);
}

/** Checks a queue handle's data; throws {@link ProtocolError} naming the bad field. */
function reviveCore(handle: SyncHandle, env: AwsSyncEnv, kind: Kind): QueueCore {
  const { id, name, maxsize } = handle.data as { id?: unknown; name?: unknown; maxsize?: unknown };
  const bad = (field: string, v: unknown) =>
    new ProtocolError(`A ${kind} handle has a bad data.${field}: ${received(v)}`);
  if (typeof id !== 'string' || !/^[0-9a-f]{32}$/.test(id)) throw bad('id', id);
  const suffix = `${LETTER[kind]}${id}.fifo`;
  // The prefix part is checked against this stack's on first use (it may not be known yet).
  if (
    name !== undefined &&
    (typeof name !== 'string' ||
      !/^[A-Za-z0-9_-]{0,40}$/.test(name.slice(0, -suffix.length)) ||
      !name.endsWith(suffix))
  )
    throw bad('name', name);
  if (typeof maxsize !== 'number' || !Number.isInteger(maxsize) || maxsize < 0 || maxsize > MAX_SIZE)
    throw bad('maxsize', maxsize);
  if (kind === 'SimpleQueue' && maxsize !== 0) throw bad('maxsize', maxsize);
  const data = name === undefined ? { id, maxsize, suffix } : { id, maxsize, suffix, carried: name };
  return new QueueCore(env, data, kind, kind === 'JoinableQueue', false);
}

/** The queue family of the AWS context. */
export const queues: PrimitiveModule<AwsSyncEnv> = {
  make: (env) => ({
    Queue: <T>(maxsize?: number) => new AwsQueue<T>(make(env, 'Queue', maxsize)),
    JoinableQueue: <T>(maxsize?: number) => new AwsJoinableQueue<T>(make(env, 'JoinableQueue', maxsize)),
    SimpleQueue: <T>() => new AwsSimpleQueue<T>(make(env, 'SimpleQueue', undefined)),
  }),
  revive: {
    Queue: (h, env) => new AwsQueue(reviveCore(h, env, 'Queue')),
    JoinableQueue: (h, env) => new AwsJoinableQueue(reviveCore(h, env, 'JoinableQueue')),
    SimpleQueue: (h, env) => new AwsSimpleQueue(reviveCore(h, env, 'SimpleQueue')),
  },
};
