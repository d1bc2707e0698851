/**
 * The writing side of a ring in this thread: messages go straight into the ring when it has room
 * and no earlier message of this thread is still waiting; otherwise they wait, in order, in a
 * per-thread list that one loop writes out as room appears (CPython's queue feeder thread). Every
 * handle of the same ring in this thread shares one feeder, so a producer's messages keep their
 * order however many handles it holds. A pending list keeps the thread alive until written, and
 * a pool thread asked to end writes out its feeders first (`threads/thread-exit.ts`), as CPython
 * joins its feeder thread at exit.
 */

import { beforeThreadExit } from '../../threads/thread-exit.js';
import { hold, release } from './futex.js';
import { type Ring, WRITER_CLOSED } from './ring.js';

interface Pending {
  readonly bytes: Uint8Array;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

/** One ring's messages waiting in this thread. */
export class Feeder {
  readonly #ring: Ring;
  /** Waiting messages from index `#i` on (taken by index: shift() would make a long backlog O(n²)). */
  readonly #pending: (Pending | undefined)[] = [];
  #i = 0;
  /** Whether this feeder holds the ring's write mutex (for the front message). */
  #locked = false;
  /** Bytes of the front message's frame already written. */
  #done = 0;
  #bytes = 0;
  #running = false;
  /** Run once the backlog is written (a pipe end's close, after the messages sent before it). */
  readonly #whenIdle: (() => void)[] = [];

  constructor(ring: Ring) {
    this.#ring = ring;
  }

  /** Bytes of this thread's messages not yet (wholly) in the ring. */
  get backlogBytes(): number {
    return this.#bytes;
  }

  /**
   * Writes `bytes` after every message this thread gave before; resolves once it is in the ring
   * (`undefined`: it is already). A put need not await it; a pipe's send may.
   */
  send(bytes: Uint8Array): Promise<void> | undefined {
    if (!this.#running && this.#ring.tryWrite(bytes)) return undefined;
    return new Promise<void>((resolve, reject) => {
      // A copy: `bytes` may be the codec's reused buffer.
      this.#pending.push({ bytes: new Uint8Array(bytes), resolve, reject });
      this.#bytes += bytes.length;
      if (!this.#running) {
        this.#running = true;
        void this.#drain();
      } else {
        // A producer that puts in a loop of resolved promises never lets the event loop run the
        // drain's wake-up; so each send also moves the backlog on as far as the ring has room.
        this.#pump();
      }
    });
  }

  /** Runs `fn` once every message given so far is in the ring (or refused): at once if none waits. */
  whenIdle(fn: () => void): void {
    if (this.#running) this.#whenIdle.push(fn);
    else fn();
  }

  /** Writes what fits now, without waiting; returns with the front message not (wholly) written. */
  #pump(): void {
    const ring = this.#ring;
    for (let front = this.#pending[this.#i]; front !== undefined; front = this.#pending[this.#i]) {
      if (!this.#locked) {
        if (!ring.tryLockWriter()) return;
        this.#locked = true;
        this.#done = 0;
      }
      let failed: { e: unknown } | undefined;
      try {
        this.#done = ring.writeSome(front.bytes, this.#done);
        if (this.#done < 4 + front.bytes.length) return;
      } catch (e) {
        failed = { e };
      }
      // The mutex is held from a message's first byte to its last, so messages never interleave.
      ring.unlockWriter();
      this.#locked = false;
      this.#pending[this.#i++] = undefined;
      this.#bytes -= front.bytes.length;
      if (this.#i >= 1024 && this.#i * 2 >= this.#pending.length) {
        this.#pending.splice(0, this.#i);
        this.#i = 0;
      }
      if (failed) front.reject(failed.e);
      else front.resolve();
    }
  }

  async #drain(): Promise<void> {
    hold();
    try {
      for (;;) {
        this.#pump();
        const front = this.#pending[this.#i];
        if (front === undefined) break;
        if (this.#locked) await this.#ring.waitSpace(4 + front.bytes.length - this.#done);
        else await this.#ring.waitWriterFree();
      }
      this.#pending.length = 0;
      this.#i = 0;
    } finally {
      this.#running = false;
      release();
      for (const fn of this.#whenIdle.splice(0)) fn();
    }
  }
}

const feeders = new Map<number, Feeder>();

/** Resolves once every feeder of this thread has written out what it was given. */
function flushAll(): Promise<void> {
  return Promise.all([...feeders.values()].map((f) => new Promise<void>((done) => f.whenIdle(done)))).then(
    () => undefined,
  );
}

/** This thread's feeder of `ring`. */
export function feederOf(ring: Ring): Feeder {
  let f = feeders.get(ring.at);
  if (f === undefined) {
    // A pool thread asked to end (a Process's surplus thread, a closed Pool) first writes out what
    // its tasks put: their puts have resolved and counted the items.
    if (feeders.size === 0) beforeThreadExit(flushAll);
    f = new Feeder(ring);
    feeders.set(ring.at, f);
  }
  return f;
}

/** Marks the sending side of `ring` closed (a pipe end's close). */
export function closeWriter(ring: Ring): void {
  ring.setFlags(WRITER_CLOSED);
}
