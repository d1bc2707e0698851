/**
 * `Pipe()` and its `Connection` ends on the AWS context: one SQS FIFO queue per direction
 * (`<queuePrefix>c<id>-<k>.fifo`, see `channel.ts`) and the pipe's item with the end-closed flags
 * (`queue-state.ts`). Requests, end-of-file and the differences from CPython: docs/primitives.md,
 * section 3.7.
 */

import type { Connection as ConnectionApi } from '../../api/connection.js';
import type { PrimitiveModule } from '../../api/context.js';
import { backoff } from '../../backoff.js';
import { deadlineOf, expired, remaining } from '../../deadline.js';
import { ClosedError, InvalidArgumentError, ProtocolError } from '../../errors.js';
import { noteShareable, SHARE, type SyncHandle } from '../../handles.js';
import { refuseClassInstance } from '../../plain-data.js';
import { optionalTimeout, received } from '../../validate.js';
import { Channel, type Received, VISIBILITY_S } from './channel.js';
import type { AwsSyncEnv } from './env.js';
import { read, startHeartbeat, tombstone, update } from './queue-state.js';
import { newId } from './queues.js';

/** How long a message kept by `poll` stays usable: well inside the visibility timeout. */
const KEEP_MS = (VISIBILITY_S - 10) * 1000;
/** The body of the end-of-file marker (a real message body starts with `i` or `b`). */
const EOF = 'e';

/** The plain data of a connection's handle. */
interface ConnectionData {
  readonly id: string;
  /** The SQS names the handle carried (`names[k]` carries the messages to end `k`), checked on first use. */
  readonly names?: readonly [string, string];
  readonly end: 0 | 1;
  readonly duplex: boolean;
}

/** What the creator's two ends share: the heartbeat, stopped when both have closed. */
class Creator {
  #open = 2;
  readonly #stop: () => void;
  constructor(env: AwsSyncEnv, id: string) {
    this.#stop = startHeartbeat(env, id);
  }
  closed(): void {
    if (--this.#open === 0) this.#stop();
  }
}

/** The names after the prefix of the queues to end 0 and to end 1. */
function suffixes(id: string): [string, string] {
  return [`c${id}-0.fifo`, `c${id}-1.fifo`];
}

/** The full names of the pipe's queues, if the prefix can be read yet. */
function knownNames(env: AwsSyncEnv, id: string): [string, string] | undefined {
  try {
    const prefix = env.queuePrefix;
    const [a, b] = suffixes(id);
    return [`${prefix}${a}`, `${prefix}${b}`];
  } catch {
    return undefined;
  }
}

/** One end of a pipe. */
export class AwsConnection<T = unknown> implements ConnectionApi<T> {
  readonly kind = 'Connection' as const;
  readonly readable: boolean;
  readonly writable: boolean;
  readonly #env: AwsSyncEnv;
  readonly #data: ConnectionData;
  readonly #in: Channel;
  readonly #out: Channel;
  readonly #creator: Creator | undefined;
  #kept: (Received & { at: number }) | undefined;
  #eof = false;
  #closed = false;
  #shared = false;

  constructor(env: AwsSyncEnv, data: ConnectionData, creator: Creator | undefined) {
    this.#env = env;
    this.#data = data;
    this.#creator = creator;
    this.readable = data.duplex || data.end === 0;
    this.writable = data.duplex || data.end === 1;
    const what = `Pipe ${data.id}`;
    const mine = creator !== undefined;
    const [to0, to1] = suffixes(data.id);
    const [named0, named1] = data.names ?? [];
    const channel = (k: 0 | 1) =>
      new Channel(env, k === 0 ? to0 : to1, data.id, what, mine, k === 0 ? named0 : named1);
    this.#in = channel(data.end);
    this.#out = channel(data.duplex && data.end === 0 ? 1 : 0);
    // The creator makes its ends' queues at once; a failure is seen again by the first operation.
    if (mine && this.readable) this.#in.url().catch(() => {});
    noteShareable(this);
  }

  get closed(): boolean {
    return this.#closed;
  }

  [SHARE](): SyncHandle {
    this.#shared = true;
    const { id, end, duplex } = this.#data;
    // The SQS names go along once known, so that a party on another stack is told, not ignored.
    const names = this.#data.names ?? knownNames(this.#env, id);
    return {
      $fanfold: 'handle',
      ctx: 'aws',
      kind: 'Connection',
      data: names === undefined ? { id, end, duplex } : { id, names: [...names], end, duplex },
    };
  }

  #check(need: 'readable' | 'writable'): void {
    if (this.#closed) throw new ClosedError('The connection is closed');
    if (!this[need]) throw new ClosedError(`The connection is not ${need}`);
  }

  async send(message: T): Promise<void> {
    this.#check('writable');
    // An instance would reach the other end without its methods (plain-data.ts).
    refuseClassInstance(message, 'The message', undefined, 'the receiver');
    await this.#out.send(message);
  }

  async recv(): Promise<T> {
    this.#check('readable');
    for (;;) {
      if (!this.#take()) await this.#wait(Number.POSITIVE_INFINITY);
      const m = this.#take();
      if (m) {
        this.#kept = undefined;
        if (m.body === EOF) {
          await this.#in.ack(m);
          this.#eof = true;
        } else {
          const item = await this.#in.decode(m);
          await this.#in.ack(m);
          return item as T;
        }
      }
      if (this.#eof) throw new ClosedError('The other end of the pipe closed');
    }
  }

  async poll(timeoutMs: number = 0): Promise<boolean> {
    const t = optionalTimeout(timeoutMs, 'timeoutMs', true) ?? 0;
    this.#check('readable');
    if (this.#take() || this.#eof) return true;
    await this.#wait(t);
    return this.#take() !== undefined || this.#eof;
  }

  /** The kept message, unless it was kept too long (then it is let go and comes back). */
  #take(): Received | undefined {
    if (this.#kept && Date.now() - this.#kept.at > KEEP_MS) this.#kept = undefined;
    return this.#kept;
  }

  /** Waits up to `timeoutMs` for a message (kept) or for the peer's end-of-file. */
  async #wait(timeoutMs: number): Promise<void> {
    const deadline = deadlineOf(timeoutMs);
    for (let attempt = 0; ; attempt++) {
      const left = remaining(deadline);
      const m = await this.#in.receive(left);
      if (m) {
        this.#kept = { ...m, at: Date.now() };
        return;
      }
      // Nothing came: has the peer closed (and its marker gone to another copy of this end)?
      const item = await read(this.#env, this.#data.id);
      if (item?.closedAt || item?.[`closed${this.#peer()}`]) {
        this.#eof = true;
        return;
      }
      if (expired(deadline)) return;
      if (left < 1000 && !(await backoff(attempt, this.#env.pollMs, deadline))) return;
    }
  }

  #peer(): 0 | 1 {
    return this.#data.end === 0 ? 1 : 0;
  }

  /**
   * Closes this end (only this handle if it was passed to a task: see the module's doc). The
   * second end to close deletes the pipe's queues, blobs and counters.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#kept = undefined;
    this.#creator?.closed();
    if (this.#shared) return;
    const { item } = await update(
      this.#env,
      this.#data.id,
      { set: [`closed${this.#data.end} = :now`] },
      {
        ':now': { N: String(Date.now()) },
      },
    );
    if (item?.[`closed${this.#peer()}`] || item?.closedAt) {
      await tombstone(this.#env, this.#data.id);
      await Promise.all([this.#in.destroy(), this.#out.destroy()]);
      return;
    }
    if (this.writable) {
      // Best effort: a peer that misses it finds the flag set above.
      await this.#out.sendMarker(EOF).catch(() => {});
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Checks a connection handle's data; throws {@link ProtocolError} naming the bad field. */
function revive(handle: SyncHandle, env: AwsSyncEnv): AwsConnection {
  const { id, names, end, duplex } = handle.data as Partial<Record<keyof ConnectionData, unknown>>;
  const bad = (field: string, v: unknown) =>
    new ProtocolError(`A Connection handle has a bad data.${field}: ${received(v)}`);
  if (typeof id !== 'string' || !/^[0-9a-f]{32}$/.test(id)) throw bad('id', id);
  // The prefix part is checked against this stack's on first use (it may not be known yet).
  const shape = (n: unknown, suffix: string) =>
    typeof n === 'string' && n.endsWith(suffix) && /^[A-Za-z0-9_-]{0,40}$/.test(n.slice(0, -suffix.length));
  const [s0, s1] = suffixes(id);
  if (
    names !== undefined &&
    (!Array.isArray(names) || names.length !== 2 || !shape(names[0], s0) || !shape(names[1], s1))
  )
    throw bad('names', names);
  if (end !== 0 && end !== 1) throw bad('end', end);
  if (typeof duplex !== 'boolean') throw bad('duplex', duplex);
  const carried = names === undefined ? {} : { names: [names[0], names[1]] as [string, string] };
  return new AwsConnection(env, { id, end, duplex, ...carried }, undefined);
}

/** The pipe family of the AWS context. */
export const connection: PrimitiveModule<AwsSyncEnv> = {
  make: (env) => ({
    Pipe: <T>(duplex?: boolean): [ConnectionApi<T>, ConnectionApi<T>] => {
      if (duplex !== undefined && typeof duplex !== 'boolean')
        throw new InvalidArgumentError(`Expected duplex to be a boolean, got ${received(duplex)}`);
      const id = newId();
      const creator = new Creator(env, id);
      const d = duplex ?? true;
      return [
        new AwsConnection<T>(env, { id, end: 0, duplex: d }, creator),
        new AwsConnection<T>(env, { id, end: 1, duplex: d }, creator),
      ];
    },
  }),
  revive: { Connection: revive },
};
