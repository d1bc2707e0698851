/**
 * `Pipe()` and its `Connection` ends (CPython `multiprocessing.connection`). A duplex pipe carries
 * messages both ways; a one-way pipe gives a receive-only end and a send-only end, in that order,
 * as CPython does.
 */
import type { Shareable } from '../handles.js';

/** One end of a pipe. */
export interface Connection<T = unknown> extends Shareable {
  /** Tells the primitives apart at run time. */
  readonly kind: 'Connection';
  /** Whether this end can `recv` (false for the sending end of a one-way pipe). */
  readonly readable: boolean;
  /** Whether this end can `send` (false for the receiving end of a one-way pipe). */
  readonly writable: boolean;
  /** Whether this end was closed. */
  readonly closed: boolean;
  /** Sends one message (any structured-clone value, any size). Throws {@link ClosedError} if closed or not writable. */
  send(message: T): Promise<void>;
  /** Resolves the next message; throws {@link ClosedError} if the other end closed and nothing is left. */
  recv(): Promise<T>;
  /** Resolves whether a message is ready, waiting up to `timeoutMs` (0 = just check; Infinity = until one is). @default 0 */
  poll(timeoutMs?: number): Promise<boolean>;
  /**
   * Closes this end; the other end's `recv` throws {@link ClosedError} once the messages sent before
   * are read. A handle that was passed to a task or a Process closes only this copy (as each CPython
   * process holds its own copy): the end closes when the task's copy closes.
   */
  close(): Promise<void>;
  /** `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}
