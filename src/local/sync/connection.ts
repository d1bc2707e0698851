/**
 * The local `Pipe()` and its `Connection` ends (see src/api/connection.ts): one ring buffer in the
 * shared arena per direction (see ring.ts), so a duplex pipe is two rings and a one-way pipe one.
 * Messages are serialised as queue items are (ring-codec.ts: a compact format for the common shapes,
 * `v8.serialize` for the rest); `send` resolves once the message is in the ring or
 * queued in this thread's feeder behind less than {@link SEND_BACKLOG_BYTES} (past that it waits for
 * room, as a CPython send blocks on a full OS pipe); messages larger than the ring stream through.
 *
 * Closing an end is shared state: it sets the "writer closed" flag of the ring it sends on (once
 * this thread's messages sent before are in the ring) and the "reader closed" flag of the ring it
 * receives on, and wakes every sleeper. The other end, in any
 * thread, then reads what was sent before and gets {@link ClosedError} (CPython `EOFError`) after;
 * its sends throw {@link ClosedError} (CPython `BrokenPipeError`).
 *
 * A handle that was given away (its handle taken by `[SHARE]()`: passed to a task or a Process)
 * closes only this copy, as in CPython each process holds its own copy of the end: the parent may
 * close its copy of the child's end after starting the child, and the copy in the task closes the
 * end (the parent then sees EOF). A task that never closes its copy leaves the end open. Every
 * other handle (the original before it was shared, those revived in other threads) closes the end.
 * The AWS context's connections close the same way.
 */
import type { Connection } from '../../api/connection.js';
import type { PrimitiveModule } from '../../api/context.js';
import { deadlineOf, FOREVER } from '../../deadline.js';
import { ClosedError, InvalidArgumentError } from '../../errors.js';
import { noteShareable, SHARE, type SyncHandle } from '../../handles.js';
import { optionalTimeout, received } from '../../validate.js';
import { READER_CLOSED, RING_BYTES, Ring, TIMED_OUT, WRITER_CLOSED } from './ring.js';
import { decode, encode } from './ring-codec.js';
import { type Feeder, feederOf } from './ring-feeder.js';

/** The ring tag of pipes (a queue's handle cannot revive a pipe end, nor the reverse). */
const PIPE_TAG = 4;

/**
 * Bytes of messages a thread may have waiting for room in a pipe before `send` waits for its own
 * message to be written (the pipe's back-pressure, as a CPython send blocks on a full OS pipe).
 */
export const SEND_BACKLOG_BYTES = 16 * RING_BYTES;

/**
 * One end of a pipe.
 * @example
 * ```ts
 * const [a, b] = ctx.Pipe<string>();
 * await a.send('hello');
 * console.log(await b.recv()); // 'hello'
 * ```
 */
export class LocalConnection<T = unknown> implements Connection<T> {
  readonly kind = 'Connection';
  readonly #recv: Ring | undefined;
  readonly #send: Ring | undefined;
  readonly #feeder: Feeder | undefined;
  #closing = false;
  /** Whether this handle was given away: then `close()` closes only this copy (see the file's doc). */
  #shared = false;

  /** @internal Use `ctx.Pipe()`. */
  constructor(recv: Ring | undefined, send: Ring | undefined) {
    noteShareable(this);
    this.#recv = recv;
    this.#send = send;
    this.#feeder = send && feederOf(send);
  }

  get readable(): boolean {
    return this.#recv !== undefined;
  }

  get writable(): boolean {
    return this.#send !== undefined;
  }

  /** Whether this copy was closed, or the end (through any of its handles in any thread). */
  get closed(): boolean {
    if (this.#closing) return true;
    return this.#send
      ? (this.#send.flags() & WRITER_CLOSED) !== 0
      : ((this.#recv?.flags() ?? 0) & READER_CLOSED) !== 0;
  }

  async send(message: T): Promise<void> {
    this.#checkOpen();
    const ring = this.#send;
    if (ring === undefined || this.#feeder === undefined)
      throw new ClosedError('This end of the pipe is read-only');
    const bytes = encode(message, 'Pipe message');
    if (ring.flags() & READER_CLOSED) throw new ClosedError('The other end of the pipe is closed');
    // Resolve at once while this thread's backlog is small (so a thread may send a message larger
    // than the ring and then receive it itself); past that, wait for this message to be written.
    const before = this.#feeder.backlogBytes;
    const written = this.#feeder.send(bytes);
    if (written === undefined) return;
    if (before >= SEND_BACKLOG_BYTES) await written;
    else written.catch(() => {}); // the reader closed meanwhile: as with CPython, the message is lost
  }

  async recv(): Promise<T> {
    const ring = this.#readRing();
    let m = ring.tryRead(decode);
    if (m === TIMED_OUT) m = await ring.read(decode, FOREVER);
    if (m === TIMED_OUT) throw new ClosedError('The pipe gave no message'); // unreachable: no deadline
    return m as T;
  }

  /** Whether `recv()` would not wait: a message is there, or the other end closed (CPython, too, says true at EOF). */
  async poll(timeoutMs: number = 0): Promise<boolean> {
    const t = optionalTimeout(timeoutMs, 'timeoutMs', true) ?? 0;
    const ring = this.#readRing();
    return ring.waitReadable(deadlineOf(t));
  }

  async close(): Promise<void> {
    this.#closing = true;
    // A copy given away to a task closes only itself: the task's copy still uses the end.
    if (this.#shared) return;
    this.#recv?.setFlags(READER_CLOSED);
    // The other end sees EOF only after the messages this thread sent before closing (some may
    // still wait in its feeder for room): CPython's close, too, keeps what send() handed over.
    const send = this.#send;
    if (send) this.#feeder?.whenIdle(() => send.setFlags(WRITER_CLOSED));
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  [SHARE](): SyncHandle {
    this.#shared = true;
    return {
      $fanfold: 'handle',
      ctx: 'local',
      kind: 'Connection',
      data: { recv: this.#recv?.at ?? null, send: this.#send?.at ?? null },
    };
  }

  #checkOpen(): void {
    if (this.closed) throw new ClosedError('This end of the pipe is closed');
  }

  #readRing(): Ring {
    this.#checkOpen();
    if (this.#recv === undefined) throw new ClosedError('This end of the pipe is write-only');
    return this.#recv;
  }
}

/** `Pipe(duplex)`: `[a, b]` connected both ways, or `[receiveOnly, sendOnly]` (CPython's order). */
export function pipe<T>(duplex: unknown = true): [LocalConnection<T>, LocalConnection<T>] {
  if (typeof duplex !== 'boolean') {
    throw new InvalidArgumentError(`Expected duplex to be a boolean, got ${received(duplex)}`);
  }
  const ab = Ring.create(PIPE_TAG);
  if (!duplex) return [new LocalConnection<T>(ab, undefined), new LocalConnection<T>(undefined, ab)];
  const ba = Ring.create(PIPE_TAG);
  return [new LocalConnection<T>(ba, ab), new LocalConnection<T>(ab, ba)];
}

function reviveRing(v: unknown, field: string): Ring | undefined {
  if (v === null) return undefined;
  if (typeof v !== 'number') {
    throw new InvalidArgumentError(
      `Malformed Connection handle: expected data.${field} to be an offset or null, got ${received(v)}`,
    );
  }
  return Ring.revive(v, PIPE_TAG, 'Connection');
}

function revive(h: SyncHandle): LocalConnection {
  const data = h.data as Record<string, unknown> | null;
  if (typeof data !== 'object' || data === null) {
    throw new InvalidArgumentError(
      `Malformed Connection handle: expected data to be an object, got ${received(data)}`,
    );
  }
  const recv = reviveRing(data.recv, 'recv');
  const send = reviveRing(data.send, 'send');
  if (recv === undefined && send === undefined) {
    throw new InvalidArgumentError('Malformed Connection handle: it neither receives nor sends');
  }
  return new LocalConnection(recv, send);
}

/** The local pipes as a primitive module. */
export const connection: PrimitiveModule<void> = {
  make: () => ({ Pipe: <T>(duplex?: boolean) => pipe<T>(duplex) }),
  revive: { Connection: revive },
};
