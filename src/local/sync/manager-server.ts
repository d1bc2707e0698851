/**
 * The local manager's server: as CPython's manager is a process that its proxies call, this one
 * lives in the thread that called `Manager()` and its proxies, in any thread of the process, reach
 * it through a `BroadcastChannel` named `fanfold-manager-<uuid>`. The server handles one request at
 * a time on its thread's event loop, so every single proxy operation is atomic.
 *
 * Every channel of that name receives every message, so requests name their sender and responses
 * name their recipient; each side ignores what is not for it.
 */
import { randomUUID } from 'node:crypto';
import { BroadcastChannel } from 'node:worker_threads';
import { ClosedError, ErrorCodes, ProtocolError } from '../../errors.js';
import { arena } from './arena.js';
import { apply, type ManagedObject } from './manager-ops.js';

/** A proxy operation. */
export interface ManagerRequest {
  /** Unique among the client's requests. */
  readonly id: number;
  readonly kind: ManagedObject['kind'];
  readonly object: number;
  readonly op: string;
  readonly args: readonly unknown[];
}

/**
 * The operations a client posts at once (those its thread issued in one turn of its event loop):
 * one message instead of many, which is what makes many operations in flight cheap. The server
 * applies them in order, each on its own.
 */
export interface ManagerRequests {
  readonly t: 'reqs';
  /** The client's id (one per thread and manager). */
  readonly from: string;
  readonly reqs: readonly ManagerRequest[];
}

/** The server's answer to one request. */
export type ManagerResult =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | {
      readonly id: number;
      readonly ok: false;
      readonly error: { readonly code: string; readonly message: string };
    };

/** The answers to one {@link ManagerRequests}, in its order. */
export interface ManagerResponses {
  readonly t: 'ress';
  readonly to: string;
  readonly ress: readonly ManagerResult[];
}

/** Posted once by a server that shuts down: every waiting request fails with `ClosedError`. */
export interface ManagerClosed {
  readonly t: 'closed';
}

/** Any message on a manager's channel. */
export type ManagerMessage = ManagerRequests | ManagerResponses | ManagerClosed;

/** Bytes of a manager's state word in the arena: 0 while it serves, 1 once shut down. */
export const STATE_BYTES = 8;

/** The channel name of a manager. */
export const CHANNEL_PATTERN =
  /^fanfold-manager-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Whether the manager whose state word is at `at` has shut down (readable from any thread). */
export function isClosed(at: number): boolean {
  return Atomics.load(arena().i32(at, 1), 0) !== 0;
}

function isRequests(m: unknown): m is ManagerRequests {
  const r = m as Partial<ManagerRequests> | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    r.t === 'reqs' &&
    typeof r.from === 'string' &&
    Array.isArray(r.reqs)
  );
}

function isRequest(m: unknown): m is ManagerRequest {
  const r = m as Partial<ManagerRequest> | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.id === 'number' &&
    typeof r.object === 'number' &&
    typeof r.op === 'string' &&
    Array.isArray(r.args)
  );
}

/** The server of one manager; lives as long as its manager (until `close()` or its thread ends). */
export class ManagerServer {
  readonly channelName = `fanfold-manager-${randomUUID()}`;
  /** Byte offset of the state word in the arena. */
  readonly stateAt = arena().alloc(STATE_BYTES);
  readonly #channel: BroadcastChannel;
  readonly #objects = new Map<number, ManagedObject>();
  #nextId = 0;

  constructor() {
    this.#channel = new BroadcastChannel(this.channelName);
    this.#channel.onmessage = (e) => this.#serve((e as MessageEvent).data);
    // The server never keeps its thread alive: a thread with nothing else to do may end, and its
    // proxies' requests then fail after their bounded wait.
    this.#channel.unref();
  }

  get closed(): boolean {
    return isClosed(this.stateAt);
  }

  /** Adds an object (its initial state already copied) and returns its id. */
  add(object: ManagedObject): number {
    if (this.closed) throw new ClosedError('The manager has been shut down');
    const id = this.#nextId++;
    this.#objects.set(id, object);
    return id;
  }

  /** Stops serving: flags the state word first (so no new request is sent), then tells waiting clients. */
  close(): void {
    if (Atomics.exchange(arena().i32(this.stateAt, 1), 0, 1) !== 0) return;
    this.#objects.clear();
    this.#channel.postMessage({ t: 'closed' } satisfies ManagerClosed);
    this.#channel.close();
  }

  #serve(m: unknown): void {
    if (!isRequests(m)) return; // answers and other clients' traffic
    const ress = m.reqs.filter(isRequest).map((r) => this.#apply(r));
    if (!this.closed) this.#channel.postMessage({ t: 'ress', to: m.from, ress } satisfies ManagerResponses);
  }

  #apply(r: ManagerRequest): ManagerResult {
    try {
      const object = this.#objects.get(r.object);
      if (!object || object.kind !== r.kind) {
        throw new ProtocolError(`The manager has no ${r.kind} with id ${r.object}`);
      }
      return { id: r.id, ok: true, value: apply(object, r.op, r.args) };
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      return {
        id: r.id,
        ok: false,
        error: {
          code: typeof code === 'string' ? code : ErrorCodes.PROTOCOL,
          message: String((e as Error).message),
        },
      };
    }
  }
}
