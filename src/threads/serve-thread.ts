/**
 * The thread side of a {@link ThreadPool}: a thread script calls {@link serveThread} once with the
 * function that runs a task body. Several tasks may be in flight in one thread (the pool pipelines
 * them to hide the ~100 µs cross-thread round trip); when the handler is async they interleave and
 * each result is posted as soon as it settles.
 *
 * @example
 * ```ts
 * // square.thread.ts, bundled to an ESM file and passed to `new ThreadPool({ script })`
 * import { serveThread, withTransfer } from './serve-thread.js';
 * let table: Float64Array;
 * serveThread(
 *   (body) => {
 *     const out = new Float64Array(body as number[]).map((x) => x * x);
 *     return withTransfer(out, [out.buffer]); // moved, not copied
 *   },
 *   { init: (data) => { table = new Float64Array(data as number[]); } },
 * );
 * ```
 */
import { isMainThread, type MessagePort, type TransferListItem, workerData } from 'node:worker_threads';
import { InvalidArgumentError, NotSerializableError, serializeError } from '../errors.js';
import {
  type ErrorMessage,
  type InitFailedMessage,
  type ProgressMessage,
  parseToThread,
  type ReadyMessage,
  type ResultMessage,
  readBoot,
} from './messages.js';
import { runThreadExitHooks } from './thread-exit.js';

/**
 * Marks a handler result whose listed objects are transferred rather than cloned. A registered
 * symbol, so that two bundled copies of this module (the user's and fanfold's) still agree.
 */
export const TRANSFER: unique symbol = Symbol.for('fanfold.transfer');

/** A handler result with a transfer list; build it with {@link withTransfer}. */
export interface WithTransfer<T = unknown> {
  readonly [TRANSFER]: readonly TransferListItem[];
  readonly value: T;
}

/**
 * Wraps a handler result so that `transfer` (typically the `.buffer` of typed arrays in `value`) is
 * moved to the main thread instead of copied. The buffers are detached in this thread afterwards.
 */
export function withTransfer<T>(value: T, transfer: readonly TransferListItem[]): WithTransfer<T> {
  return { [TRANSFER]: transfer, value };
}

/**
 * Runs one task body; may return a value, a promise, or a {@link withTransfer} wrapper of either.
 * `report` sends part of the result ahead while the task goes on (the pool hands it to the run's
 * `onProgress`, before the result); a {@link withTransfer} wrapper moves its buffers.
 */
export type ThreadHandler = (body: unknown, report: (part: unknown) => void) => unknown;

/** Options of {@link serveThread}. */
export interface ServeThreadOptions {
  /**
   * Runs once, before the thread reports ready, with the pool's `data` option (CPython's
   * `initializer`). If it throws or rejects, the pool's `ready()` rejects with the error.
   * @default undefined (nothing to do)
   */
  readonly init?: (data: unknown) => void | Promise<void>;
}

// Per-thread, not process-wide: each worker thread has its own module instance.
let serving = false;

/**
 * Serves the tasks a {@link ThreadPool} sends to this thread. Call it once, at the top level of the
 * pool's thread script. Throws {@link InvalidArgumentError} outside a pool thread or on a second call.
 */
export function serveThread(handler: ThreadHandler, options: ServeThreadOptions = {}): void {
  const boot = isMainThread ? undefined : readBoot(workerData);
  if (boot === undefined) {
    throw new InvalidArgumentError('serveThread() must be called in a thread started by a ThreadPool');
  }
  if (typeof handler !== 'function') {
    throw new InvalidArgumentError(`Expected handler to be a function, got ${typeof handler}`);
  }
  if (serving) throw new InvalidArgumentError('serveThread() was already called in this thread');
  serving = true;
  void start(boot.fanfold.port, handler, options.init, boot.data);
}

/** The name and index of the current pool thread, or `undefined` outside a pool thread. */
export function threadInfo(): { name: string; index: number } | undefined {
  if (isMainThread) return undefined;
  const boot = readBoot(workerData);
  return boot === undefined ? undefined : { name: boot.fanfold.name, index: boot.fanfold.index };
}

async function start(
  port: MessagePort,
  handler: ThreadHandler,
  init: ServeThreadOptions['init'],
  data: unknown,
): Promise<void> {
  if (init !== undefined) {
    try {
      await init(data);
    } catch (e) {
      const failed: InitFailedMessage = { v: 1, type: 'init-failed', error: serializeError(e) };
      port.postMessage(failed);
      // Stay alive (a listening port is ref'd) until the pool terminates this thread: exiting now
      // could let the pool see 'exit' before this message and report a bare crash without the cause.
      port.on('message', ignore);
      return;
    }
  }
  // Messages sent before this listener exists wait in the port, so no task can overtake `init`.
  port.on('message', (raw: unknown) => {
    // A malformed message throws here, uncaught: the thread dies and the pool reports a crash.
    const msg = parseToThread(raw);
    switch (msg.type) {
      case 'task':
        runTask(port, handler, msg.id, msg.body);
        break;
      case 'end': {
        // The pool sends `end` only when nothing is in flight here. Like CPython's worker, which
        // leaves with os._exit, do not wait for timers or handles the task code left behind; but
        // first finish what must outlive a task (items still in a queue's feeder), as a CPython
        // child joins its feeder threads before it exits (thread-exit.ts).
        port.close();
        const finishing = runThreadExitHooks();
        if (finishing === undefined) process.exit(0);
        void finishing.then(() => process.exit(0));
        break;
      }
    }
  });
  const ready: ReadyMessage = { v: 1, type: 'ready' };
  port.postMessage(ready);
}

function ignore(): void {}

function runTask(port: MessagePort, handler: ThreadHandler, id: number, body: unknown): void {
  let out: unknown;
  try {
    out = handler(body, (part) => postProgress(port, id, part));
  } catch (e) {
    afterOutput(() => postError(port, id, e));
    return;
  }
  if (typeof out === 'object' && out !== null && typeof (out as PromiseLike<unknown>).then === 'function') {
    (out as PromiseLike<unknown>).then(
      (value) => afterOutput(() => postResult(port, id, value)),
      (e: unknown) => afterOutput(() => postError(port, id, e)),
    );
  } else {
    afterOutput(() => postResult(port, id, out));
  }
}

/**
 * Runs `post` once what this thread wrote to stdout and stderr has reached the parent thread; at
 * once when nothing is on its way. Node forwards a thread's stdio to the parent over a channel of
 * its own, apart from the port results go by, so a task's last lines could reach the terminal
 * after its caller saw the result (a Process's output after its join(); CPython flushes a child's
 * output before it exits). A write's callback runs when the parent has taken the chunk, and writes
 * complete in order: an empty write's callback comes after everything written before it.
 */
function afterOutput(post: () => void): void {
  const pending = [process.stdout, process.stderr].filter((s) => s.writableLength > 0);
  if (pending.length === 0) {
    post();
    return;
  }
  void Promise.all(pending.map((s) => new Promise<void>((resolve) => s.write('', () => resolve())))).then(
    post,
  );
}

function postResult(port: MessagePort, id: number, out: unknown): void {
  try {
    postValue(port, 'result', id, out);
  } catch (e) {
    // DataCloneError: a function, a symbol, a detached buffer… in the result.
    postError(port, id, new NotSerializableError('The task result', undefined, e));
  }
}

function postProgress(port: MessagePort, id: number, part: unknown): void {
  postValue(port, 'progress', id, part);
}

/** Posts a result or a part of one, moving the buffers a {@link WithTransfer} names instead of copying them. */
function postValue(port: MessagePort, type: 'result' | 'progress', id: number, out: unknown): void {
  if (typeof out === 'object' && out !== null && TRANSFER in out) {
    const wrapped = out as WithTransfer;
    const msg: ResultMessage | ProgressMessage = { v: 1, type, id, value: wrapped.value };
    port.postMessage(msg, wrapped[TRANSFER]);
  } else {
    const msg: ResultMessage | ProgressMessage = { v: 1, type, id, value: out };
    port.postMessage(msg);
  }
}

function postError(port: MessagePort, id: number, e: unknown): void {
  const msg: ErrorMessage = { v: 1, type: 'error', id, error: serializeError(e) };
  port.postMessage(msg);
}
