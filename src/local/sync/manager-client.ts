/**
 * The proxies' side of the local manager's channel: one client per thread and manager, shared by
 * every proxy of that manager in the thread. It posts requests and matches responses by request id
 * and recipient. The channel is unref'd while nothing waits on it, so idle proxies never keep a
 * thread alive, and ref'd while a request is pending.
 *
 * A request whose server is gone (its thread ended without `shutdown()`) would never be answered;
 * it fails with `ClosedError` after a bounded wait of {@link DEFAULT_REPLY_MS} ms (or
 * `FANFOLD_MANAGER_REPLY_MS`), long enough for a server thread that is merely busy.
 */
import { randomUUID } from 'node:crypto';
import { BroadcastChannel } from 'node:worker_threads';
import {
  ClosedError,
  ErrorCodes,
  InvalidArgumentError,
  NotSerializableError,
  ProtocolError,
} from '../../errors.js';
import {
  isClosed,
  type ManagerMessage,
  type ManagerRequest,
  type ManagerRequests,
} from './manager-server.js';

/** How long a request waits for its answer before the server is taken for gone. */
export const DEFAULT_REPLY_MS = 30_000;

function replyMs(): number {
  const raw = process.env.FANFOLD_MANAGER_REPLY_MS;
  if (raw === undefined || raw === '') return DEFAULT_REPLY_MS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    throw new InvalidArgumentError(
      `Expected FANFOLD_MANAGER_REPLY_MS to be an integer >= 1, got ${JSON.stringify(raw)}`,
    );
  }
  return n;
}

/** The requests posted in one message, and the timer that bounds their wait. */
interface Batch {
  left: number;
  readonly timer: NodeJS.Timeout;
}

interface Pending {
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: Error) => void;
  readonly what: string;
  /** The bounded wait, read when the call was made (so a bad setting rejects that call). */
  readonly ms: number;
  batch?: Batch;
}

/** Rebuilds an error the server sent (by code) into its class. */
function revived(code: string, message: string): Error {
  switch (code) {
    case ErrorCodes.INVALID_ARGUMENT:
      return new InvalidArgumentError(message);
    case ErrorCodes.CLOSED:
      return new ClosedError(message);
    case ErrorCodes.PROTOCOL:
      return new ProtocolError(message);
    default:
      return new ProtocolError(`The manager failed: ${message}`);
  }
}

/** One thread's connection to one manager's server. */
export class ManagerClient {
  readonly #id = randomUUID();
  readonly #name: string;
  readonly #stateAt: number;
  readonly #channel: BroadcastChannel;
  readonly #pending = new Map<number, Pending>();
  #outbox: ManagerRequest[] = [];
  #nextId = 0;
  #closed = false;

  constructor(channelName: string, stateAt: number) {
    this.#name = channelName;
    this.#stateAt = stateAt;
    this.#channel = new BroadcastChannel(channelName);
    this.#channel.onmessage = (e) => this.#receive((e as MessageEvent).data as ManagerMessage);
    this.#channel.unref();
  }

  /**
   * Queues one operation, to be posted with the others this thread issues in the same turn, and
   * resolves its result; rejects with `ClosedError` once the manager is shut down.
   */
  call(kind: ManagerRequest['kind'], object: number, op: string, args: readonly unknown[]): Promise<unknown> {
    if (this.#closed || isClosed(this.#stateAt)) {
      return Promise.reject(new ClosedError('The manager has been shut down'));
    }
    let ms: number;
    try {
      ms = replyMs();
    } catch (e) {
      return Promise.reject(e);
    }
    // Copied now, as CPython pickles at the call: a value changed after the call (before the
    // batch is posted) must not change what is stored; and an uncloneable value fails here alone.
    let copy: readonly unknown[];
    try {
      copy = args.length === 0 ? args : structuredClone(args);
    } catch (e) {
      return Promise.reject(new NotSerializableError(`A value passed to ${kind}.${op}()`, undefined, e));
    }
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      if (this.#pending.size === 0) this.#channel.ref();
      this.#pending.set(id, { resolve, reject, what: `${kind}.${op}()`, ms });
      this.#outbox.push({ id, kind, object, op, args: copy });
      if (this.#outbox.length === 1) queueMicrotask(() => this.#flush());
    });
  }

  /** Posts the queued requests in one message; a value that cannot be cloned fails its own request only. */
  #flush(): void {
    const reqs = this.#outbox;
    this.#outbox = [];
    if (this.#closed) return; // the manager's 'closed' already rejected them
    if (this.#post(reqs) === undefined) return;
    for (const r of reqs) {
      const error = this.#post([r]);
      if (error !== undefined) {
        // Nothing was sent for it: the proxy stays usable.
        const p = this.#settle(r.id);
        p?.reject(new NotSerializableError(`A value passed to ${p.what}`, undefined, error));
      }
    }
  }

  /** Posts `reqs` and starts their wait; resolves the clone error when the message could not be posted. */
  #post(reqs: ManagerRequest[]): unknown {
    try {
      this.#channel.postMessage({ t: 'reqs', from: this.#id, reqs } satisfies ManagerRequests);
    } catch (e) {
      return e ?? new Error('postMessage failed');
    }
    const ms = Math.max(...reqs.map((r) => this.#pending.get(r.id)?.ms ?? DEFAULT_REPLY_MS));
    const batch: Batch = {
      left: reqs.length,
      timer: setTimeout(() => {
        for (const r of reqs) {
          const p = this.#settle(r.id);
          p?.reject(
            new ClosedError(`The manager did not answer ${p.what} within ${ms} ms: its thread has ended`),
          );
        }
      }, ms),
    };
    for (const r of reqs) {
      const p = this.#pending.get(r.id);
      if (p) p.batch = batch;
    }
    return undefined;
  }

  #settle(id: number): Pending | undefined {
    const p = this.#pending.get(id);
    if (!p) return undefined;
    this.#pending.delete(id);
    if (p.batch && --p.batch.left === 0) clearTimeout(p.batch.timer);
    if (this.#pending.size === 0) this.#channel.unref();
    return p;
  }

  #receive(m: ManagerMessage): void {
    if (m.t === 'closed') {
      this.#closed = true;
      for (const id of [...this.#pending.keys()])
        this.#settle(id)?.reject(new ClosedError('The manager has been shut down'));
      this.#channel.close();
      if (byChannel.get(this.#name) === this) byChannel.delete(this.#name);
      return;
    }
    if (m.t !== 'ress' || m.to !== this.#id) return; // requests, and other threads' answers
    for (const r of m.ress) {
      const p = this.#settle(r.id);
      if (!p) continue;
      if (r.ok) p.resolve(r.value);
      else p.reject(revived(r.error.code, r.error.message));
    }
  }
}

/** This thread's clients, by channel name. */
const byChannel = new Map<string, ManagerClient>();

/** This thread's client of the manager on `channelName` (made on first use). */
export function clientOf(channelName: string, stateAt: number): ManagerClient {
  let c = byChannel.get(channelName);
  if (!c) {
    c = new ManagerClient(channelName, stateAt);
    byChannel.set(channelName, c);
  }
  return c;
}
