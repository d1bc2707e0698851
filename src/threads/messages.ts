/**
 * The wire protocol between a {@link ThreadPool} (main thread) and `serveThread()` (pool thread).
 * Every message carries `v: 1` and a `type`; each side validates what it receives with an
 * exhaustive `switch` and throws {@link ProtocolError} on anything else, so a version skew
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
import { ProtocolError, type SerializedError } from '../errors.js';

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

/** Pool thread → main thread: task `id` threw `error`. */
export interface ErrorMessage {
  readonly v: 1;
  readonly type: 'error';
  readonly id: number;
  readonly error: SerializedError;
}

/** Every message a pool thread sends to the main thread. */
export type FromThreadMessage = ReadyMessage | InitFailedMessage | ResultMessage | ErrorMessage;

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

function fail(what: string, got: unknown): never {
  let shown: string;
  if (got === null) shown = 'null';
  else if (typeof got === 'object') shown = Array.isArray(got) ? 'an array' : 'an object';
  else if (typeof got === 'string') shown = `${JSON.stringify(got.slice(0, 40))} (string)`;
  else shown = `${String(got)} (${typeof got})`;
  throw new ProtocolError(`Malformed thread message: expected ${what}, got ${shown}`);
}

type Obj = Record<string, unknown>;

function header(raw: unknown): Obj {
  if (typeof raw !== 'object' || raw === null) fail('a message object', raw);
  const msg = raw as Obj;
  if (msg.v !== THREAD_PROTOCOL_VERSION) fail(`protocol version ${THREAD_PROTOCOL_VERSION}`, msg.v);
  return msg;
}

function checkId(msg: Obj): void {
  const id = msg.id;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) fail('id to be an integer >= 0', id);
}

function checkError(msg: Obj): void {
  const e = msg.error as Obj | null | undefined;
  if (typeof e !== 'object' || e === null) fail('error to be an object', e);
  if (typeof e.name !== 'string' || typeof e.message !== 'string') {
    fail('error.name and error.message to be strings', e);
  }
}

/** Validates a message received by a pool thread; throws {@link ProtocolError} when it is not one. */
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

/** Validates a message received by the pool; throws {@link ProtocolError} when it is not one. */
export function parseFromThread(raw: unknown): FromThreadMessage {
  const msg = header(raw);
  const type = msg.type as FromThreadMessage['type'];
  switch (type) {
    case 'result':
      checkId(msg);
      return msg as unknown as ResultMessage;
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
  return fail('a known message type', type);
}

/** Reads the `workerData` of a pool thread; `undefined` when the thread was not started by a pool. */
export function readBoot(workerData: unknown): ThreadBoot | undefined {
  if (typeof workerData !== 'object' || workerData === null) return undefined;
  const boot = workerData as Obj;
  const f = boot.fanfold as Obj | null | undefined;
  if (typeof f !== 'object' || f === null) return undefined;
  if (boot.v !== THREAD_PROTOCOL_VERSION)
    fail(`protocol version ${THREAD_PROTOCOL_VERSION} in workerData`, boot.v);
  if (
    typeof f.name !== 'string' ||
    typeof f.index !== 'number' ||
    typeof f.port !== 'object' ||
    f.port === null
  ) {
    fail('workerData.fanfold to hold name, index and port', f);
  }
  return boot as unknown as ThreadBoot;
}
