/**
 * The wire protocol between a {@link ThreadPool} (main thread) and `serveThread()` (pool thread).
 * Every message carries `v: 1` and a `type`; each side validates what it receives with an
 * exhaustive `switch` and throws `ProtocolError` on anything else, so a version skew
 * between a pool and a stale thread bundle fails loudly instead of hanging.
 *
 * The checks are deliberately shallow (type, version, id): they run once per task on the hot path.
 *
 * @example
 * ```ts
 * const msg = parseFromThread(raw); // throws ProtocolError on a malformed message
 * if (msg.type === 'result') settle(msg.id, msg.value);
 * ```
 */
import type { MessagePort } from 'node:worker_threads';
import type { SerializedError } from '../errors.js';
import { FieldReader, type Fields, isFields } from '../fields.js';

/** The version of the pool ⇄ thread protocol this build speaks. */
export const THREAD_PROTOCOL_VERSION = 1;

/** Main thread → pool thread: run `body`; answer with a result or error for `id`. */
export interface TaskMessage {
  readonly v: 1;
  readonly type: 'task';
  readonly id: number;
  readonly body: unknown;
}

/** Main thread → pool thread: no more tasks will come; exit once idle. */
export interface EndMessage {
  readonly v: 1;
  readonly type: 'end';
}

/** Every message the main thread sends to a pool thread. */
export type ToThreadMessage = TaskMessage | EndMessage;

/** Pool thread → main thread: `init` finished, tasks may be sent. */
export interface ReadyMessage {
  readonly v: 1;
  readonly type: 'ready';
}

/** Pool thread → main thread: `init` threw; the thread takes no tasks. */
export interface InitFailedMessage {
  readonly v: 1;
  readonly type: 'init-failed';
  readonly error: SerializedError;
}

/** Pool thread → main thread: task `id` returned `value`. */
export interface ResultMessage {
  readonly v: 1;
  readonly type: 'result';
  readonly id: number;
  readonly value: unknown;
}

/**
 * Pool thread → main thread: task `id`, still running, reports part of its result (a group's chunk
 * that finished while the group goes on). Delivered before the task's `result` or `error`.
 */
export interface ProgressMessage {
  readonly v: 1;
  readonly type: 'progress';
  readonly id: number;
  readonly value: unknown;
}

/** Pool thread → main thread: task `id` threw `error`. */
export interface ErrorMessage {
  readonly v: 1;
  readonly type: 'error';
  readonly id: number;
  readonly error: SerializedError;
}

/** Every message a pool thread sends to the main thread. */
export type FromThreadMessage =
  | ReadyMessage
  | InitFailedMessage
  | ProgressMessage
  | ResultMessage
  | ErrorMessage;

/** What the pool passes to each thread as `workerData`. */
export interface ThreadBoot {
  readonly v: 1;
  /** The pool's `data` option, untouched. */
  readonly data: unknown;
  /** The `fanfold` key marks a thread started by a ThreadPool. */
  readonly fanfold: {
    readonly name: string;
    readonly index: number;
    /** The thread's end of the pool's private channel (transferred). */
    readonly port: MessagePort;
  };
  /** A shared buffer every thread receives: the local primitives' arena, when the pool has one. */
  readonly arena?: SharedArrayBuffer;
}

const fields: FieldReader = new FieldReader('thread message');

function header(raw: unknown): Fields {
  const msg = fields.object(raw, 'a message object');
  fields.version(msg, THREAD_PROTOCOL_VERSION);
  return msg;
}

function checkId(msg: Fields): void {
  fields.integer(msg, 'id');
}

function checkError(msg: Fields): void {
  const e = fields.object(msg.error, 'error to be an object');
  if (typeof e.name !== 'string' || typeof e.message !== 'string') {
    fields.fail('error.name and error.message to be strings', e);
  }
}

/** Validates a message received by a pool thread; throws `ProtocolError` when it is not one. */
export function parseToThread(raw: unknown): ToThreadMessage {
  const msg = header(raw);
  const type = msg.type as ToThreadMessage['type'];
  switch (type) {
    case 'task':
      checkId(msg);
      return msg as unknown as TaskMessage;
    case 'end':
      return msg as unknown as EndMessage;
    default:
      return unknownType(type);
  }
}

/** Validates a message received by the pool; throws `ProtocolError` when it is not one. */
export function parseFromThread(raw: unknown): FromThreadMessage {
  const msg = header(raw);
  const type = msg.type as FromThreadMessage['type'];
  switch (type) {
    case 'result':
      checkId(msg);
      return msg as unknown as ResultMessage;
    case 'progress':
      checkId(msg);
      return msg as unknown as ProgressMessage;
    case 'error':
      checkId(msg);
      checkError(msg);
      return msg as unknown as ErrorMessage;
    case 'ready':
      return msg as unknown as ReadyMessage;
    case 'init-failed':
      checkError(msg);
      return msg as unknown as InitFailedMessage;
    default:
      return unknownType(type);
  }
}

/** The `never` parameter makes the switches above fail to compile if a message type is left out. */
function unknownType(type: never): never {
  return fields.fail('a known message type', type);
}

/** Reads the `workerData` of a pool thread; `undefined` when the thread was not started by a pool. */
export function readBoot(workerData: unknown): ThreadBoot | undefined {
  if (!isFields(workerData)) return undefined;
  const f = workerData.fanfold;
  if (!isFields(f)) return undefined;
  if (workerData.v !== THREAD_PROTOCOL_VERSION)
    fields.fail(`protocol version ${THREAD_PROTOCOL_VERSION} in workerData`, workerData.v);
  if (
    typeof f.name !== 'string' ||
    typeof f.index !== 'number' ||
    typeof f.port !== 'object' ||
    f.port === null
  ) {
    fields.fail('workerData.fanfold to hold name, index and port', f);
  }
  return workerData as unknown as ThreadBoot;
}
